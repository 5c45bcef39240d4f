import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/limits.ts';
import { type TufTrustSource, tufTrustSource } from '../../src/trust-root/index.ts';
import { OTHER_TRUSTED_ROOT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { type ServedRepository, TestTufRepository, serveRepository, tufKey } from '../helpers/tuf/index.ts';

/**
 * TUF attacks (TUF specification §1.5.2), each starting from a valid private
 * repository and changing one thing; each is refused with its own code.
 * The clock is fixed: the repository's metadata expires relative to it.
 */
const NOW = new Date('2026-06-01T00:00:00Z');
const PAST = new Date('2026-05-01T00:00:00Z');
const TRUSTED_ROOT = readFileSync(TEST_TRUSTED_ROOT);
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
// No waiting between retries of a repository that is gone.
const LIMITS = { ...DEFAULT_LIMITS, retryBaseDelayMs: 1 };

let work: string;
let repo: TestTufRepository;
let served: ServedRepository | undefined;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now: NOW });
  work = await mkdtemp(join(tmpdir(), 'sigverify-tuf-attacks-'));
});

afterEach(async () => {
  vi.useRealTimers();
  await served?.close();
  served = undefined;
  await rm(work, { recursive: true, force: true });
});

/** A repository publishing the fixture trusted root; `setup` changes it before the first publication. */
async function repository(options: ConstructorParameters<typeof TestTufRepository>[0] = {}): Promise<TestTufRepository> {
  repo = new TestTufRepository(options);
  repo.setTarget('trusted_root.json', TRUSTED_ROOT);
  await writeFile(join(work, 'root.json'), repo.rootJson(1));
  return repo;
}

async function client(allowExpiredMetadataUnsafe = false): Promise<TufTrustSource> {
  served ??= await serveRepository(repo);
  return tufTrustSource(
    { source: 'tuf-mirror', url: served.url, root: join(work, 'root.json'), cacheDir: join(work, 'cache'), ...(allowExpiredMetadataUnsafe ? { allowExpiredMetadataUnsafe } : {}) },
    { limits: LIMITS },
  );
}

