import { chmod, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalDigest } from '../../src/audit/index.ts';
import { type CacheKey, ResultCache } from '../../src/cache/index.ts';
import type { Digest } from '../../src/reference/index.ts';
import { RESULT_MEDIA_TYPE, type VerificationResult } from '../../src/verify/index.ts';

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;
const KEY: CacheKey = { subject: '127.0.0.1:5000/fixtures', digest: d('a'), policyDigest: d('b'), trustRootDigest: d('c') };

function result(overrides: Partial<VerificationResult> = {}): VerificationResult {
  return {
    mediaType: RESULT_MEDIA_TYPE,
    verified: true,
    reference: '127.0.0.1:5000/fixtures:signed',
    digest: KEY.digest,
    pinnedReference: `${KEY.subject}@${KEY.digest}`,
    imageKind: 'manifest',
    purpose: { kind: 'signature', predicateType: 'https://sigstore.dev/cosign/sign/v1' },
    policy: { mode: 'keyless', identity: { exact: 'x' }, issuer: { exact: 'y' }, annotations: {}, requireTlog: true },
    discovery: { legacyTag: 'sha256-a.sig', legacySignatures: 1, referrers: 'none', skippedReferrers: [] },
    trustRoot: { source: 'test', digest: KEY.trustRootDigest },
    signatures: [],
    verifiedSignatures: 1,
    verifiedAt: '2026-05-01T00:00:00.000Z',
    sigverifyVersion: '0.1.0',
    ...overrides,
  };
}

let dir: string;
let now: number;
const clock = () => now;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-cache-'));
  now = 1_800_000_000_000;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ResultCache in memory', () => {
  it('misses, then hits the same key within the TTL, then expires', async () => {
    const cache = new ResultCache({ ttlMs: 60_000, now: clock });
    expect(await cache.get(KEY)).toBeUndefined();
    const r = result();
    await cache.set(KEY, { result: r, attestations: [] });
    now += 59_999;
    expect((await cache.get(KEY))?.result).toBe(r);
    now += 1;
    expect(await cache.get(KEY)).toBeUndefined();
  });

  it.each([
    ['another repository', { subject: '127.0.0.1:5000/other' }],
    ['another digest', { digest: d('e') }],
    ['another policy', { policyDigest: d('e') }],
    ['another trust root', { trustRootDigest: d('e') }],
    ['no trust root', { trustRootDigest: undefined }],
  ])('never answers for %s', async (_name, change) => {
    const cache = new ResultCache({ now: clock });
    await cache.set(KEY, { result: result(), attestations: [] });
    expect(await cache.get({ ...KEY, ...change })).toBeUndefined();
  });

  it('does not trust an entry stored in the future (clock set back)', async () => {
    const cache = new ResultCache({ now: clock });
    await cache.set(KEY, { result: result(), attestations: [] });
    now -= 1;
    expect(await cache.get(KEY)).toBeUndefined();
  });

  it('refuses to store a result that is not a verified result of the key', async () => {
    const cache = new ResultCache({ now: clock });
    await expect(cache.set(KEY, { result: result({ verified: false }), attestations: [] })).rejects.toThrow(TypeError);
    await expect(cache.set(KEY, { result: result({ digest: d('f') }), attestations: [] })).rejects.toThrow(TypeError);
    await expect(cache.set(KEY, { result: result(), attestations: [result({ pinnedReference: 'elsewhere@sha256:x' })] })).rejects.toThrow(TypeError);
  });

  it('keeps at most maxCacheEntries, dropping the least recently used', async () => {
    const cache = new ResultCache({ now: clock, limits: { maxCacheEntries: 2 } });
    const key = (c: string): CacheKey => ({ ...KEY, digest: d(c) });
    for (const c of ['1', '2']) await cache.set(key(c), { result: result({ digest: d(c) }), attestations: [] });
    await cache.get(key('1'));
    await cache.set(key('3'), { result: result({ digest: d('3') }), attestations: [] });
    expect(await cache.get(key('1'))).toBeDefined();
    expect(await cache.get(key('2'))).toBeUndefined();
    expect(await cache.get(key('3'))).toBeDefined();
  });

  it('a TTL of 0 disables it', async () => {
    const cache = new ResultCache({ ttlMs: 0, now: clock });
    await cache.set(KEY, { result: result(), attestations: [] });
    expect(await cache.get(KEY)).toBeUndefined();
  });
});

