import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEntry, AuditLog, recordHash, refusalOf, summarizeAuditLog, verifyAuditLog } from '../../src/audit/index.ts';
import { canonicalJson, sha256Hex } from '../../src/audit/canonical-json.ts';
import { checkpointSigner, checkpointVerifier, rotateAuditLog } from '../../src/audit/index.ts';
import { runAudit } from '../../src/cli/audit.ts';
import { runCheckModule } from '../../src/cli/processor.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { SigverifyError } from '../../src/errors.ts';

/** Retention and insiders: keyed checkpoints, rotation into segments, who wrote a record, `invalid` decisions. */

const DIGEST = `sha256:${'a'.repeat(64)}` as const;

function entry(i: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: new Date(Date.UTC(2026, 4, 1, 0, 0, i)).toISOString(),
    module: `module-${i % 3}`,
    reference: '127.0.0.1:5000/fixtures:signed',
    digest: DIGEST,
    decision: 'verified',
    cached: false,
    durationMs: i,
    sigverifyVersion: '0.1.0',
    ...overrides,
  };
}

function pems(type: 'ec' | 'ed25519') {
  const pair = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return {
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-retention-'));
  path = join(dir, 'audit.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lines = async (file = path) => (await readFile(file, 'utf8')).split('\n').slice(0, -1);
const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;

/** What an insider without the key does: edit a record, then re-chain every line after it (hashes, prevs), keeping the checkpoints' signatures. */
function rechain(all: readonly string[], edit: (record: Record<string, unknown>) => void, at: number): string[] {
  const out: string[] = [];
  let prev: string | undefined;
  for (const [i, line] of all.entries()) {
    const record = parse(line);
    if (i === at) edit(record);
    if (prev !== undefined) record['prev'] = prev;
    record['hash'] = recordHash(record);
    const text = canonicalJson(record);
    out.push(text);
    prev = sha256Hex(text);
  }
  return out;
}

describe.each(['ec', 'ed25519'] as const)('keyed checkpoints (%s)', (type) => {
  it('the site key signs the head every N records; the trail verifies with the public key', async () => {
    const { privatePem, publicPem } = pems(type);
    const log = new AuditLog(path, { fsync: false, processor: 'proc-a', checkpoint: { signer: checkpointSigner(privatePem), every: 3 } });
    for (let i = 1; i <= 7; i++) await log.append(entry(i));
    const all = (await lines()).map(parse);
    // Decisions 1-3, checkpoint 4, decisions 5-6, checkpoint 7, decisions 8-9, checkpoint 10, decision 11.
    const checkpoints = all.filter((r) => r['mediaType'] === 'application/vnd.sigverify.audit-checkpoint+json;version=1');
    expect(checkpoints.map((c) => c['seq'])).toEqual([4, 7, 10]);
    expect(checkpoints[0]).toMatchObject({ seq: 4, reason: 'interval', host: hostname(), processor: 'proc-a', algorithm: type === 'ec' ? 'ecdsa-p256-sha256' : 'ed25519' });
    const key = checkpointVerifier(publicPem);
    const verification = await verifyAuditLog(path, { checkpointKey: key, checkpointEvery: 3 });
    expect(verification).toMatchObject({ ok: true, records: all.length, checkpoints: { verified: checkpoints.length } });
    // Summaries count decisions only.
    expect((await summarizeAuditLog(path)).records).toBe(7);
    expect((await summarizeAuditLog(path)).unreadable).toBe(0);
  });

  it('a rewritten history fails: CHECKPOINT_INVALID when the checkpoints are kept, CHECKPOINT_MISSING when they are dropped', async () => {
    const { privatePem, publicPem } = pems(type);
    const log = new AuditLog(path, { fsync: false, checkpoint: { signer: checkpointSigner(privatePem), every: 2 } });
    for (let i = 1; i <= 6; i++) await log.append(entry(i));
    const all = await lines();
    // Without the key, the rewritten chain is intact: that is what the key is for.
    const rewritten = rechain(all, (r) => { r['decision'] = 'rejected'; }, 0);
    await writeFile(path, rewritten.map((l) => `${l}\n`).join(''));
    expect((await verifyAuditLog(path)).ok).toBe(true);
    const key = checkpointVerifier(publicPem);
    const kept = await verifyAuditLog(path, { checkpointKey: key, checkpointEvery: 2 });
    expect(kept).toMatchObject({ ok: false, problem: { code: 'CHECKPOINT_INVALID', line: 3 } });

    const dropped = rechain(all.filter((l) => !l.includes('audit-checkpoint')), (r) => { r['decision'] = 'rejected'; }, 0)
      .map((l, i) => { const r = parse(l); r['seq'] = i + 1; return r; });
    // Renumber and re-chain after dropping the checkpoints.
    const renumbered = rechain(dropped.map((r) => canonicalJson(r)), () => undefined, -1);
    await writeFile(path, renumbered.map((l) => `${l}\n`).join(''));
    expect((await verifyAuditLog(path)).ok).toBe(true);
    expect(await verifyAuditLog(path, { checkpointKey: key, checkpointEvery: 2 })).toMatchObject({ ok: false, problem: { code: 'CHECKPOINT_MISSING' } });
  });

  it('a checkpoint signed by another key fails; records cut after the last checkpoint are reported as not anchored', async () => {
    const site = pems(type);
    const other = pems(type);
    const log = new AuditLog(path, { fsync: false, checkpoint: { signer: checkpointSigner(other.privatePem), every: 3 } });
    for (let i = 1; i <= 4; i++) await log.append(entry(i));
    expect(await verifyAuditLog(path, { checkpointKey: checkpointVerifier(site.publicPem) })).toMatchObject({ ok: false, problem: { code: 'CHECKPOINT_INVALID' } });
    // 1, 2, 3, checkpoint 4, 5: one record after the checkpoint is not anchored; cutting it leaves an intact trail, which only the report of what was unanchored warned about.
    expect(await verifyAuditLog(path, { checkpointKey: checkpointVerifier(other.publicPem) })).toMatchObject({ ok: true, checkpoints: { verified: 1, last: 4, unanchored: 1 } });
    const all = await lines();
    await writeFile(path, all.slice(0, 4).map((l) => `${l}\n`).join(''));
    expect(await verifyAuditLog(path, { checkpointKey: checkpointVerifier(other.publicPem) })).toMatchObject({ ok: true, checkpoints: { last: 4, unanchored: 0 } });
  });
});

describe('rotation', () => {
  it('a new segment continues the chain from the old one and verifies with --continues-from; it fails from another head', async () => {
    const { privatePem, publicPem } = pems('ec');
    const signer = checkpointSigner(privatePem);
    const log = new AuditLog(path, { fsync: false, checkpoint: { signer, every: 100 } });
    for (let i = 1; i <= 3; i++) await log.append(entry(i));
    const segment = join(dir, 'audit-2026-05.jsonl');
    const rotation = await rotateAuditLog(path, segment, { signer });
    expect(rotation.head.seq).toBe(3);
    for (let i = 4; i <= 5; i++) await log.append(entry(i));

    const old = await verifyAuditLog(segment);
    expect(old).toMatchObject({ ok: true, records: 3, tail: rotation.head });
    const current = await lines();
    expect(parse(current[0] as string)).toMatchObject({ seq: 4, reason: 'rotation', keyId: signer.keyId, prev: rotation.head.line });
    // Alone, the new segment looks cut: its first record does not start a chain.
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, problem: { code: 'PREV_MISMATCH', line: 1 } });
    const key = checkpointVerifier(publicPem);
    expect(await verifyAuditLog(path, { continuesFrom: rotation.head, checkpointKey: key })).toMatchObject({ ok: true, records: 3, checkpoints: { verified: 1, last: 4, unanchored: 2 } });
    expect(await verifyAuditLog(path, { continuesFrom: { seq: 3, line: 'f'.repeat(64) } })).toMatchObject({ ok: false, problem: { code: 'PREV_MISMATCH', line: 1 } });
    expect(await verifyAuditLog(path, { continuesFrom: { seq: 2, line: rotation.head.line } })).toMatchObject({ ok: false, problem: { code: 'SEQ_MISMATCH', line: 1 } });
    // The CLI: rotate prints SEQ:SHA256, verify takes it.
    const out = { stdout: '', stderr: '' };
    const io = { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; } };
    expect(await runAudit(['rotate', path, '--to', join(dir, 'audit-2026-06.jsonl')], io)).toBe(0);
    const link = out.stdout.trim();
    expect(link).toMatch(/^6:[0-9a-f]{64}$/);
    expect(await runAudit(['verify', path, '--continues-from', link], io)).toBe(0);
    expect(await runAudit(['verify', join(dir, 'audit-2026-06.jsonl'), '--continues-from', `3:${rotation.head.line}`], io)).toBe(0);
    expect(await runAudit(['verify', path, '--continues-from', 'nonsense'], io)).toBe(2);
  });

  it('never overwrites a segment, and refuses an empty trail', async () => {
    const log = new AuditLog(path, { fsync: false });
    await log.append(entry(1));
    const segment = join(dir, 'taken.jsonl');
    await writeFile(segment, 'x\n');
    await expect(rotateAuditLog(path, segment)).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    expect(await readFile(segment, 'utf8')).toBe('x\n');
    await writeFile(path, '');
    await expect(rotateAuditLog(path, join(dir, 'other.jsonl'))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
  });
});

describe('the processor CLI with a keyed trail', () => {
  it('check-module --audit-processor --audit-checkpoint-key: the record names the processor, the checkpoint verifies', async () => {
    const { privatePem, publicPem } = pems('ed25519');
    const key = join(dir, 'checkpoint.key');
    await writeFile(key, privatePem, { mode: 0o600 });
    const policy = join(dir, 'module.json');
    await writeFile(policy, JSON.stringify({ module_name: 'seg', docker_tag: `oci:${FIXTURE_LAYOUT}:signed`, signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER }));
    const out = { stdout: '', stderr: '' };
    const io = { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; } };
    const code = await runCheckModule([policy, '--trusted-root', TEST_TRUSTED_ROOT, '--allow-test-trust-root-unsafe', '--audit-log', path, '--audit-processor', 'proc-b', '--audit-checkpoint-key', key, '--audit-checkpoint-every', '1'], io);
    expect(code).toBe(0);
    const all = (await lines()).map(parse);
    expect(all).toMatchObject([{ seq: 1, decision: 'verified', processor: 'proc-b' }, { seq: 2, reason: 'interval', processor: 'proc-b' }]);
    await writeFile(join(dir, 'checkpoint.pub'), publicPem);
    expect(await runAudit(['verify', path, '--checkpoint-key', join(dir, 'checkpoint.pub'), '--checkpoint-every', '1'], io)).toBe(0);
    expect(out.stderr).toContain('every record is covered by a checkpoint');
    expect(await runCheckModule([policy, '--audit-checkpoint-key', key], io)).toBe(2);
  });
});

describe('who and what a record names', () => {
  it('records carry the host and the processor', async () => {
    const record = await new AuditLog(path, { fsync: false, host: 'gate-1.hospital.example', processor: 'radiology-processor' }).append(entry(1));
    expect(record).toMatchObject({ host: 'gate-1.hospital.example', processor: 'radiology-processor' });
    expect((await new AuditLog(join(dir, 'b.jsonl'), { fsync: false }).append(entry(1))).host).toBe(hostname());
  });

  it('an invalid policy is recorded as invalid, a definite no as rejected, no decision as unavailable', () => {
    expect(refusalOf(new SigverifyError('POLICY_INVALID', 'bad'))).toMatchObject({ decision: 'invalid', reason: 'POLICY_INVALID' });
    expect(refusalOf(new SigverifyError('NO_SIGNATURES', 'none'))).toMatchObject({ decision: 'rejected' });
    expect(refusalOf(new SigverifyError('REGISTRY_UNREACHABLE', 'down'))).toMatchObject({ decision: 'unavailable' });
  });

  it('a checkpoint key of another kind is refused with KEY_INVALID', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => checkpointSigner(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }) as Error);
    expect(() => checkpointVerifier('not a key')).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }) as Error);
  });
});
