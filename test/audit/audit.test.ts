import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEntry, AuditLog, GENESIS_PREV, recordHash, summarizeAuditLog, verifyAuditLog } from '../../src/audit/index.ts';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { runAudit } from '../../src/cli/audit.ts';
import type { Digest } from '../../src/reference/index.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

const DIGEST: Digest = `sha256:${'a'.repeat(64)}`;

function entry(i: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: new Date(Date.UTC(2026, 4, 1, 0, 0, i)).toISOString(),
    module: `module-${i % 3}`,
    reference: '127.0.0.1:5000/fixtures:signed',
    digest: DIGEST,
    pinnedReference: `127.0.0.1:5000/fixtures@${DIGEST}`,
    decision: 'verified',
    cached: i % 2 === 0,
    durationMs: i,
    sigverifyVersion: '0.1.0',
    ...overrides,
  };
}

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-audit-'));
  path = join(dir, 'audit.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeTrail(n: number): Promise<string[]> {
  const log = new AuditLog(path, { fsync: false });
  for (let i = 1; i <= n; i++) await log.append(entry(i));
  return (await readFile(path, 'utf8')).split('\n').slice(0, -1);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const rewrite = (lines: readonly string[]) => writeFile(path, lines.map((l) => `${l}\n`).join(''));

describe('audit trail: writing', () => {
  it('chains each record to the bytes of the line before, from the genesis value', async () => {
    const lines = await writeTrail(3);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r['seq'])).toEqual([1, 2, 3]);
    expect(records[0]?.['prev']).toBe(GENESIS_PREV);
    expect(records[1]?.['prev']).toBe(sha256(lines[0] as string));
    expect(records[2]?.['prev']).toBe(sha256(lines[1] as string));
    for (const r of records) expect(r['hash']).toBe(recordHash(r));
    // Each line is the canonical JSON of its record.
    for (const [i, l] of lines.entries()) expect(l).toBe(canonicalJson(records[i]));
    expect(records[0]).toMatchObject({ mediaType: 'application/vnd.sigverify.audit-record+json;version=1', decision: 'verified', module: 'module-1', durationMs: 1 });
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });

  it('serialises concurrent appends from one process, across AuditLog instances', async () => {
    const a = new AuditLog(path, { fsync: false });
    const b = new AuditLog(path, { fsync: false });
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).append(entry(i))));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 40 });
  });

  it('serialises appends from several processes through the lock file', async () => {
    const script = `
      const { AuditLog } = await import(${JSON.stringify(join(REPO_ROOT, 'src', 'audit', 'index.ts'))});
      const log = new AuditLog(process.argv[1], { fsync: false });
      await Promise.all(Array.from({ length: 25 }, (_, i) => log.append({ time: new Date().toISOString(), reference: 'r', decision: 'rejected', reason: 'NO_SIGNATURES', cached: false, durationMs: i, sigverifyVersion: '0' })));
    `;
    const run = () => new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, path], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', resolve);
    });
    expect(await Promise.all([run(), run(), run()])).toEqual([0, 0, 0]);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 75 });
  });

  it('breaks the lock of a process that no longer exists', async () => {
    await writeFile(`${path}.lock`, JSON.stringify({ host: hostname(), pid: 2 ** 22 + 1, token: 'dead' }));
    await new AuditLog(path, { fsync: false }).append(entry(1));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 1 });
  });

  it('refuses with AUDIT_UNAVAILABLE while a live process holds the lock', async () => {
    await writeFile(`${path}.lock`, JSON.stringify({ host: hostname(), pid: process.pid, token: 'someone else' }));
    await expect(new AuditLog(path, { fsync: false, limits: { auditLockTimeoutMs: 50 } }).append(entry(1))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
  });

  it('refuses with AUDIT_UNAVAILABLE to chain onto a torn or foreign last line', async () => {
    await writeTrail(2);
    await appendFile(path, '{"seq":3,"dec');
    await expect(new AuditLog(path, { fsync: false }).append(entry(3))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    await writeFile(path, 'not an audit record\n');
    await expect(new AuditLog(path, { fsync: false }).append(entry(1))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
  });

  it('chains onto a last line longer than the first read from the end', async () => {
    const log = new AuditLog(path, { fsync: false });
    await log.append(entry(1));
    await log.append(entry(2, { module: 'm'.repeat(100_000) }));
    await log.append(entry(3));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 3 });
    await expect(new AuditLog(path, { fsync: false, limits: { maxAuditLineBytes: 50_000 } }).append(entry(4, { module: 'm'.repeat(60_000) }))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 3 });
  });

  it('keeps URL credentials and queries of a trust source out of the record', async () => {
    const record = await new AuditLog(path, { fsync: false }).append(entry(1, { trust: { source: 'TUF repository https://user:s3cret@tuf.example/repo?token=abc' } }));
    expect(record.trust?.source).toBe('TUF repository https://tuf.example/repo');
    expect(await readFile(path, 'utf8')).not.toMatch(/s3cret|token=abc/);
  });
});

