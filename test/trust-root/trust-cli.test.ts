import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runTrust } from '../../src/cli/trust.ts';
import { type TrustStatus, configuredTrustSource, readTrustConfig, trustSourceFromCache } from '../../src/trust-root/index.ts';
import { verifyImage } from '../../src/verify/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { type ServedRepository, TestTufRepository, serveRepository } from '../helpers/tuf/index.ts';

/**
 * `sigverify trust`: init from a private mirror, export the verified
 * repository, carry it to another machine (another cache), init from the
 * directory there and verify with no network at all.
 */
const POLICY = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };
const TRUSTED_ROOT = readFileSync(TEST_TRUSTED_ROOT);
const DIGEST = `sha256:${createHash('sha256').update(TRUSTED_ROOT).digest('hex')}`;

let work: string;
let repo: TestTufRepository;
let served: ServedRepository | undefined;

async function trust(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTrust(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sigverify-trust-cli-'));
  repo = new TestTufRepository();
  repo.setTarget('trusted_root.json', TRUSTED_ROOT);
  repo.publish();
  repo.rotateRoot();
  repo.publish();
  await writeFile(join(work, 'root.json'), repo.rootJson(1));
  served = await serveRepository(repo);
});

afterAll(async () => {
  await served?.close();
  await rm(work, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('trust init, export, and init --from-dir on an air-gapped machine', () => {
  it('init from the mirror records the source in the cache', async () => {
    const run = await trust('init', '--mirror', served?.url ?? '', '--root', join(work, 'root.json'), '--cache', join(work, 'online'));
    expect(run.code).toBe(0);
    expect(await readTrustConfig(join(work, 'online'))).toEqual({ source: 'tuf-mirror', url: served?.url });
    const root = await (await trustSourceFromCache(join(work, 'online')))?.load();
    expect(root?.digest).toBe(DIGEST);
  });

  it('export writes every root version, the other roles and the hash-named target', async () => {
    const run = await trust('export', join(work, 'media'), '--cache', join(work, 'online'));
    expect(run.code).toBe(0);
    const files = (await readdir(join(work, 'media'), { recursive: true })).sort();
    expect(files).toEqual(['1.root.json', '2.root.json', '2.snapshot.json', '2.targets.json', 'targets', `targets/${DIGEST.slice(7)}.trusted_root.json`, 'timestamp.json']);
  });

  it('export refuses a directory that is not empty', async () => {
    expect((await trust('export', join(work, 'media'), '--cache', join(work, 'online'))).code).toBe(2);
  });

  it('init --from-dir into another cache, then verification with no network at all', async () => {
    await served?.close();
    served = undefined;
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockRejectedValue(new Error('no network on this machine'));
    const run = await trust('init', '--from-dir', join(work, 'media'), '--root', join(work, 'root.json'), '--cache', join(work, 'offline'));
    expect(run.code).toBe(0);
    expect(await readTrustConfig(join(work, 'offline'))).toEqual({ source: 'tuf-directory', path: join(work, 'media') });

    const result = await verifyImage(`oci:${FIXTURE_LAYOUT}:signed`, POLICY, { trust: configuredTrustSource({ cacheDir: join(work, 'offline') }) });
    expect(result.trustRoot.digest).toBe(DIGEST);
    // The removable media is gone; the cache alone carries the trust while it is fresh.
    await rm(join(work, 'media'), { recursive: true });
    const again = await verifyImage(`oci:${FIXTURE_LAYOUT}:signed`, POLICY, { trust: configuredTrustSource({ cacheDir: join(work, 'offline') }) });
    expect(again.verified).toBe(true);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('status reports every role and key, as JSON', async () => {
    const run = await trust('status', '--cache', join(work, 'offline'), '--output', 'json');
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as TrustStatus;
    expect(status.mediaType).toBe('application/vnd.sigverify.trust-status+json;version=1');
    expect(status.tuf?.roles.map((r) => [r.role, r.version, r.state])).toEqual([['root', 2, 'valid'], ['timestamp', 2, 'valid'], ['snapshot', 2, 'valid'], ['targets', 2, 'valid']]);
    expect(status.trustedRoot?.digest).toBe(DIGEST);
    expect(status.keys.map((k) => k.kind).sort()).toEqual(['certificate-authority', 'ct-log', 'timestamp-authority', 'transparency-log']);
    expect(status.error).toBeUndefined();
  });

  it('status warns ahead of expiry', async () => {
    // The fixture CA's validity ends 2036-01-01: within a 20-year warning window.
    const run = await trust('status', '--cache', join(work, 'offline'), '--output', 'json', '--warn-days', '7300');
    const status = JSON.parse(run.stdout) as TrustStatus;
    expect(status.keys.find((k) => k.kind === 'certificate-authority')?.state).toBe('expiring');
    expect(status.warnings.length).toBeGreaterThan(0);
  });

  it('refresh --from-dir takes a newer copy of the repository mounted elsewhere', async () => {
    repo.publish();
    await repo.writeTo(join(work, 'media-2'));
    const run = await trust('refresh', '--cache', join(work, 'offline'), '--from-dir', join(work, 'media-2'));
    expect(run.code).toBe(0);
    const status = JSON.parse((await trust('status', '--cache', join(work, 'offline'), '-o', 'json')).stdout) as TrustStatus;
    expect(status.tuf?.roles.find((r) => r.role === 'timestamp')?.version).toBe(3);
    expect(await readTrustConfig(join(work, 'offline'))).toEqual({ source: 'tuf-directory', path: join(work, 'media-2') });
  });

  it('a failed init leaves the configured source as it was', async () => {
    await mkdir(join(work, 'empty'));
    const run = await trust('init', '--from-dir', join(work, 'empty'), '--root', join(work, 'root.json'), '--cache', join(work, 'offline'));
    expect(run.code).toBe(3);
    expect(await readTrustConfig(join(work, 'offline'))).toEqual({ source: 'tuf-directory', path: join(work, 'media-2') });
  });

  it('status of an expired cache exits 3 and still shows the roles', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2101-01-01T00:00:00Z') });
    try {
      const run = await trust('status', '--cache', join(work, 'offline'), '-o', 'json');
      expect(run.code).toBe(3);
      const status = JSON.parse(run.stdout) as TrustStatus;
      expect(status.error?.code).toBe('TRUST_METADATA_EXPIRED');
      expect(status.tuf?.roles.every((r) => r.state === 'expired')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('trust usage', () => {
  it.each([
    [['init', '--root', 'x']],
    [['init', '--mirror', 'http://127.0.0.1:1', '--from-dir', 'x']],
    [['init', '--public-good', '--root', 'x']],
    [['export']],
    [['status', '--output', 'yaml']],
    [['rotate']],
    [['init', '--mirror', 'ftp://example.test', '--root', 'x', '--cache', '/nonexistent']],
  ])('%j exits 2', async (argv) => {
    expect((await trust(...argv)).code).toBe(2);
  });

  it('help exits 0', async () => {
    expect((await trust('help')).code).toBe(0);
  });
});
