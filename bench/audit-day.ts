/**
 * Issue 5 figures: a day's worth of simulated processor runs — 10,000 gate
 * calls on 20 signed algorithm images from the real docker-registry on
 * loopback, with the result cache (5-minute TTL) and the hash-chained audit
 * trail — then the trail's size and the time `audit verify` takes.
 * The clock advances 8.64 s per call (10,000 calls over 24 h).
 * Run: npm run bench:audit-day   (needs /usr/bin/docker-registry)
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuditLog, summarizeAuditLog, verifyAuditLog } from '../src/audit/index.ts';
import { ResultCache } from '../src/cache/index.ts';
import { ModuleGate } from '../src/processor/index.ts';
import { trustedRootFile } from '../src/trust-root/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, TEST_TRUSTED_ROOT } from '../test/helpers/fixtures.ts';
import { startRegistry } from '../test/helpers/registry/docker-registry.ts';
import { pushLayoutAll } from '../test/helpers/registry/push.ts';
import {
  keylessSigner,
  loadFixtureSigstore,
  makeImage,
  makeSignatureManifest,
  signLegacyLayer,
  signatureTag,
  simpleSigningPayload,
  writeOciLayout,
} from '../test/helpers/sigstore/index.ts';

const IMAGES = 20;
const CALLS = Number(process.env['BENCH_CALLS'] ?? 10_000);
const DAY_MS = 24 * 3600 * 1000;

const work = await mkdtemp(join(tmpdir(), 'sigverify-audit-day-'));
const registry = await startRegistry();
try {
  // 20 distinct signed algorithm images, signed now by the fixture Sigstore.
  const sigstore = await loadFixtureSigstore('test', { firstLogIndex: 100_000 });
  const entries = [];
  for (let i = 0; i < IMAGES; i++) {
    const image = makeImage(`algorithm-${i}`);
    const signer = keylessSigner(sigstore, { san: { kind: 'uri', value: FIXTURE_IDENTITY }, issuer: FIXTURE_ISSUER });
    const payload = simpleSigningPayload({ dockerReference: `${registry.host}/algorithms`, digest: image.digest });
    entries.push({ object: image, tag: `algo-${i}` }, { object: makeSignatureManifest([signLegacyLayer({ payload, signer, rekor: sigstore.rekor })]), tag: signatureTag(image.digest) });
  }
  await writeOciLayout(join(work, 'layout'), entries);
  await pushLayoutAll(registry.url, 'algorithms', join(work, 'layout'));

  let now = Date.parse('2026-11-24T00:00:00Z');
  const clock = () => now;
  const auditPath = join(work, 'audit.jsonl');
  const gate = new ModuleGate({ trust: trustedRootFile(TEST_TRUSTED_ROOT), cache: new ResultCache({ ttlMs: 5 * 60 * 1000, now: clock }), audit: new AuditLog(auditPath), clock });
  const modules = Array.from({ length: IMAGES }, (_, i) => ({
    module_name: `algorithm_${i}`,
    docker_tag: `${registry.host}/algorithms:algo-${i}`,
    require_signature: true,
    signature_certificate_identity: FIXTURE_IDENTITY,
    signature_certificate_oidc_issuer: FIXTURE_ISSUER,
    network_mode: 'none',
  }));

  const started = performance.now();
  let cached = 0;
  for (let call = 0; call < CALLS; call++) {
    const result = await gate.check(modules[call % IMAGES]);
    if (result.cached) cached++;
    now += DAY_MS / CALLS;
  }
  const gateMs = performance.now() - started;

  const size = (await stat(auditPath)).size;
  const verifyStart = performance.now();
  const verification = await verifyAuditLog(auditPath);
  const verifyMs = performance.now() - verifyStart;
  const summaryStart = performance.now();
  const summary = await summarizeAuditLog(auditPath);
  const summaryMs = performance.now() - summaryStart;

  console.log(`| measurement | value |`);
  console.log(`|---|---|`);
  console.log(`| gate calls / images | ${CALLS} / ${IMAGES} |`);
  console.log(`| of which cache hits | ${cached} (${((100 * cached) / CALLS).toFixed(1)} %) |`);
  console.log(`| wall time for all calls | ${(gateMs / 1000).toFixed(2)} s (${(gateMs / CALLS).toFixed(2)} ms per call) |`);
  console.log(`| audit trail | ${verification.records} records, ${(size / 1024 / 1024).toFixed(2)} MiB (${Math.round(size / CALLS)} bytes per record) |`);
  console.log(`| audit verify | ${verification.ok ? 'chain intact' : 'BROKEN'}, ${verifyMs.toFixed(0)} ms |`);
  console.log(`| audit summary | ${summaryMs.toFixed(0)} ms; ${JSON.stringify(summary.decisions)} |`);
  const d = summary.durationMs;
  const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(2)} ms`);
  console.log(`| gate duration p50 / p95, all (from the trail) | ${fmt(d.all.p50)} / ${fmt(d.all.p95)} |`);
  console.log(`| … cache hits | ${fmt(d.cached.p50)} / ${fmt(d.cached.p95)} |`);
  console.log(`| … verified without the cache | ${fmt(d.uncached.p50)} / ${fmt(d.uncached.p95)} |`);
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
