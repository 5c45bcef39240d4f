/**
 * Issue 2 figures: one in-process verification from the loopback registry
 * (warm: trust root loaded, verifier reused), and the cold wall time of one
 * `sigverify verify` process, each against a baseline measured in the same run.
 *
 * Run: npm run bench:verify   (needs /usr/bin/docker-registry and a build)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { trustedRootFile } from '../src/trust-root/index.ts';
import { ImageVerifier } from '../src/verify/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, REPO_ROOT, TEST_TRUSTED_ROOT, fixtureDigest } from '../test/helpers/fixtures.ts';
import { startRegistry } from '../test/helpers/registry/docker-registry.ts';
import { pushLayoutAll } from '../test/helpers/registry/push.ts';
import { legacyLayerToBundleV01, readLegacySignatureLayers } from '../test/helpers/sigstore/index.ts';

const WARM_RUNS = Number(process.env['BENCH_WARM_RUNS'] ?? 200);
const COLD_RUNS = Number(process.env['BENCH_COLD_RUNS'] ?? 15);

function stats(samples: number[]): { median: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { median: at(0.5), p95: at(0.95) };
}

async function time(runs: number, fn: () => unknown): Promise<{ median: number; p95: number }> {
  for (let i = 0; i < Math.min(10, runs); i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return stats(samples);
}

function timeProcess(runs: number, args: string[]): { median: number; p95: number } {
  const samples: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const start = performance.now();
    const run = spawnSync(process.execPath, args, { cwd: REPO_ROOT, env: { PATH: process.env['PATH'], HOME: '/nonexistent' } });
    const elapsed = performance.now() - start;
    if (run.status !== 0) throw new Error(`${args.join(' ')} exited ${run.status}: ${run.stderr.toString()}`);
    if (i >= 2) samples.push(elapsed);
  }
  return stats(samples);
}

const registry = await startRegistry();
try {
  await pushLayoutAll(registry.url, 'fixtures', FIXTURE_LAYOUT);
  const image = `${registry.host}/fixtures:signed`;
  const digest = fixtureDigest('signed');

  // 1. Warm in-process verification, and its floors measured now.
  const verifier = await ImageVerifier.create({ certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER }, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
  const warm = await time(WARM_RUNS, () => verifier.verify(image));
  // The same for a cosign v3 signature: a bundle found through the referrers fallback tag.
  const warmBundle = await time(WARM_RUNS, () => verifier.verify(`${registry.host}/fixtures:bundle-signed`));

  // Floor A: the three GETs a legacy verification by tag cannot avoid.
  const sigTag = `sha256-${digest.slice(7)}.sig`;
  const [layer] = await readLegacySignatureLayers(FIXTURE_LAYOUT, digest);
  if (layer === undefined) throw new Error('fixture has no signature');
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json' };
  const payloadDigest = `sha256:${(await import('node:crypto')).createHash('sha256').update(layer.payload).digest('hex')}`;
  const requests = await time(WARM_RUNS, async () => {
    await (await fetch(`${registry.url}/v2/fixtures/manifests/signed`, { headers: accept })).arrayBuffer();
    await (await fetch(`${registry.url}/v2/fixtures/manifests/${sigTag}`, { headers: accept })).arrayBuffer();
    await (await fetch(`${registry.url}/v2/fixtures/blobs/${payloadDigest}`)).arrayBuffer();
  });

  // Floor B: bare @sigstore/verify on the equivalent bundle, one reused Verifier.
  const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(TEST_TRUSTED_ROOT, 'utf8')));
  const bare = new Verifier(toTrustMaterial(root));
  const bundleJson = legacyLayerToBundleV01(layer);
  const sigstoreJs = await time(WARM_RUNS, () => bare.verify(toSignedEntity(bundleFromJSON(bundleJson), layer.payload)));

  // 2. Cold CLI process, against node starting and importing @sigstore/verify.
  const cliArgs = [join('dist', 'cli', 'bin.js'), 'verify', image, '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', TEST_TRUSTED_ROOT];
  const cold = timeProcess(COLD_RUNS, cliArgs);
  const nodeFloor = timeProcess(COLD_RUNS, ['--input-type=module', '-e', "await import('@sigstore/verify')"]);

  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const floor = requests.median + sigstoreJs.median;
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; warm runs ${WARM_RUNS}, cold runs ${COLD_RUNS}`);
  console.log('| measurement | median | p95 | ratio |');
  console.log('|---|---|---|---|');
  console.log(`| sigverify in-process verify (loopback registry, warm) | ${ms(warm.median)} | ${ms(warm.p95)} | ${(warm.median / floor).toFixed(2)}× of floor A+B |`);
  console.log(`| sigverify in-process verify, cosign v3 bundle (referrers fallback tag, warm) | ${ms(warmBundle.median)} | ${ms(warmBundle.p95)} | ${(warmBundle.median / warm.median).toFixed(2)}× of the legacy verify |`);
  console.log(`| floor A: 3 registry GETs (manifest, .sig manifest, payload blob) | ${ms(requests.median)} | ${ms(requests.p95)} | |`);
  console.log(`| floor B: bare @sigstore/verify Verifier.verify, same bundle | ${ms(sigstoreJs.median)} | ${ms(sigstoreJs.p95)} | |`);
  console.log(`| sigverify verify, cold process | ${ms(cold.median)} | ${ms(cold.p95)} | ${(cold.median / nodeFloor.median).toFixed(2)}× of node + import |`);
  console.log(`| node start + import('@sigstore/verify') | ${ms(nodeFloor.median)} | ${ms(nodeFloor.p95)} | |`);
} finally {
  await registry.stop();
}