describe('TUF attacks, one change from a valid repository', () => {
  it('baseline: the unchanged repository verifies', async () => {
    (await repository()).publish();
    expect((await (await client()).initialise()).digest).toBe(`sha256:${sha256(TRUSTED_ROOT)}`);
  });

  it('expired timestamp (freeze attack, §5.4.4): TRUST_METADATA_EXPIRED naming the role and its expiry', async () => {
    (await repository()).publish({ expires: { timestamp: PAST } });
    await expect((await client()).initialise()).rejects.toMatchObject({
      code: 'TRUST_METADATA_EXPIRED',
      kind: 'unavailable',
      details: { role: 'timestamp', version: 1, expires: '2026-05-01T00:00:00Z' },
    });
  });

  it('expired snapshot (§5.5.6), met while loading it (tuf-js wraps that error): still named', async () => {
    (await repository()).publish({ expires: { snapshot: PAST } });
    await expect((await client()).initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_EXPIRED', details: { role: 'snapshot', expires: '2026-05-01T00:00:00Z' } });
  });

  it('a cache that expired while the repository kept serving the same metadata', async () => {
    (await repository()).publish({ expires: { timestamp: new Date('2026-07-01T00:00:00Z') } });
    const source = await client();
    await source.initialise();
    vi.setSystemTime(new Date('2026-07-02T00:00:00Z'));
    await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_METADATA_EXPIRED', details: { role: 'timestamp', expires: '2026-07-01T00:00:00Z' } });
  });

  it('a cache that expired with the repository out of reach: the expiry, not the network, is reported', async () => {
    (await repository()).publish({ expires: { timestamp: new Date('2026-07-01T00:00:00Z') } });
    const source = await client();
    await source.initialise();
    await served?.close();
    served = undefined;
    vi.setSystemTime(new Date('2026-07-02T00:00:00Z'));
    await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_METADATA_EXPIRED', details: { role: 'timestamp' } });
  });

  it('rolled-back timestamp version (§5.4.3.1): TRUST_METADATA_ROLLBACK', async () => {
    (await repository()).publish();
    const first = repo.timestamp as Buffer;
    const source = await client();
    await source.initialise();
    repo.publish();
    await source.refresh();
    served?.overrides.set('timestamp.json', first);
    await expect(source.refresh()).rejects.toMatchObject({ code: 'TRUST_METADATA_ROLLBACK', details: { role: 'timestamp', version: 1, trustedVersion: 2 } });
  });

  it('targets metadata whose version is not the one the snapshot lists (§5.6.4): TRUST_METADATA_ROLLBACK', async () => {
    // Version-only descriptions, so only the version can tell the old targets from the new.
    (await repository()).publish({ metaHashes: false });
    const first = repo.targets as Buffer;
    repo.publish({ metaHashes: false });
    served = await serveRepository(repo);
    served.overrides.set('2.targets.json', first);
    await expect((await client()).initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_ROLLBACK', details: { role: 'targets', version: 1 } });
  });

  it('timestamp signed below its threshold (§5.4.2): TRUST_METADATA_UNSIGNED', async () => {
    const keys = [tufKey(), tufKey()];
    (await repository({ keys: { timestamp: keys }, thresholds: { timestamp: 2 } })).publish({ timestampSigners: [keys[0] as ReturnType<typeof tufKey>] });
    await expect((await client()).initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_UNSIGNED', details: { role: 'timestamp' } });
  });

  it('timestamp signed by a key the root does not name: TRUST_METADATA_UNSIGNED', async () => {
    (await repository()).publish({ timestampSigners: [tufKey()] });
    await expect((await client()).initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_UNSIGNED' });
  });

  it('new root version signed only by its own keys, not the trusted root\'s (§5.3.4): TRUST_METADATA_UNSIGNED', async () => {
    (await repository()).publish();
    const source = await client();
    await source.initialise();
    const fresh = [tufKey(), tufKey()];
    repo.rotateRoot({ keys: { root: fresh }, signers: fresh });
    await expect(source.refresh()).rejects.toMatchObject({ code: 'TRUST_METADATA_UNSIGNED', details: { role: 'root', version: 2 } });
  });

  it('target whose bytes differ from the signed hash (§5.7.3): TRUST_TARGET_MISMATCH', async () => {
    (await repository()).publish();
    served = await serveRepository(repo);
    served.overrides.set(`targets/${sha256(TRUSTED_ROOT)}.trusted_root.json`, readFileSync(OTHER_TRUSTED_ROOT));
    await expect((await client()).initialise()).rejects.toMatchObject({ code: 'TRUST_TARGET_MISMATCH' });
  });

  it('targets metadata whose bytes differ from the hash the snapshot records (§5.6.2): TRUST_METADATA_INVALID', async () => {
    (await repository()).publish();
    served = await serveRepository(repo);
    served.overrides.set('1.targets.json', Buffer.concat([repo.targets as Buffer, Buffer.from(' ')]));
    await expect((await client()).initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_INVALID', details: { role: 'targets' } });
  });

  it('a tampered cached trusted_root.json is not used: the verified target is fetched again', async () => {
    (await repository()).publish();
    const source = await client();
    await source.initialise();
    await writeFile(join(source.cachePath, 'targets', 'trusted_root.json'), readFileSync(OTHER_TRUSTED_ROOT));
    expect((await source.load()).digest).toBe(`sha256:${sha256(TRUSTED_ROOT)}`);
    expect(await readFile(join(source.cachePath, 'targets', 'trusted_root.json'))).toEqual(TRUSTED_ROOT);
  });
});

describe('allowExpiredMetadataUnsafe', () => {
  it('accepts expired metadata only when asked, and records what it accepted', async () => {
    (await repository()).publish({ expires: { timestamp: PAST } });
    await expect((await client()).initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_EXPIRED' });
    const root = await (await client(true)).initialise();
    expect(root.digest).toBe(`sha256:${sha256(TRUSTED_ROOT)}`);
    expect(root.expiredMetadataAccepted).toEqual([{ role: 'timestamp', version: 1, expires: '2026-05-01T00:00:00Z' }]);
    expect(root.warnings?.length).toBe(1);
  });

  it('accepts an expired cache with the repository out of reach', async () => {
    (await repository()).publish({ expires: { timestamp: new Date('2026-07-01T00:00:00Z'), snapshot: new Date('2026-07-01T00:00:00Z') } });
    await (await client()).initialise();
    await served?.close();
    served = undefined;
    vi.setSystemTime(new Date('2026-08-01T00:00:00Z'));
    await expect((await client()).load()).rejects.toMatchObject({ code: 'TRUST_METADATA_EXPIRED' });
    const root = await (await client(true)).load();
    expect(root.expiredMetadataAccepted?.map((e) => e.role)).toEqual(['timestamp', 'snapshot']);
  });

  it('never accepts what fails any other check', async () => {
    (await repository()).publish({ expires: { timestamp: PAST }, timestampSigners: [tufKey()] });
    await expect((await client(true)).initialise()).rejects.toMatchObject({ code: 'TRUST_METADATA_UNSIGNED' });
  });

  it('never accepts a tampered target', async () => {
    (await repository()).publish({ expires: { timestamp: PAST } });
    served = await serveRepository(repo);
    served.overrides.set(`targets/${sha256(TRUSTED_ROOT)}.trusted_root.json`, readFileSync(OTHER_TRUSTED_ROOT));
    await expect((await client(true)).initialise()).rejects.toMatchObject({ code: 'TRUST_TARGET_MISMATCH' });
  });
});