describe('audit verify: tampering', () => {
  it('accepts an intact trail and reports its head and count', async () => {
    const lines = await writeTrail(5);
    const head = (JSON.parse(lines[4] as string) as { hash: string }).hash;
    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 5, head, tail: { seq: 5, line: sha256(lines[4] as string) } });
    expect(await verifyAuditLog(path, { expectHead: head, expectCount: 5 })).toMatchObject({ ok: true });
    // An anchor noted earlier is still found after more appends.
    await new AuditLog(path, { fsync: false }).append(entry(6));
    expect(await verifyAuditLog(path, { expectHead: head, expectCount: 5 })).toMatchObject({ ok: true, records: 6 });
  });

  it('an empty trail is intact', async () => {
    await writeFile(path, '');
    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 0, head: undefined });
  });

  it('detects an edited field', async () => {
    const lines = await writeTrail(5);
    await rewrite(lines.map((l, i) => (i === 2 ? l.replace('"decision":"verified"', '"decision":"rejected"') : l)));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, records: 2, problem: { code: 'HASH_MISMATCH', line: 3 } });
  });

  it('detects an edited field whose record hash was recomputed, at the next line', async () => {
    const lines = await writeTrail(5);
    const edited: Record<string, unknown> = { ...(JSON.parse(lines[2] as string) as Record<string, unknown>), digest: `sha256:${'b'.repeat(64)}` };
    edited['hash'] = recordHash(edited);
    await rewrite(lines.map((l, i) => (i === 2 ? canonicalJson(edited) : l)));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, problem: { code: 'PREV_MISMATCH', line: 4 } });
  });

  it('detects a deleted line', async () => {
    const lines = await writeTrail(5);
    await rewrite(lines.filter((_, i) => i !== 2));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, problem: { code: 'PREV_MISMATCH', line: 3 } });
  });

  it('detects a deleted first line', async () => {
    const lines = await writeTrail(3);
    await rewrite(lines.slice(1));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, problem: { code: 'PREV_MISMATCH', line: 1 } });
  });

  it('detects two swapped lines', async () => {
    const lines = await writeTrail(5);
    await rewrite([lines[0], lines[2], lines[1], lines[3], lines[4]] as string[]);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, problem: { code: 'PREV_MISMATCH', line: 2 } });
  });

  it('detects an inserted line forged with a correct prev and hash, at the line after it', async () => {
    const lines = await writeTrail(5);
    const forged: Record<string, unknown> = { ...(JSON.parse(lines[2] as string) as Record<string, unknown>), module: 'forged', prev: sha256(lines[1] as string) };
    forged['hash'] = recordHash(forged);
    await rewrite([lines[0], lines[1], canonicalJson(forged), ...lines.slice(2)] as string[]);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, records: 3, problem: { code: 'PREV_MISMATCH', line: 4 } });
  });

  it('detects a torn last line, a line that is not JSON, and one that is not a record', async () => {
    const lines = await writeTrail(3);
    await writeFile(path, lines.join('\n'));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, problem: { code: 'INCOMPLETE_LINE', line: 3 } });
    await rewrite([lines[0] as string, '{not json', lines[2] as string]);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, problem: { code: 'NOT_JSON', line: 2 } });
    await rewrite([lines[0] as string, '{"hello":"world"}']);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, problem: { code: 'NOT_A_RECORD', line: 2 } });
  });

  it('detects a line over the cap without reading it whole', async () => {
    const lines = await writeTrail(2);
    await rewrite([lines[0] as string, 'x'.repeat(5000), lines[1] as string]);
    expect(await verifyAuditLog(path, { limits: { maxAuditLineBytes: 4096 } })).toMatchObject({ ok: false, problem: { code: 'LINE_TOO_LONG', line: 2 } });
  });

  it('cannot see records cut from the end by the chain alone; an expected head or count can', async () => {
    const lines = await writeTrail(5);
    const head = (JSON.parse(lines[4] as string) as { hash: string }).hash;
    await rewrite(lines.slice(0, 4));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 4 });
    expect(await verifyAuditLog(path, { expectHead: head })).toMatchObject({ ok: false, problem: { code: 'HEAD_NOT_FOUND' } });
    expect(await verifyAuditLog(path, { expectCount: 5 })).toMatchObject({ ok: false, problem: { code: 'TOO_FEW_RECORDS' } });
  });
});

