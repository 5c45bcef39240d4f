import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  PUBLIC_GOOD_ROOT,
  type TrustConfig,
  configuredTrustSource,
  isTufTrustSource,
  parseTrustConfig,
  recordTrustConfig,
  resolveConfiguredTrust,
  trustSourceFrom,
  tufTrustSource,
  trustSourceFromCache,
  tufSourceId,
} from '../../src/trust-root/index.ts';
import { REPO_ROOT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { describeInterop } from '../helpers/interop.ts';
import { PUBLIC_GOOD_BEFORE_EXPIRY, ROOT_SIGNING, publicGoodRepositoryFiles } from '../helpers/tuf/index.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sigverify-trust-config-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('TrustConfig', () => {
  it.each([
    ['an unknown source', { source: 'keyless' }],
    ['a mirror without a URL', { source: 'tuf-mirror', root: 'root.json' }],
    ['a mirror that is not http(s)', { source: 'tuf-mirror', url: 'file:///srv/tuf' }],
    ['an unknown field', { source: 'public-good', mirror: 'https://example.test' }],
    ['the TUF opt-out on a pinned trusted_root.json', { source: 'trusted-root', path: 'x.json', allowExpiredMetadataUnsafe: true }],
    ['a CA without validFor', { source: 'assembled', fulcio: [{ certChain: 'ca.pem' }] }],
  ])('refuses %s with TRUST_CONFIG_INVALID', (_name, value) => {
    expect(() => parseTrustConfig(value)).toThrow(expect.objectContaining({ code: 'TRUST_CONFIG_INVALID', kind: 'usage' }));
  });

  it('each TUF repository caches in its own directory', () => {
    expect(tufSourceId({ source: 'public-good' })).toBe('public-good');
    expect(tufSourceId({ source: 'tuf-directory', path: '/media/usb0' })).toBe(tufSourceId({ source: 'tuf-directory', path: '/media/usb1' }));
    const mirror = tufSourceId({ source: 'tuf-mirror', url: 'https://tuf.hospital.example:8443/sigstore' });
    expect(mirror).toMatch(/^mirror-tuf\.hospital\.example-8443-[0-9a-f]{8}$/);
    expect(tufSourceId({ source: 'tuf-mirror', url: 'https://tuf.hospital.example:8443/other' })).not.toBe(mirror);
  });

  it('selects the pinned trusted_root.json', async () => {
    const source = trustSourceFrom({ source: 'trusted-root', path: TEST_TRUSTED_ROOT });
    expect(isTufTrustSource(source)).toBe(false);
    expect((await source.load()).digest).toMatch(/^sha256:/);
  });

  it('the public-good source starts from the pinned root shipped in trust-root/', () => {
    expect(PUBLIC_GOOD_ROOT).toBe(join(REPO_ROOT, 'trust-root', 'public-good', 'root.json'));
    const source = tufTrustSource({ source: 'public-good', cacheDir: join(work, 'pg') });
    expect(source.description).toBe('TUF repository https://tuf-repo-cdn.sigstore.dev/');
    expect(source.cachePath).toBe(join(work, 'pg', 'public-good'));
  });

  it('records the configured source without per-run settings, with absolute paths', async () => {
    const cacheDir = join(work, 'recorded');
    const config: TrustConfig = { source: 'tuf-directory', path: 'relative/media', root: 'root.json', allowExpiredMetadataUnsafe: true, cacheDir: '/elsewhere' };
    expect(await recordTrustConfig(cacheDir, config)).toEqual({ source: 'tuf-directory', path: join(process.cwd(), 'relative', 'media') });
    const resolved = await resolveConfiguredTrust({ cacheDir });
    expect(resolved.config).toEqual({ source: 'tuf-directory', path: join(process.cwd(), 'relative', 'media'), cacheDir });
    expect((await trustSourceFromCache(cacheDir))?.description).toBe(`TUF repository directory ${join(process.cwd(), 'relative', 'media')}`);
  });

  it('without a recorded source, the public good', async () => {
    const resolved = await resolveConfiguredTrust({ cacheDir: join(work, 'nothing-recorded') });
    expect(resolved.config).toEqual({ source: 'public-good', cacheDir: join(work, 'nothing-recorded') });
    expect(await trustSourceFromCache(join(work, 'nothing-recorded'))).toBeUndefined();
  });

  it('a damaged record is refused, not ignored', async () => {
    const cacheDir = join(work, 'damaged');
    await recordTrustConfig(cacheDir, { source: 'public-good' });
    await writeFile(join(cacheDir, 'config.json'), (await readFile(join(cacheDir, 'config.json'), 'utf8')).replace('public-good', 'public-bad'));
    await expect(configuredTrustSource({ cacheDir }).load()).rejects.toMatchObject({ code: 'TRUST_CONFIG_INVALID' });
  });
});

describeInterop('the public-good source, through an injected fetch', () => {
  it('anchors to the pinned root and verifies the real repository', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: PUBLIC_GOOD_BEFORE_EXPIRY });
    const files = publicGoodRepositoryFiles();
    const requests: string[] = [];
    // The CDN, answered from the interop copy: no network.
    const fetchCdn = (input: string | URL | Request): Promise<Response> => {
      const url = new URL(input instanceof Request ? input.url : input);
      requests.push(url.pathname);
      const body = url.origin === 'https://tuf-repo-cdn.sigstore.dev' ? files.get(url.pathname.slice(1)) : undefined;
      return Promise.resolve(new Response(body === undefined ? null : new Uint8Array(body), { status: body === undefined ? 404 : 200 }));
    };
    const source = trustSourceFrom({ source: 'public-good', cacheDir: join(work, 'cdn') }, { fetch: fetchCdn });
    const root = await source.load();
    const expected = createHash('sha256').update(readFileSync(join(ROOT_SIGNING(), 'targets', 'trusted_root.json'))).digest('hex');
    expect(root.digest).toBe(`sha256:${expected}`);
    // The pinned root is version 16: the walk starts after it.
    expect(requests[0]).toBe('/17.root.json');
    expect(readFileSync(PUBLIC_GOOD_ROOT)).toEqual(await readFile(join(work, 'cdn', 'public-good', 'root-history', '16.root.json')));
  });
});