describe('ResultCache on disk', () => {
  const entryFile = async (): Promise<string> => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    return join(dir, files[0] as string);
  };

  it('serves another instance (another process) within the TTL, then expires and removes the entry', async () => {
    await new ResultCache({ directory: dir, now: clock }).set(KEY, { result: result(), attestations: [result({ purpose: { kind: 'attestation', predicateType: 'https://slsa.dev/provenance/v1' } })] });
    const file = await entryFile();
    now += 1000;
    const hit = await new ResultCache({ directory: dir, now: clock }).get(KEY);
    expect(hit?.result).toEqual(result());
    expect(hit?.attestations).toHaveLength(1);
    expect(hit?.storedAt).toBe(now - 1000);
    now += 5 * 60 * 1000;
    expect(await new ResultCache({ directory: dir, now: clock }).get(KEY)).toBeUndefined();
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes entries readable only by their owner, leaving no temporary files', async () => {
    await new ResultCache({ directory: dir, now: clock }).set(KEY, { result: result(), attestations: [] });
    expect(await readdir(dir)).toHaveLength(1);
  });

  it.each([
    ['an edited result', (e: Record<string, unknown>) => ({ ...e, result: { ...(e['result'] as object), verifiedAt: '2030-01-01T00:00:00.000Z' } })],
    ['a result that says it failed', (e: Record<string, unknown>) => ({ ...e, result: { ...(e['result'] as object), verified: false } })],
    ['a storedAt moved forward', (e: Record<string, unknown>) => ({ ...e, storedAt: now + 10 })],
    ['an unknown member', (e: Record<string, unknown>) => ({ ...e, trusted: true })],
  ])('ignores a tampered entry: %s', async (_name, tamper) => {
    await new ResultCache({ directory: dir, now: clock }).set(KEY, { result: result(), attestations: [] });
    const file = await entryFile();
    const entry = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify(tamper(entry)), { mode: 0o600 });
    expect(await new ResultCache({ directory: dir, now: clock }).get(KEY)).toBeUndefined();
  });

  it('ignores an entry for another key even when its checksum is recomputed (a file copied over another)', async () => {
    await new ResultCache({ directory: dir, now: clock }).set(KEY, { result: result(), attestations: [] });
    const file = await entryFile();
    const entry = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const { checksum: _checksum, ...content }: Record<string, unknown> = { ...entry, key: { ...(entry['key'] as object), policyDigest: d('e') } };
    await writeFile(file, JSON.stringify({ ...content, checksum: canonicalDigest(content) }), { mode: 0o600 });
    expect(await new ResultCache({ directory: dir, now: clock }).get(KEY)).toBeUndefined();
  });

  it('ignores an entry that is not JSON, or larger than the cap', async () => {
    await new ResultCache({ directory: dir, now: clock }).set(KEY, { result: result(), attestations: [] });
    const file = await entryFile();
    const bytes = await readFile(file);
    expect(await new ResultCache({ directory: dir, now: clock, limits: { maxCacheEntryBytes: bytes.length - 1 } }).get(KEY)).toBeUndefined();
    await writeFile(file, bytes.subarray(0, bytes.length - 5));
    expect(await new ResultCache({ directory: dir, now: clock }).get(KEY)).toBeUndefined();
  });

  it('ignores an entry others may write, and a symbolic link', async () => {
    await new ResultCache({ directory: dir, now: clock }).set(KEY, { result: result(), attestations: [] });
    const file = await entryFile();
    await chmod(file, 0o666);
    expect(await new ResultCache({ directory: dir, now: clock }).get(KEY)).toBeUndefined();
    await chmod(file, 0o600);
    const moved = join(dir, 'elsewhere');
    await writeFile(moved, await readFile(file), { mode: 0o600 });
    await rm(file);
    await symlink(moved, file);
    expect(await new ResultCache({ directory: dir, now: clock }).get(KEY)).toBeUndefined();
  });

  it('does not use a directory others may write; it warns and caches in memory only', async () => {
    await chmod(dir, 0o777);
    const warnings: string[] = [];
    const cache = new ResultCache({ directory: dir, now: clock, onWarning: (m) => warnings.push(m) });
    await cache.set(KEY, { result: result(), attestations: [] });
    expect(await readdir(dir)).toEqual([]);
    expect(await cache.get(KEY)).toBeDefined();
    expect(warnings).toHaveLength(1);
  });
});
