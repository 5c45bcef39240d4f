import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rotateAuditLog } from '../../src/audit/index.ts';
import { AuditLog, trustedRootFile } from '../../src/index.ts';
import { type LogMonitorOptions, type LogMonitorReport, runLogMonitor } from '../../src/monitor/index.ts';
import { createCertificateAuthority, generateKeyPair } from '../helpers/sigstore/index.ts';
import { FakeRekorV1, FakeRekorV2, type Fixture, ISSUER, V1_URL, V2_URL, WATCHED, createFixture, fakeFetch, mth, leaf, signArtifact, signWithKey, v1Body, v2Body } from './fake-logs.ts';

/**
 * The monitor against logs that lie (test/monitor/fake-logs.ts): every lie
 * is a named test asserting the code and the outcome; the real logs are in
 * peers/monitor.ts.
 */
let fx: Fixture;
let v1: FakeRekorV1;
let v2: FakeRekorV2;
let state: string;
let approved: string;
let n = 0;
const approvedDigests: string[] = [];

beforeAll(async () => {
  fx = await createFixture();
});
afterAll(async () => {
  await rm(fx.dir, { recursive: true, force: true });
});
beforeEach(() => {
  v1 = new FakeRekorV1(fx);
  v2 = new FakeRekorV2(fx);
  n += 1;
  state = join(fx.dir, `state-${n}`);
  approved = join(fx.dir, `approved-${n}.txt`);
  approvedDigests.length = 0;
});

/** An approved signature by the watched signer in both logs, and an entry of someone else. */
function seed(): void {
  for (let i = 0; i < 3; i++) {
    const s = signArtifact(fx);
    approvedDigests.push(s.digest);
    v1.add(v1Body(s));
    v2.add(v2Body(s));
    const other = signArtifact(fx, 'someone-else@sigverify.test');
    v1.add(v1Body(other));
    v2.add(v2Body(other));
  }
}

async function monitor(override?: Parameters<typeof fakeFetch>[2], options: Partial<LogMonitorOptions> = {}): Promise<LogMonitorReport> {
  await writeFile(approved, approvedDigests.join('\n'), { mode: 0o600 });
  return runLogMonitor({
    logs: [{ url: V1_URL, version: 1 }, { url: V2_URL, version: 2 }],
    watch: [{ identity: WATCHED, issuer: ISSUER }],
    trust: trustedRootFile(fx.trustedRootPath),
    stateDirectory: state,
    approvals: { approvedList: approved },
    fetch: fakeFetch([{ base: V1_URL, handle: v1.handle }, { base: V2_URL, handle: v2.handle }], undefined, override),
    sleep: async () => {},
    ...options,
  });
}
const logOf = (r: LogMonitorReport, version: 1 | 2) => r.logs.find((l) => l.version === version);

describe('sigverify log audit: honest logs', () => {
  it('approved entries only: clean, both logs read from the start', async () => {
    seed();
    const r = await monitor();
    expect(r.outcome).toBe('clean');
    expect(r.expectedCount).toBe(6);
    expect(logOf(r, 1)).toMatchObject({ consistency: 'first-run', consistent: true, entriesScanned: 3, checkpoint: { treeSize: 6 } });
    expect(logOf(r, 2)).toMatchObject({ consistency: 'first-run', consistent: true, entriesScanned: 6, checkpoint: { treeSize: 6 } });
  });

  it('a watched signer signing an unapproved digest is unexpected on each log, with what the incident procedure needs', async () => {
    seed();
    const stray = signArtifact(fx);
    const i1 = v1.add(v1Body(stray), 1_780_272_123);
    const i2 = v2.add(v2Body(stray));
    const r = await monitor();
    expect(r.outcome).toBe('unexpected');
    expect(r.unexpected).toEqual([
      expect.objectContaining({ logUrl: V1_URL, logIndex: i1, uuid: v1.uuid(i1), integratedTime: new Date(1_780_272_123_000).toISOString(), identity: WATCHED, issuer: ISSUER, digest: stray.digest, kind: 'hashedrekord/0.0.1', certificateSerial: expect.stringMatching(/^[0-9a-f]+$/) as unknown }),
      expect.objectContaining({ logUrl: V2_URL, logIndex: i2, integratedTime: null, digest: stray.digest, kind: 'hashedrekord/0.0.2' }),
    ]);
  });

  it('the second run reads only what is new, after proving each log consistent with the first', async () => {
    seed();
    expect((await monitor()).outcome).toBe('clean');
    const stray = signArtifact(fx);
    v1.add(v1Body(stray), 1_780_272_300);
    v2.add(v2Body(stray));
    const r = await monitor();
    expect(r.outcome).toBe('unexpected');
    expect(r.unexpected.map((e) => e.logIndex)).toEqual([6, 6]);
    expect(logOf(r, 1)).toMatchObject({ consistency: 'verified', previous: { treeSize: 6 } });
    expect(logOf(r, 2)).toMatchObject({ consistency: 'verified', entriesScanned: 1 });
  });

  it('a watched key: its entries on both logs, approved by digest or unexpected, by the key\'s sha256', async () => {
    seed();
    const key = generateKeyPair('P-256');
    const approvedSignature = signWithKey(key);
    approvedDigests.push(approvedSignature.digest);
    const stray = signWithKey(key);
    const unwatched = signWithKey(generateKeyPair('P-256'));
    for (const s of [approvedSignature, stray, unwatched]) {
      v1.add(v1Body(s));
      v2.add(v2Body(s));
    }
    const r = await monitor(undefined, { watchKeys: [stray.keyPem] });
    expect(r.outcome).toBe('unexpected');
    expect(r.watchKeys).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as unknown]);
    expect(r.unexpected).toEqual([
      expect.objectContaining({ logUrl: V1_URL, logIndex: 7, digest: stray.digest, publicKeySha256: r.watchKeys[0], identity: r.watchKeys[0], issuer: '' }),
      expect.objectContaining({ logUrl: V2_URL, logIndex: 7, digest: stray.digest, publicKeySha256: r.watchKeys[0] }),
    ]);
    expect(r.expected.filter((e) => e.publicKeySha256 !== undefined).map((e) => e.logIndex)).toEqual([6, 6]);
  });

  it('a certificate from another CA naming the watched signer is not theirs: listed as untrusted, not unexpected', async () => {
    seed();
    const forged = signArtifact(fx, WATCHED, createCertificateAuthority({ organization: 'evil', commonName: 'evil' }));
    v2.add(v2Body(forged));
    const r = await monitor();
    expect(r.outcome).toBe('clean');
    expect(r.untrusted).toEqual([expect.objectContaining({ logUrl: V2_URL, logIndex: 6, identity: WATCHED })]);
  });
});

