import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { tufTrustRoot } from '../../src/trust-root/index.ts';
import { describeInterop, interopAvailable, interopPath } from '../helpers/interop.ts';

/**
 * The public-good TUF repository (interop README §4), served from loopback as
 * a mirror, read through @sigstore/tuf. Its timestamp expires 2026-08-28, so
 * the clock is fixed before that; after it, the stale metadata is refused.
 */
const ROOT_SIGNING = () => interopPath('root-signing');
const BEFORE_EXPIRY = new Date('2026-08-22T00:00:00Z');
const AFTER_EXPIRY = new Date('2026-09-01T00:00:00Z');

function mirrorFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const meta = (f: string) => readFileSync(join(ROOT_SIGNING(), 'metadata', f));
  for (const name of readdirSync(join(ROOT_SIGNING(), 'metadata', 'root_history'))) {
    files.set(`/${name}`, readFileSync(join(ROOT_SIGNING(), 'metadata', 'root_history', name)));
  }
  files.set('/timestamp.json', meta('timestamp.json'));
  files.set('/165.snapshot.json', meta('snapshot.json'));
  files.set('/14.targets.json', meta('targets.json'));
  for (const name of readdirSync(join(ROOT_SIGNING(), 'targets'))) {
    const bytes = readFileSync(join(ROOT_SIGNING(), 'targets', name));
    files.set(`/targets/${createHash('sha256').update(bytes).digest('hex')}.${name}`, bytes);
  }
  return files;
}

let server: Server;
let mirrorUrl: string;
let requests: string[] = [];
let files = new Map<string, Buffer>();
let cacheDir: string;

beforeAll(async () => {
  if (!interopAvailable) return;
  files = mirrorFiles();
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirrorUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cacheDir = await mkdtemp(join(tmpdir(), 'sigverify-tuf-'));
});

afterAll(async () => {
  if (!interopAvailable) return;
  await new Promise((resolve) => server.close(resolve));
  await rm(cacheDir, { recursive: true, force: true });
});

afterEach(() => {
  vi.useRealTimers();
  requests = [];
});

describeInterop('public-good TUF repository through @sigstore/tuf', () => {
  it('walks the root from version 1 to 15 and yields the signed trusted_root.json', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: BEFORE_EXPIRY });
    const source = tufTrustRoot({ mirrorUrl, rootPath: join(ROOT_SIGNING(), 'metadata', 'root_history', '1.root.json'), cachePath: cacheDir });
    const root = await source.load();
    const expected = createHash('sha256').update(readFileSync(join(ROOT_SIGNING(), 'targets', 'trusted_root.json'))).digest('hex');
    expect(root.digest).toBe(`sha256:${expected}`);
    expect(root.trustedRoot.tlogs.length).toBeGreaterThan(0);
    expect(requests).toContain('/15.root.json');
  });

  it('makes no request at all while the cached metadata is fresh', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: BEFORE_EXPIRY });
    const root = await tufTrustRoot({ mirrorUrl, cachePath: cacheDir }).load();
    expect(root.digest).toMatch(/^sha256:/);
    expect(requests).toEqual([]);
  });

  it('refuses expired metadata (the real timestamp expired 2026-08-28) with TRUST_ROOT_UNAVAILABLE', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: AFTER_EXPIRY });
    await expect(tufTrustRoot({ mirrorUrl, cachePath: cacheDir }).load()).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
  });

  it('refuses a target whose bytes differ from the signed targets metadata', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: BEFORE_EXPIRY });
    const fresh = await mkdtemp(join(tmpdir(), 'sigverify-tuf-'));
    const key = [...files.keys()].find((k) => k.endsWith('.trusted_root.json')) as string;
    const original = files.get(key) as Buffer;
    files.set(key, Buffer.concat([original, Buffer.from(' ')]));
    try {
      const source = tufTrustRoot({ mirrorUrl, rootPath: join(ROOT_SIGNING(), 'metadata', 'root.json'), cachePath: fresh });
      await expect(source.load()).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
    } finally {
      files.set(key, original);
      await rm(fresh, { recursive: true, force: true });
    }
  });
});