describe('audit summary', () => {
  it('counts decisions per module and cache hits, and gives nearest-rank p50/p95 durations', async () => {
    const log = new AuditLog(path, { fsync: false });
    for (let i = 1; i <= 100; i++) {
      await log.append(entry(i, {
        decision: i <= 90 ? 'verified' : i <= 95 ? 'rejected' : i <= 98 ? 'signature-not-required' : 'unavailable',
        module: i % 2 === 0 ? 'even' : 'odd',
        cached: i <= 50,
        durationMs: i,
      }));
    }
    const summary = await summarizeAuditLog(path);
    expect(summary).toMatchObject({
      records: 100,
      unreadable: 0,
      cached: 50,
      decisions: { verified: 90, rejected: 5, 'signature-not-required': 3, unavailable: 2, 'log-monitor': 0 },
      modules: { even: { total: 50, cached: 25 }, odd: { total: 50, cached: 25 } },
      durationMs: {
        all: { count: 100, p50: 50, p95: 95, max: 100 },
        cached: { count: 50, p50: 25, p95: 48, max: 50 },
        uncached: { count: 50, p50: 75, p95: 98, max: 100 },
      },
    });
    expect(summary.modules['even']?.decisions.verified).toBe(45);
  });

  it('--since keeps only later records', async () => {
    await writeTrail(10);
    const summary = await summarizeAuditLog(path, { since: new Date(Date.UTC(2026, 4, 1, 0, 0, 6)) });
    expect(summary).toMatchObject({ records: 5, first: '2026-05-01T00:00:06.000Z', last: '2026-05-01T00:00:10.000Z', durationMs: { all: { p50: 8 } } });
  });
});

describe('sigverify audit (in process)', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; } } };
  };

  it('verify: exit 0 with the head on stdout; 1 with the bad line; 2 on usage; 3 on a missing file', async () => {
    const lines = await writeTrail(3);
    const head = (JSON.parse(lines[2] as string) as { hash: string }).hash;
    const ok = io();
    expect(await runAudit(['verify', path], ok.io)).toBe(0);
    expect(ok.out.stdout).toBe(`3 records, head ${head}; a next segment continues from 3:${sha256(lines[2] as string)}\n`);
    const json = io();
    expect(await runAudit(['verify', path, '--expect-head', head, '--expect-count', '3', '--output', 'json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.stdout)).toMatchObject({ ok: true, records: 3, head });
    await rewrite([lines[0], lines[2]] as string[]);
    const broken = io();
    expect(await runAudit(['verify', path, '--output', 'json'], broken.io)).toBe(1);
    expect(JSON.parse(broken.out.stdout)).toMatchObject({ ok: false, problem: { code: 'PREV_MISMATCH', line: 2 }, error: { code: 'AUDIT_CHAIN_BROKEN' } });
    expect(await runAudit(['verify', path, '--expect-head', 'nothex'], io().io)).toBe(2);
    expect(await runAudit(['verify'], io().io)).toBe(2);
    expect(await runAudit(['verify', join(dir, 'missing.jsonl')], io().io)).toBe(3);
  });

  it('summary: a table, or JSON; --since must be a time', async () => {
    await writeTrail(4);
    const text = io();
    expect(await runAudit(['summary', path], text.io)).toBe(0);
    expect(text.out.stdout).toContain('4 records');
    expect(text.out.stdout).toMatch(/module-1\s+2\s+2\s+0\s+0\s+0\s+0\s+0\s+1/);
    const json = io();
    expect(await runAudit(['summary', path, '--since', '2026-05-01T00:00:03Z', '--output', 'json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.stdout)).toMatchObject({ mediaType: 'application/vnd.sigverify.audit-summary+json;version=1', records: 2 });
    expect(await runAudit(['summary', path, '--since', 'yesterday'], io().io)).toBe(2);
  });
});