describe('sigverify log audit: hostile logs', () => {
  it('a checkpoint signed by another key: LOG_CHECKPOINT_INVALID, undecided', async () => {
    seed();
    v1.key = createFixtureKey();
    const r = await monitor();
    expect(logOf(r, 1)?.error?.code).toBe('LOG_CHECKPOINT_INVALID');
    expect(r.outcome).toBe('undecided');
  });

  it('Rekor v1 rewritten after the last run (entry replaced, tree grown): LOG_FORKED, inconsistent', async () => {
    seed();
    v1.entries.pop(); // size 5: not a power of two, so the server's proof shows the fork
    await monitor();
    v1.entries[0] = { body: v1Body(signArtifact(fx)), time: 1_780_272_100 };
    v1.add(v1Body(signArtifact(fx)));
    const r = await monitor();
    expect(logOf(r, 1)).toMatchObject({ consistency: 'forked', consistent: false, error: { code: 'LOG_FORKED' } });
    expect(r.outcome).toBe('inconsistent');
  });

  it('Rekor v1 signing a smaller tree, or another root for the same size: LOG_FORKED', async () => {
    seed();
    await monitor();
    v1.entries.pop();
    expect(logOf(await monitor(), 1)?.error?.code).toBe('LOG_FORKED');
    v1.entries.push({ body: v1Body(signArtifact(fx)), time: 1_780_272_100 });
    expect(logOf(await monitor(), 1)?.error?.code).toBe('LOG_FORKED');
  });

  it('a consistency proof that does not lead to the signed root: LOG_PROOF_INVALID', async () => {
    seed();
    v1.entries.pop();
    await monitor();
    v1.add(v1Body(signArtifact(fx)));
    const r = await monitor((url) => (url.pathname === '/api/v1/log/proof' ? Response.json({ rootHash: '00', hashes: ['ab'.repeat(32), 'cd'.repeat(32)] }) : undefined));
    expect(logOf(r, 1)?.error?.code).toBe('LOG_PROOF_INVALID');
    expect(r.outcome).toBe('undecided');
  });

  it('withheld entry (the search lists it, retrieval leaves it out): LOG_RESPONSE_INVALID', async () => {
    seed();
    const r = await monitor(async (url, init) => {
      if (url.pathname !== '/api/v1/log/entries/retrieve') return undefined;
      const all = await (await v1.handle(url, init) as Response).json() as unknown[];
      return Response.json(all.slice(1));
    });
    expect(logOf(r, 1)?.error?.code).toBe('LOG_RESPONSE_INVALID');
  });

  it('another entry served under an asked-for UUID: LOG_RESPONSE_INVALID', async () => {
    seed();
    const r = await monitor((url, init) => {
      if (url.pathname !== '/api/v1/log/entries/retrieve') return undefined;
      const { entryUUIDs } = JSON.parse(init?.body as string) as { entryUUIDs: string[] };
      return Response.json(entryUUIDs.map((u) => ({ [u]: v1.entry(1) })));
    });
    expect(logOf(r, 1)?.error?.code).toBe('LOG_RESPONSE_INVALID');
  });

  it('an inclusion proof with a wrong hash: LOG_ENTRY_UNVERIFIED, nothing reported about the entry', async () => {
    seed();
    const stray = signArtifact(fx);
    v1.add(v1Body(stray));
    const r = await monitor((url, init) => {
      if (url.pathname !== '/api/v1/log/entries/retrieve') return undefined;
      const { entryUUIDs } = JSON.parse(init?.body as string) as { entryUUIDs: string[] };
      return Response.json(entryUUIDs.map((u) => {
        const i = v1.entries.findIndex((_, j) => v1.uuid(j) === u);
        const e = v1.entry(i) as { verification: { inclusionProof: { hashes: string[] } } };
        e.verification.inclusionProof.hashes[0] = 'ee'.repeat(32);
        return { [u]: e };
      }));
    });
    expect(logOf(r, 1)?.error?.code).toBe('LOG_ENTRY_UNVERIFIED');
    expect(r.unexpected.filter((e) => e.logUrl === V1_URL)).toEqual([]);
  });

  it('a search that lists an entry twice, or more entries than the cap: LOG_RESPONSE_INVALID', async () => {
    seed();
    const twice = await monitor((url) => (url.pathname === '/api/v1/index/retrieve' ? Response.json([v1.uuid(0), v1.uuid(0)]) : undefined));
    expect(logOf(twice, 1)?.error?.code).toBe('LOG_RESPONSE_INVALID');
    const many = await monitor(undefined, { limits: { maxLogSearchResults: 2 } });
    expect(logOf(many, 1)?.error?.code).toBe('LOG_RESPONSE_INVALID');
  });

  it('an oversize answer is cut off at maxLogResponseBytes: LOG_RESPONSE_INVALID', async () => {
    seed();
    const r = await monitor((url) => (url.pathname === '/checkpoint' ? new Response(Buffer.alloc(64 * 1024, 0x41)) : undefined), { limits: { maxLogResponseBytes: 16 * 1024 } });
    expect(logOf(r, 2)?.error?.code).toBe('LOG_RESPONSE_INVALID');
  });

  it('Rekor v2 hash tile that lies: LOG_PROOF_INVALID', async () => {
    seed();
    const r = await monitor(async (url, init) => {
      if (!url.pathname.startsWith('/tile/0/')) return undefined;
      const tile = Buffer.from(await (await v2.handle(url, init) as Response).arrayBuffer());
      tile[40] = (tile[40] as number) ^ 1;
      return new Response(tile);
    });
    expect(logOf(r, 2)?.error?.code).toBe('LOG_PROOF_INVALID');
  });

  it('Rekor v2 entries reordered in their bundle: LOG_PROOF_INVALID', async () => {
    seed();
    const r = await monitor(async (url, init) => {
      if (!url.pathname.startsWith('/tile/entries/')) return undefined;
      await v2.handle(url, init);
      const [a, b, ...rest] = v2.entries;
      return new Response(Buffer.concat([b, a, ...rest].flatMap((e) => [Buffer.from([(e as Buffer).length >> 8, (e as Buffer).length & 0xff]), e as Buffer])));
    });
    expect(logOf(r, 2)?.error?.code).toBe('LOG_PROOF_INVALID');
  });

  it('Rekor v2 entry withheld from its bundle: LOG_RESPONSE_INVALID', async () => {
    seed();
    const r = await monitor((url) => {
      if (!url.pathname.startsWith('/tile/entries/')) return undefined;
      const rest = v2.entries.slice(1);
      return new Response(Buffer.concat(rest.flatMap((e) => [Buffer.from([e.length >> 8, e.length & 0xff]), e])));
    });
    expect(logOf(r, 2)?.error?.code).toBe('LOG_RESPONSE_INVALID');
  });

  it('Rekor v2 claiming an endless tree: refused from the checkpoint, before reading a tile', async () => {
    seed();
    const requests = { requests: 0 };
    const huge = v2.checkpoint(2 ** 40, mth([leaf(Buffer.from('x'))]));
    const r = await runLogMonitor({
      logs: [{ url: V2_URL, version: 2 }],
      watch: [{ identity: WATCHED, issuer: ISSUER }],
      trust: trustedRootFile(fx.trustedRootPath),
      stateDirectory: state,
      approvals: {},
      fetch: fakeFetch([{ base: V2_URL, handle: v2.handle }], requests, (url) => (url.pathname === '/checkpoint' ? new Response(huge) : undefined)),
    });
    expect(logOf(r, 2)?.error?.code).toBe('LOG_RESPONSE_INVALID');
    expect(requests.requests).toBe(1);
  });

  it('Rekor v2 rewritten (entry replaced, tree grown, re-signed with the log key): LOG_FORKED', async () => {
    seed();
    await monitor();
    v2.entries[2] = v2Body(signArtifact(fx));
    v2.add(v2Body(signArtifact(fx)));
    const r = await monitor();
    expect(logOf(r, 2)).toMatchObject({ consistency: 'forked', error: { code: 'LOG_FORKED' } });
    expect(r.outcome).toBe('inconsistent');
  });

  it('a failed log keeps its last verified checkpoint: the fork is reported again on the next run', async () => {
    seed();
    await monitor();
    v2.entries.pop();
    expect(logOf(await monitor(), 2)?.error?.code).toBe('LOG_FORKED');
    expect(logOf(await monitor(), 2)?.error?.code).toBe('LOG_FORKED');
  });
});

