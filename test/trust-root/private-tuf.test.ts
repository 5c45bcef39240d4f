import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/limits.ts';
import { type TufTrustSource, trustSourceFrom, tufTrustSource } from '../../src/trust-root/index.ts';
import { verifyImage } from '../../src/verify/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, OTHER_TRUSTED_ROOT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { type ServedRepository, TestTufRepository, serveRepository, writeFiles } from '../helpers/tuf/index.ts';

/**
 * A private Sigstore's TUF repository (test keys, consistent snapshots)
 * serving the fixture Sigstore's trusted_root.json, from loopback HTTP and
 * from a directory, through the one TUF client.
 */
const POLICY = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };
const TRUSTED_ROOT = readFileSync(TEST_TRUSTED_ROOT);
const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let work: string;
let repo: TestTufRepository;
let served: ServedRepository | undefined;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'sigverify-private-tuf-'));
  repo = new TestTufRepository();
  repo.setTarget('trusted_root.json', TRUSTED_ROOT);
  repo.publish();
  await writeFile(join(work, 'root.json'), repo.rootJson(1));
});

afterEach(async () => {
  vi.useRealTimers();
  await served?.close();
  served = undefined;
  await rm(work, { recursive: true, force: true });
});

async function mirror(options: { allowExpiredMetadataUnsafe?: boolean; cache?: string } = {}): Promise<TufTrustSource> {
  served ??= await serveRepository(repo);
  return tufTrustSource({ source: 'tuf-mirror', url: served.url, root: join(work, 'root.json'), cacheDir: options.cache ?? join(work, 'cache'), ...options });
}

describe('a private TUF mirror over loopback HTTP', () => {
  it('yields the signed trusted_root.json, and images its Sigstore signed verify through it', async () => {
    const source = await mirror();
    const root = await source.initialise();
    expect(root.digest).toBe(sha256(TRUSTED_ROOT));
    expect(root.expiredMetadataAccepted).toBeUndefined();
    const result = await verifyImage(`oci:${FIXTURE_LAYOUT}:signed`, POLICY, { trust: source });
    expect(result.verified).toBe(true);
  });

  it('refuses images signed by another Sigstore', async () => {
    const source = await mirror();
    await expect(verifyImage(`oci:${FIXTURE_LAYOUT}:signed-other-sigstore`, POLICY, { trust: source })).rejects.toMatchObject({ code: 'NO_MATCHING_SIGNATURE' });
  });

  it('makes no request while the cached metadata is unexpired, and re-verifies the cache', async () => {
    const source = await mirror();
    await source.load();
    served?.requests.splice(0);
    const again = await source.load();
    expect(again.digest).toBe(sha256(TRUSTED_ROOT));
    expect(served?.requests).toEqual([]);
  });

  it('picks up a new trusted_root.json on refresh', async () => {
    const source = await mirror();
    await source.load();
    const other = readFileSync(OTHER_TRUSTED_ROOT);
    repo.setTarget('trusted_root.json', other);
    repo.publish();
    expect((await source.load()).digest).toBe(sha256(TRUSTED_ROOT));
    expect((await source.refresh()).digest).toBe(sha256(other));
    expect((await source.load()).digest).toBe(sha256(other));
  });

  it('needs an initial root: TRUST_ROOT_UNAVAILABLE until initialised', async () => {
    served = await serveRepository(repo);
    const source = tufTrustSource({ source: 'tuf-mirror', url: served.url, cacheDir: join(work, 'cache') });
    await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
  });

  it('refuses a cache whose root does not descend from the configured initial root', async () => {
    const source = await mirror();
    await source.load();
    const stranger = new TestTufRepository();
    await writeFile(join(work, 'root.json'), stranger.rootJson(1));
    await expect((await mirror()).load()).rejects.toMatchObject({ code: 'TRUST_METADATA_UNSIGNED' });
  });

  it('an unreachable repository with nothing cached: TRUST_ROOT_UNAVAILABLE', async () => {
    const source = tufTrustSource({ source: 'tuf-mirror', url: 'http://127.0.0.1:9', root: join(work, 'root.json'), cacheDir: join(work, 'cache') }, { limits: { ...DEFAULT_LIMITS, retryBaseDelayMs: 1 } });
    await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
  });
});

describe('the HTTP fetcher', () => {
  it('follows no redirect to another origin: TRUST_ROOT_UNAVAILABLE', async () => {
    served = await serveRepository(repo);
    const target = served.url;
    const redirector = createServer((req, res) => res.writeHead(302, { location: `${target}${req.url ?? '/'}` }).end());
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
      const source = tufTrustSource({ source: 'tuf-mirror', url, root: join(work, 'root.json'), cacheDir: join(work, 'cache') });
      await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
      expect(served.requests).toEqual([]);
    } finally {
      await new Promise((resolve) => redirector.close(resolve));
    }
  });

  it('caps each role\'s metadata (Limits.maxTufTimestampBytes): TRUST_METADATA_INVALID', async () => {
    served = await serveRepository(repo);
    const source = tufTrustSource(
      { source: 'tuf-mirror', url: served.url, root: join(work, 'root.json'), cacheDir: join(work, 'cache') },
      { limits: { ...DEFAULT_LIMITS, maxTufTimestampBytes: 64 } },
    );
    await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_METADATA_INVALID', details: { role: 'timestamp' } });
  });
});

describe('a TUF repository directory', () => {
  it('verifies with the full client workflow and never touches the network', async () => {
    const dir = join(work, 'media');
    await repo.writeTo(dir);
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const source = trustSourceFrom({ source: 'tuf-directory', path: dir, root: join(work, 'root.json'), cacheDir: join(work, 'cache') });
    const result = await verifyImage(`oci:${FIXTURE_LAYOUT}:signed`, POLICY, { trust: source });
    expect(result.trustRoot.digest).toBe(sha256(TRUSTED_ROOT));
    expect(fetchSpy).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
  });

  it('a file missing from the directory: TRUST_ROOT_UNAVAILABLE', async () => {
    const dir = join(work, 'media');
    const files = repo.files();
    files.delete('timestamp.json');
    await writeFiles(dir, files);
    const source = tufTrustSource({ source: 'tuf-directory', path: dir, root: join(work, 'root.json'), cacheDir: join(work, 'cache') });
    await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
  });

  it('records the root history it walked', async () => {
    repo.rotateRoot();
    repo.publish();
    const dir = join(work, 'media');
    await repo.writeTo(dir);
    const source = tufTrustSource({ source: 'tuf-directory', path: dir, root: join(work, 'root.json'), cacheDir: join(work, 'cache') });
    await source.load();
    expect(await readFile(join(source.cachePath, 'root-history', '2.root.json'))).toEqual(repo.rootJson(2));
    expect((await source.cachedMetadata()).roles.map((r) => [r.role, r.version])).toEqual([['root', 2], ['timestamp', 2], ['snapshot', 2], ['targets', 2]]);
  });
});
