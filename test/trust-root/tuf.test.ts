import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { trustSourceFrom } from '../../src/trust-root/index.ts';
import { describeInterop, interopAvailable } from '../helpers/interop.ts';
import {
  PUBLIC_GOOD_BEFORE_EXPIRY,
  PUBLIC_GOOD_ROOT_V1,
  PUBLIC_GOOD_TIMESTAMP_EXPIRES,
  ROOT_SIGNING,
  type ServedRepository,
  publicGoodRepositoryFiles,
  serveRepository,
  writeFiles,
} from '../helpers/tuf/index.ts';

/**
 * The real public-good TUF repository (interop README §4), as a loopback
 * mirror and as a directory, through our TUF client. Its timestamp expired on
 * 2026-08-28 and root version 15 on 2026-11-20: refused as expired today,
 * accepted with a clock before 2026-08-28.
 */
const AFTER_TIMESTAMP_EXPIRY = new Date('2026-09-01T00:00:00Z');
const trustedRootDigest = (): string => `sha256:${createHash('sha256').update(readFileSync(join(ROOT_SIGNING(), 'targets', 'trusted_root.json'))).digest('hex')}`;

let work: string;
let served: ServedRepository;
let files = new Map<string, Buffer>();

beforeAll(async () => {
  if (!interopAvailable) return;
  work = await mkdtemp(join(tmpdir(), 'sigverify-tuf-pg-'));
  files = publicGoodRepositoryFiles();
  await writeFiles(join(work, 'repository'), files);
  served = await serveRepository({ files: () => files });
});

afterAll(async () => {
  if (!interopAvailable) return;
  await served.close();
  await rm(work, { recursive: true, force: true });
});

afterEach(() => {
  vi.useRealTimers();
  served.requests.splice(0);
});

const directory = (cache: string, allowExpiredMetadataUnsafe = false) =>
  trustSourceFrom({ source: 'tuf-directory', path: join(work, 'repository'), root: PUBLIC_GOOD_ROOT_V1(), cacheDir: join(work, cache), ...(allowExpiredMetadataUnsafe ? { allowExpiredMetadataUnsafe } : {}) });

describeInterop('public-good TUF repository served from a directory', () => {
  it('is refused as expired at today\'s date', async () => {
    await expect(directory('today').load()).rejects.toMatchObject({ code: 'TRUST_METADATA_EXPIRED', kind: 'unavailable' });
  });

  it('is accepted with a clock before 2026-08-28: root walked from version 1 to 15', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: PUBLIC_GOOD_BEFORE_EXPIRY });
    const root = await directory('before').load();
    expect(root.digest).toBe(trustedRootDigest());
    expect(root.trustedRoot.tlogs.length).toBeGreaterThanOrEqual(2);
  });

  it('after 2026-08-28 the refusal names the timestamp and its expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: AFTER_TIMESTAMP_EXPIRY });
    await expect(directory('after').load()).rejects.toMatchObject({
      code: 'TRUST_METADATA_EXPIRED',
      details: { role: 'timestamp', version: 762, expires: PUBLIC_GOOD_TIMESTAMP_EXPIRES },
    });
  });

  it('allowExpiredMetadataUnsafe accepts it, and records the expired timestamp', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: AFTER_TIMESTAMP_EXPIRY });
    const root = await directory('unsafe', true).load();
    expect(root.digest).toBe(trustedRootDigest());
    expect(root.expiredMetadataAccepted).toEqual([{ role: 'timestamp', version: 762, expires: PUBLIC_GOOD_TIMESTAMP_EXPIRES }]);
  });
});

describeInterop('public-good TUF repository served from loopback HTTP', () => {
  it('walks the root from version 1 to 15 and yields the signed trusted_root.json', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: PUBLIC_GOOD_BEFORE_EXPIRY });
    const source = trustSourceFrom({ source: 'tuf-mirror', url: served.url, root: PUBLIC_GOOD_ROOT_V1(), cacheDir: join(work, 'http') });
    expect((await source.load()).digest).toBe(trustedRootDigest());
    expect(served.requests).toContain('/15.root.json');
  });

  it('makes no request at all while the cached metadata is fresh', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: PUBLIC_GOOD_BEFORE_EXPIRY });
    const root = await trustSourceFrom({ source: 'tuf-mirror', url: served.url, cacheDir: join(work, 'http') }).load();
    expect(root.digest).toBe(trustedRootDigest());
    expect(served.requests).toEqual([]);
  });

  it('refuses the cache once the timestamp has expired and the mirror has nothing newer', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: AFTER_TIMESTAMP_EXPIRY });
    await expect(trustSourceFrom({ source: 'tuf-mirror', url: served.url, cacheDir: join(work, 'http') }).load()).rejects.toMatchObject({
      code: 'TRUST_METADATA_EXPIRED',
      details: { role: 'timestamp', expires: PUBLIC_GOOD_TIMESTAMP_EXPIRES },
    });
  });

  it('refuses a target whose bytes differ from the signed targets metadata', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: PUBLIC_GOOD_BEFORE_EXPIRY });
    const key = [...files.keys()].find((k) => k.endsWith('.trusted_root.json')) as string;
    const original = files.get(key) as Buffer;
    files.set(key, Buffer.concat([original.subarray(0, -1), Buffer.from(' ')]));
    try {
      const source = trustSourceFrom({ source: 'tuf-mirror', url: served.url, root: join(ROOT_SIGNING(), 'metadata', 'root.json'), cacheDir: join(work, 'tampered') });
      await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_TARGET_MISMATCH' });
    } finally {
      files.set(key, original);
    }
  });
});