describe('sigverify log audit: the audit trail', () => {
  async function trailWith(logIndex: number, logId: string, integratedTime?: string): Promise<string> {
    const path = join(fx.dir, `audit-${n}.jsonl`);
    await new AuditLog(path, { fsync: false }).append({
      time: new Date().toISOString(), reference: 'registry.test/app@sha256:' + 'a'.repeat(64), decision: 'verified', cached: false, durationMs: 1, sigverifyVersion: 'test',
      signer: { identity: WATCHED, issuer: ISSUER }, tlog: { logId, logIndex, ...(integratedTime === undefined ? {} : { integratedTime }) },
    });
    return path;
  }

  it('an accepted decision\'s entry still in place is expected and re-checked', async () => {
    seed();
    const auditLog = await trailWith(0, fx.v1LogId.toString('hex'), new Date(1_780_272_060_000).toISOString());
    const r = await monitor(undefined, { approvals: { approvedList: approved, auditLog } });
    expect(r.outcome).toBe('clean');
    expect(logOf(r, 1)?.auditedEntriesChecked).toBe(1);
    expect(r.expected.find((e) => e.logUrl === V1_URL && e.logIndex === 0)?.expectedBecause).toBe('audit record 1');
  });

  it('after rotation: the segment\'s decisions approve when it is named, the chain verified across it', async () => {
    seed();
    const auditLog = await trailWith(0, fx.v1LogId.toString('hex'), new Date(1_780_272_060_000).toISOString());
    const segment = `${auditLog}.1`;
    await rotateAuditLog(auditLog, segment);
    const alone = await monitor(undefined, { approvals: { approvedList: approved, auditLog } });
    expect(alone.outcome).toBe('inconsistent');
    expect(alone.errors.map((e) => e.code)).toContain('AUDIT_CHAIN_BROKEN');
    seed();
    const r = await monitor(undefined, { approvals: { approvedList: approved, auditLog, auditSegments: [segment] } });
    expect(r.outcome).toBe('clean');
    expect(r.expected.find((e) => e.logUrl === V1_URL && e.logIndex === 0)?.expectedBecause).toBe('audit record 1');
  });

  it('an accepted decision\'s entry gone from the log: LOG_ENTRY_MISSING, inconsistent', async () => {
    seed();
    const auditLog = await trailWith(40, fx.v2LogId.toString('hex'));
    const r = await monitor(undefined, { approvals: { approvedList: approved, auditLog } });
    expect(logOf(r, 2)?.error?.code).toBe('LOG_ENTRY_MISSING');
    expect(r.outcome).toBe('inconsistent');
  });

  it('another signer\'s entry now at an audited index: LOG_ENTRY_MISSING', async () => {
    seed();
    const auditLog = await trailWith(1, fx.v2LogId.toString('hex'));
    const r = await monitor(undefined, { approvals: { approvedList: approved, auditLog } });
    expect(logOf(r, 2)?.error?.code).toBe('LOG_ENTRY_MISSING');
  });
});

describe('sigverify log audit: local state', () => {
  it('a state directory others can write is refused (LOCAL_FILE_UNSAFE)', async () => {
    seed();
    await mkdir(state, { mode: 0o700 });
    await chmod(state, 0o777);
    await expect(monitor()).rejects.toMatchObject({ code: 'LOCAL_FILE_UNSAFE' });
  });

  it('a damaged state file: LOG_STATE_INVALID, undecided, and it is not overwritten', async () => {
    seed();
    await monitor();
    const { readdir, readFile } = await import('node:fs/promises');
    const [file] = (await readdir(state)).sort();
    await writeFile(join(state, file as string), '{"not":"state"}', { mode: 0o600 });
    const r = await monitor();
    expect(r.logs.map((l) => l.error?.code)).toContain('LOG_STATE_INVALID');
    expect(await readFile(join(state, file as string), 'utf8')).toBe('{"not":"state"}');
  });
});

function createFixtureKey() {
  return createCertificateAuthority().intermediate.keyPair;
}
