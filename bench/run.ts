/**
 * `npm run bench`: the issue-6 figures, each against a baseline measured in
 * the same run (house style: performance is measured, not asserted in tests).
 *
 * Starts Debian's docker-registry on loopback, mints BENCH_IMAGES distinct
 * signed images per format with the private test Sigstore (legacy `.sig`
 * keyless, and cosign v3 bundles as OCI referrers) and pushes them, then:
 *
 *   1 warm       in-process verification from the registry (one ImageVerifier, no result cache)
 *   2 cpu        CPU per signature already in memory: sigverify vs bare @sigstore/verify vs the ECDSA floor
 *   3 cold       one `sigverify verify` process vs `node` + import vs the sigstore-js CLI
 *   4 throughput all images, 2 worker threads, bounded concurrency; verifications/s and peak RSS
 *   5 requests   HTTP requests per verification and format, connection reuse, TUF requests
 *   6 cache      a ResultCache hit, and a ModuleGate.check cache hit
 *
 * Writes bench/results/results.md, results.json and latency.svg; the table
 * goes to stdout, progress to stderr.
 *
 *   npm run bench [-- --only=warm,cold] [-- --images=N]
 *   env: BENCH_IMAGES (1000), BENCH_WARM_RUNS (200), BENCH_CPU_RUNS (300), BENCH_COLD_RUNS (12),
 *        BENCH_WORKERS (2), BENCH_IN_FLIGHT (8 per worker), BENCH_YOUNG_MB (8, each worker's
 *        young generation; 0 for V8's default), BENCH_MALLOC_ARENAS (2; 0 leaves glibc's default)
 */
import { execFile } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire, stripTypeScriptTypes } from 'node:module';
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { ImageVerifier, ModuleGate, ResultCache, type VerificationResult, trustedRootFile } from '../src/index.ts';
import { discoverBundles, discoverLegacySignatures, type BundleCandidate, type LegacyCandidate } from '../src/discovery/index.ts';
import { DEFAULT_LIMITS } from '../src/limits.ts';
import { sha256Digest } from '../src/reference/index.ts';
import { type FormatContext, verifyCandidate } from '../src/verify/formats/index.ts';
import { createSigstoreVerifier } from '../src/verify/sigstore.ts';
import { VERSION } from '../src/version.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, REPO_ROOT, TEST_TRUSTED_ROOT } from '../test/helpers/fixtures.ts';
import { startRegistry, type RunningRegistry } from '../test/helpers/registry/docker-registry.ts';
import { bundleBytes, legacyLayerToBundleV01, referrersTag, signatureTag, writeOciLayout } from '../test/helpers/sigstore/index.ts';
import { bundleFloor, legacyFloor, runChecks, type EcdsaCheck } from './lib/floor.ts';
import { cpuTime, processTime, progress, wallTime, type ProcessRun, type Series } from './lib/measure.ts';
import { MemoryStore } from './lib/memory-store.ts';
import { BENCH_REPOSITORY, FORMATS, contentOf, createMinter, pushImages, type Format, type MintedImage } from './lib/mint.ts';
import { markdownTable, met, mib, ms, ratio, svgChart, type ChartPanel, type ChartSeries, type Row } from './lib/report.ts';
import { setUpSigstoreCli, type SigstoreCliSetup } from './lib/sigstore-cli.ts';
import { setUpSigstoreGo, toolBinary } from './lib/peer-tools.ts';
import { startOlareg } from './lib/olareg.ts';
import { buildExecutable } from '../packaging/sea.ts';
import type { ThroughputConfig, ThroughputResult } from './throughput.ts';

// ---------------------------------------------------------------------------
// Configuration

const SECTIONS = ['warm', 'cpu', 'cold', 'throughput', 'requests', 'cache'] as const;
type Section = (typeof SECTIONS)[number];

function argument(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.slice(2).find((a) => a.startsWith(prefix))?.slice(prefix.length);
}
const unknownArgs = process.argv.slice(2).filter((a) => !/^--(only|images)=/.test(a));
if (unknownArgs.length > 0) throw new Error(`unknown arguments ${unknownArgs.join(' ')} (usage: bench/run.ts [--only=${SECTIONS.join(',')}] [--images=N])`);
const only = argument('only')?.split(',');
for (const s of only ?? []) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section ${s} (sections: ${SECTIONS.join(', ')})`);
const selected = new Set<Section>((only as Section[] | undefined) ?? SECTIONS);
const envNumber = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

const CONFIG = {
  imagesPerFormat: Number(argument('images') ?? envNumber('BENCH_IMAGES', selected.has('throughput') ? 1000 : 0)),
  warmRuns: envNumber('BENCH_WARM_RUNS', 200),
  cpuRuns: envNumber('BENCH_CPU_RUNS', 300),
  coldRuns: envNumber('BENCH_COLD_RUNS', 12),
  warmup: 20,
  workers: envNumber('BENCH_WORKERS', 2),
  inFlightPerWorker: envNumber('BENCH_IN_FLIGHT', 8),
  /**
   * Each throughput worker's V8 young generation, MiB (0: V8's default, which
   * sizes it for a large host). 8 MiB: the scavenger runs more often, on a
   * young generation that holds little beyond the verifications in flight.
   */
  youngGenerationMb: envNumber('BENCH_YOUNG_MB', 8),
  /**
   * glibc malloc arenas of the throughput process (MALLOC_ARENA_MAX): glibc
   * gives each thread its own arenas, and freed socket and crypto buffers stay
   * spread over them; two arenas for two workers keep RSS near what is live.
   */
  mallocArenas: envNumber('BENCH_MALLOC_ARENAS', 2),
  pushConcurrency: 16,
  requestRuns: 20,
  connectionRuns: 50,
  cacheRuns: 20_000,
  gateRuns: 300,
};

/**
 * Each in-process section verifies its own images, so that nothing one
 * section did (a cache, a parsed certificate) can make another's look cheaper.
 */
const SECTION_IMAGES: Record<Section, number> = {
  warm: CONFIG.warmup + CONFIG.warmRuns,
  // Twice: the whole-image measurement verifies images of its own.
  cpu: 2 * (CONFIG.warmup + CONFIG.cpuRuns),
  requests: CONFIG.requestRuns + CONFIG.connectionRuns,
  cache: 1,
  cold: 1,
  throughput: 0,
};
const ranges = new Map<Section, { start: number; count: number }>();
{
  let start = 0;
  for (const section of SECTIONS) {
    if (!selected.has(section) || section === 'throughput') continue;
    ranges.set(section, { start, count: SECTION_IMAGES[section] });
    start += SECTION_IMAGES[section];
  }
  CONFIG.imagesPerFormat = Math.max(CONFIG.imagesPerFormat, start);
}
function imagesOf(section: Section, images: readonly MintedImage[]): MintedImage[] {
  const range = ranges.get(section);
  if (range === undefined) throw new Error(`section ${section} has no images`);
  return images.slice(range.start, range.start + range.count);
}

const POLICY = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };
const LABEL: Record<Format, string> = { legacy: 'legacy .sig', bundle: 'cosign v3 bundle' };
const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json';

const require = createRequire(import.meta.url);
const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

// ---------------------------------------------------------------------------
// Results

const rows: Row[] = [];
const figures: Record<string, unknown> = {};

/**
 * The issue-16 targets, each a ratio measured side by side in this run.
 * `value` null: not measured (a tool or section missing), never met.
 */
interface Target {
  readonly id: string;
  readonly value: number | null;
  readonly target: string;
  readonly met: boolean;
  /** What the value is the ratio of, in this run's figures. */
  readonly measuredAs: string;
  readonly notMeasured?: string;
}
const TARGETS: ReadonlyArray<{ id: string; target: string; bound: number; direction: 'max' | 'min' }> = [
  { id: 'cold-vs-cosign', target: '≤ 0.5', bound: 0.5, direction: 'max' },
  { id: 'cold-vs-node', target: '≤ 2.0', bound: 2.0, direction: 'max' },
  { id: 'cpu-vs-sigstore-go', target: '≤ 1.0', bound: 1.0, direction: 'max' },
  { id: 'cpu-vs-floor', target: '≤ 2.0', bound: 2.0, direction: 'max' },
  { id: 'registry-cpu-overhead', target: '≤ 1.5', bound: 1.5, direction: 'max' },
  { id: 'layout-throughput', target: '≥ 0.8', bound: 0.8, direction: 'min' },
  { id: 'rss', target: '≤ 200', bound: 200, direction: 'max' },
];
const targets = new Map<string, Target>();
function recordTarget(id: string, value: number, measuredAs: string): void {
  const spec = TARGETS.find((t) => t.id === id);
  if (spec === undefined) throw new Error(`unknown target ${id}`);
  targets.set(id, { id, value: Number(value.toFixed(3)), target: spec.target, met: spec.direction === 'max' ? value <= spec.bound : value >= spec.bound, measuredAs });
}
function targetNotMeasured(id: string, reason: string): void {
  const spec = TARGETS.find((t) => t.id === id);
  if (spec === undefined) throw new Error(`unknown target ${id}`);
  targets.set(id, { id, value: null, target: spec.target, met: false, measuredAs: '', notMeasured: reason });
}
/** Every target, in the issue's order; those no selected section measured say so. */
function targetList(): Target[] {
  return TARGETS.map((spec) => targets.get(spec.id) ?? { id: spec.id, value: null, target: spec.target, met: false, measuredAs: '', notMeasured: 'its section was not run (--only)' });
}
const notes: string[] = [];
const chartPanels: ChartPanel[] = [];
const COLORS: Record<Format, string> = { legacy: '#1f77b4', bundle: '#d62728' };

function summary(s: Series, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...s.stats, ...extra, samples: s.samples.map((v) => Number(v.toFixed(4))) };
}

function assertVerified(result: VerificationResult, what: string): void {
  if (!result.verified || result.verifiedSignatures !== 1) throw new Error(`${what}: expected one verified signature, got ${result.verifiedSignatures}`);
}

// ---------------------------------------------------------------------------
// Sections

interface Context {
  readonly registry: RunningRegistry;
  readonly images: Readonly<Record<Format, readonly MintedImage[]>>;
  readonly sigstore: Awaited<ReturnType<typeof createMinter>>['sigstore'];
  readonly work: string;
  readonly trustedRoot: TrustedRoot;
  /** Median warm verification per format, for later ratios. */
  readonly warmMedian: Partial<Record<Format, number>>;
  /** Mean CPU per whole image verified in memory (section 2), ms, for the throughput targets. */
  readonly inMemoryCpu: Partial<Record<Format, number>>;
}

const reference = (ctx: Context, minted: MintedImage): string => `${ctx.registry.host}/${BENCH_REPOSITORY}:${minted.tag}`;

/** The equivalent Sigstore bundle of a minted signature, as JSON text, and the artifact sigstore-js needs. */
function sigstoreJsInput(minted: MintedImage): { json: string; artifact: Buffer | undefined } {
  if (minted.layer !== undefined) return { json: JSON.stringify(legacyLayerToBundleV01(minted.layer)), artifact: minted.layer.payload };
  if (minted.bundle !== undefined) return { json: bundleBytes(minted.bundle).toString('utf8'), artifact: undefined };
  throw new Error(`${minted.tag} has no signature`);
}

function bareVerify(verifier: Verifier, input: { json: string; artifact: Buffer | undefined }): void {
  verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(input.json) as SerializedBundle), input.artifact));
}

/** The GETs a verification of this format cannot do without, on a registry without the referrers API. */
async function minimumGets(ctx: Context, minted: MintedImage): Promise<void> {
  const base = `${ctx.registry.url}/v2/${BENCH_REPOSITORY}`;
  const get = async (path: string, accept?: string): Promise<Buffer> => {
    const response = await fetch(`${base}/${path}`, accept === undefined ? {} : { headers: { accept } });
    return Buffer.from(await response.arrayBuffer());
  };
  await get(`manifests/${minted.tag}`, MANIFEST_ACCEPT);
  if (minted.format === 'legacy') {
    const sig = JSON.parse((await get(`manifests/${signatureTag(minted.digest)}`, MANIFEST_ACCEPT)).toString('utf8')) as { layers: Array<{ digest: string }> };
    await get(`blobs/${sig.layers[0]?.digest ?? ''}`);
    return;
  }
  await get(`referrers/${minted.digest}`, 'application/vnd.oci.image.index.v1+json');
  const index = JSON.parse((await get(`manifests/${referrersTag(minted.digest)}`, MANIFEST_ACCEPT)).toString('utf8')) as { manifests: Array<{ digest: string }> };
  const referrer = JSON.parse((await get(`manifests/${index.manifests[0]?.digest ?? ''}`, MANIFEST_ACCEPT)).toString('utf8')) as { layers: Array<{ digest: string }> };
  await get(`blobs/${referrer.layers[0]?.digest ?? ''}`);
}
const MINIMUM_GETS: Record<Format, { count: number; what: string }> = {
  legacy: { count: 3, what: 'manifest, .sig manifest, payload blob' },
  bundle: { count: 5, what: 'manifest, referrers API (404), sha256-<hex> index, referrer manifest, bundle blob' },
};

/** 1. Warm in-process verification from the loopback registry, and its floors. */
async function warmSection(ctx: Context): Promise<void> {
  const verifier = await ImageVerifier.create(POLICY, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
  const bare = new Verifier(toTrustMaterial(ctx.trustedRoot));
  const series: ChartSeries[] = [];
  for (const format of FORMATS) {
    const images = imagesOf('warm', ctx.images[format]);
    const at = (i: number): MintedImage => images[i + CONFIG.warmup] as MintedImage;
    progress(`warm: ${CONFIG.warmRuns} in-process verifications, ${LABEL[format]}`);
    const warm = await wallTime(CONFIG.warmRuns, CONFIG.warmup, async (i) => { assertVerified(await verifier.verify(reference(ctx, at(i))), at(i).tag); });
    const gets = await wallTime(CONFIG.warmRuns, CONFIG.warmup, (i) => minimumGets(ctx, at(i)));
    const inputs = images.map(sigstoreJsInput);
    const sigstoreJs = await wallTime(CONFIG.warmRuns, CONFIG.warmup, (i) => { bareVerify(bare, inputs[i + CONFIG.warmup] as (typeof inputs)[number]); });
    ctx.warmMedian[format] = warm.stats.median;
    const floor = gets.stats.median + sigstoreJs.stats.median;
    rows.push(
      { measurement: `1. warm in-process verify, ${LABEL[format]} (loopback registry)`, median: ms(warm.stats.median), p95: ms(warm.stats.p95), ratio: ratio(warm.stats.median / floor, 'of floor A+B'), target: 'close to A+B', met: '' },
      { measurement: `   floor A: ${MINIMUM_GETS[format].count} sequential GETs (${MINIMUM_GETS[format].what})`, median: ms(gets.stats.median), p95: ms(gets.stats.p95), ratio: '', target: '', met: '' },
      { measurement: '   floor B: bare @sigstore/verify Verifier.verify, same bundle (wall)', median: ms(sigstoreJs.stats.median), p95: ms(sigstoreJs.stats.p95), ratio: '', target: '', met: '' },
    );
    figures[`warm.${format}`] = { verify: summary(warm), floorGets: summary(gets), floorSigstoreJs: summary(sigstoreJs), ratioToFloor: warm.stats.median / floor };
    series.push({ label: LABEL[format], color: COLORS[format], samples: warm.samples });
  }
  chartPanels.push({ title: 'Warm in-process verification, loopback registry (a distinct image each run)', unit: 'ms', series });
}

/** 2. CPU per signature already in memory. */
async function cpuSection(ctx: Context): Promise<void> {
  progress('cpu: building the sigstore-go benchmark (peers/tools/sgo-bench)');
  const sgo = await setUpSigstoreGo(REPO_ROOT, ctx.work);
  if (!sgo.available) notes.push(`sigstore-go not measured: ${sgo.reason}`);
  const ratios: Partial<Record<Format, { sgo?: number; floor: number }>> = {};
  const panelTargets: Array<{ value: number; label: string }> = [];
  const verifier = await ImageVerifier.create(POLICY, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
  const sigstore = createSigstoreVerifier(verifier.trust, verifier.policy);
  const bare = new Verifier(toTrustMaterial(ctx.trustedRoot));
  const series: ChartSeries[] = [];
  for (const format of FORMATS) {
    const images = imagesOf('cpu', ctx.images[format]);
    const store = new MemoryStore(`${ctx.registry.host}/${BENCH_REPOSITORY}`, contentOf(images));
    // Discovery and everything else the candidate needs, prepared before timing.
    const prepared = await Promise.all(
      images.map(async (minted) => {
        const fetched = await store.getManifest(minted.tag);
        if (fetched === undefined) throw new Error(`${minted.tag} is not in the memory store`);
        const legacy = await discoverLegacySignatures(store, minted.digest, DEFAULT_LIMITS);
        const bundles = (await discoverBundles(store, minted.digest, DEFAULT_LIMITS)).candidates;
        const candidate: LegacyCandidate | BundleCandidate | undefined = format === 'legacy' ? legacy[0] : bundles[0];
        if (candidate === undefined) throw new Error(`${minted.tag}: no candidate`);
        const context: FormatContext = {
          store,
          imageDigest: minted.digest,
          imageManifest: () => Promise.resolve(fetched.bytes),
          policy: verifier.policy,
          purpose: verifier.purpose,
          verifier: sigstore,
          trust: verifier.trust,
          limits: DEFAULT_LIMITS,
        };
        const ref = `${ctx.registry.host}/${BENCH_REPOSITORY}@${fetched.digest}`;
        return { candidate, context, ref, input: sigstoreJsInput(minted), floor: format === 'legacy' ? legacyFloor(minted, ctx.sigstore) : bundleFloor(minted, ctx.sigstore) };
      }),
    );
    const at = (i: number, second = false): (typeof prepared)[number] => prepared[i + CONFIG.warmup + (second ? CONFIG.warmup + CONFIG.cpuRuns : 0)] as (typeof prepared)[number];
    progress(`cpu: ${CONFIG.cpuRuns} signatures in memory, ${LABEL[format]}: sigverify, @sigstore/verify, ECDSA floor`);
    const ours = await cpuTime(CONFIG.cpuRuns, CONFIG.warmup, async (i) => {
      const { candidate, context } = at(i);
      const outcome = await verifyCandidate(candidate, context);
      if (outcome.outcome !== 'verified') throw new Error(`${candidate.origin}: ${outcome.outcome} ${outcome.reason?.code ?? ''} ${outcome.reason?.message ?? ''}`);
    });
    // The whole pipeline through the public verify(), with the memory store injected: digest references, so no manifest request.
    const inMemory = await ImageVerifier.create(POLICY, { trust: trustedRootFile(TEST_TRUSTED_ROOT), stores: { open: () => store } });
    const whole = await cpuTime(CONFIG.cpuRuns, CONFIG.warmup, async (i) => {
      const { ref } = at(i, true);
      assertVerified(await inMemory.verify(ref), ref);
    });
    const sigstoreJs = await cpuTime(CONFIG.cpuRuns, CONFIG.warmup, (i) => { bareVerify(bare, at(i).input); });
    const floor = await cpuTime(CONFIG.cpuRuns, CONFIG.warmup, (i) => { runChecks(at(i).floor); });
    const floorChecks = (prepared[0]?.floor ?? []).map((c: EcdsaCheck) => `${c.what} (${c.hash === 'sha384' ? 'P-384' : 'P-256'})`);
    const vsBare = ours.stats.median / sigstoreJs.stats.median;
    // sigstore-go on one of the same bundles (the one sigstore-js verified first), as a file:
    // DSSE bundles against the image manifest (the statement's subject), legacy ones as v0.1 bundles against the payload.
    let sgoMs: number | undefined;
    if (sgo.available) {
      const first = at(0);
      const files = { bundle: join(ctx.work, `sgo-${format}.sigstore.json`), artifact: join(ctx.work, `sgo-${format}.artifact`) };
      const minted = images[CONFIG.warmup] as MintedImage;
      await writeFile(files.bundle, first.input.json);
      await writeFile(files.artifact, first.input.artifact ?? minted.image.manifestBytes);
      progress(`cpu: sigstore-go ${sgo.version} on the same ${LABEL[format]} bundle (go test -bench, GOMAXPROCS=1)`);
      sgoMs = (await sgo.measure({ ...files, trustedRoot: TEST_TRUSTED_ROOT, identity: FIXTURE_IDENTITY, issuer: FIXTURE_ISSUER, tsa: format === 'bundle', benchtime: '2s' })) / 1e6;
    }
    ctx.inMemoryCpu[format] = whole.stats.mean;
    ratios[format] = { floor: ours.stats.median / floor.stats.median, ...(sgoMs === undefined ? {} : { sgo: ours.stats.median / sgoMs }) };
    rows.push(
      { measurement: `2. CPU per signature, ${LABEL[format]}: sigverify (per-candidate verify, in memory)`, median: ms(ours.stats.median), p95: ms(ours.stats.p95), ratio: ratio(vsBare, 'of sigstore-js'), target: '≤ 0.5× sigstore-js', met: met(vsBare <= 0.5) },
      { measurement: '   sigverify whole image in memory (discovery of both formats + verify + result)', median: ms(whole.stats.median), p95: ms(whole.stats.p95), ratio: ratio(whole.stats.median / sigstoreJs.stats.median, 'of sigstore-js'), target: '', met: '' },
      { measurement: '   baseline: bare @sigstore/verify Verifier.verify (one reused Verifier)', median: ms(sigstoreJs.stats.median), p95: ms(sigstoreJs.stats.p95), ratio: ratio(sigstoreJs.stats.median / floor.stats.median, 'of floor'), target: '', met: '' },
      sgoMs === undefined
        ? { measurement: '   baseline: sigstore-go Verifier.Verify, same bundle', median: 'not measured', p95: '', ratio: '', target: '', met: '' }
        : { measurement: `   baseline: sigstore-go ${sgo.available ? sgo.version : ''} Verifier.Verify, same bundle (go test -bench ns/op, GOMAXPROCS=1)`, median: ms(sgoMs), p95: '', ratio: `${ratio(sgoMs / floor.stats.median, 'of floor')}; sigverify ${ratio(ours.stats.median / sgoMs, 'of sigstore-go')}`, target: '', met: '' },
      { measurement: `   floor: ${floorChecks.length} ECDSA verifications, node:crypto, pre-parsed keys`, median: ms(floor.stats.median), p95: ms(floor.stats.p95), ratio: ratio(ours.stats.median / floor.stats.median, '(sigverify of floor)'), target: '', met: '' },
    );
    figures[`cpu.${format}`] = { sigverifyPerCandidate: summary(ours), sigverifyWholeImage: summary(whole), sigstoreJs: summary(sigstoreJs), floor: summary(floor, { checks: floorChecks }), ratioToSigstoreJs: vsBare, ratioToFloor: ours.stats.median / floor.stats.median, sigstoreGo: sgoMs === undefined ? { unavailable: sgo.available ? '' : sgo.reason } : { msPerOp: sgoMs, version: sgo.available ? sgo.version : '' } };
    if (format === 'legacy') {
      panelTargets.push({ value: 2 * floor.stats.median, label: 'cpu-vs-floor, 2 × the ECDSA floor' });
      if (sgoMs !== undefined) panelTargets.push({ value: sgoMs, label: 'cpu-vs-sigstore-go, 1 × sigstore-go' });
      series.push(
        { label: 'sigverify', color: '#1f77b4', samples: ours.samples },
        { label: 'bare @sigstore/verify', color: '#ff7f0e', samples: sigstoreJs.samples },
        { label: 'ECDSA floor', color: '#2ca02c', samples: floor.samples },
      );
    }
  }
  chartPanels.push({ title: 'CPU time per signature, material in memory (legacy .sig)', unit: 'ms of CPU (user + system)', series, log: true, targets: panelTargets });
  const worst = (pick: (r: { sgo?: number; floor: number }) => number | undefined): { value: number; format: Format } | undefined => {
    const values = FORMATS.flatMap((format) => {
      const r = ratios[format];
      const v = r === undefined ? undefined : pick(r);
      return v === undefined ? [] : [{ value: v, format }];
    });
    return values.length < FORMATS.length ? undefined : values.reduce((a, b) => (b.value > a.value ? b : a));
  };
  const floorWorst = worst((r) => r.floor);
  if (floorWorst !== undefined) recordTarget('cpu-vs-floor', floorWorst.value, `median CPU per signature in memory ÷ the format's ECDSA floor, worse format (${LABEL[floorWorst.format]}); ${FORMATS.map((f) => `${f} ${ratios[f]?.floor.toFixed(2) ?? '?'}`).join(', ')}`);
  const sgoWorst = worst((r) => r.sgo);
  if (sgoWorst !== undefined) recordTarget('cpu-vs-sigstore-go', sgoWorst.value, `median CPU per signature in memory ÷ sigstore-go ns/op on the same bundle, worse format (${LABEL[sgoWorst.format]}); ${FORMATS.map((f) => `${f} ${ratios[f]?.sgo?.toFixed(2) ?? '?'}`).join(', ')}`);
  else targetNotMeasured('cpu-vs-sigstore-go', sgo.available ? 'sigstore-go did not run' : sgo.reason);
}

/** 3. Cold CLI processes. */
async function coldSection(ctx: Context): Promise<void> {
  const env = { PATH: process.env['PATH'] ?? '', HOME: ctx.work };
  const bin = join(REPO_ROOT, 'dist', 'cli', 'bin.js');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first (npm run bench does)`);
  const policyArgs = ['--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', TEST_TRUSTED_ROOT];
  const sigverify = (ref: string): ProcessRun => ({ cwd: REPO_ROOT, env, args: [bin, 'verify', ref, ...policyArgs] });
  const legacy = imagesOf('cold', ctx.images.legacy)[0] as MintedImage;
  const bundle = imagesOf('cold', ctx.images.bundle)[0] as MintedImage;

  // The same legacy image in an OCI layout on tmpfs: no network at all.
  const layoutRoot = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sigverify-bench-layout-'));
  await writeOciLayout(layoutRoot, [{ object: legacy.image, tag: legacy.tag }, ...legacy.entries]);

  // The equivalent bundle files for the sigstore-js CLI.
  const files = { legacyBundle: join(ctx.work, 'legacy.sigstore.json'), legacyPayload: join(ctx.work, 'legacy.payload'), bundle: join(ctx.work, 'bundle.sigstore.json') };
  const legacyInput = sigstoreJsInput(legacy);
  await writeFile(files.legacyBundle, legacyInput.json);
  await writeFile(files.legacyPayload, legacyInput.artifact ?? Buffer.alloc(0));
  await writeFile(files.bundle, sigstoreJsInput(bundle).json);
  progress('cold: setting up the sigstore-js CLI (private TUF repository holding the fixture trusted root)');
  const cli: SigstoreCliSetup = await setUpSigstoreCli({ repoRoot: REPO_ROOT, work: ctx.work, trustedRootPath: TEST_TRUSTED_ROOT, identity: FIXTURE_IDENTITY, issuer: FIXTURE_ISSUER, probe: { bundleFile: files.bundle } });

  try {
    const runs = CONFIG.coldRuns;
    progress(`cold: ${runs} runs each of sigverify (registry legacy, registry bundle, oci: layout), node + import, sigstore CLI`);
    const cold = {
      legacy: await processTime(runs, 2, sigverify(reference(ctx, legacy))),
      bundle: await processTime(runs, 2, sigverify(reference(ctx, bundle))),
      layout: await processTime(runs, 2, sigverify(`oci:${layoutRoot}:${legacy.tag}`)),
      node: await processTime(runs, 2, { cwd: REPO_ROOT, env, args: ['--input-type=module', '-e', "await import('@sigstore/verify')"] }),
    };
    const cliRuns = cli.available
      ? { legacy: await processTime(runs, 2, cli.cli.verify(files.legacyBundle, files.legacyPayload)), bundle: await processTime(runs, 2, cli.cli.verify(files.bundle)) }
      : undefined;
    if (!cli.available) notes.push(`sigstore-js CLI not measured: ${cli.reason}`);
    const node = cold.node.stats.median;
    for (const format of FORMATS) {
      const ours = cold[format];
      const theirs = cliRuns?.[format];
      rows.push({
        measurement: `3. cold CLI: sigverify verify, ${LABEL[format]} (loopback registry, --trusted-root)`,
        median: ms(ours.stats.median),
        p95: ms(ours.stats.p95),
        ratio: theirs === undefined ? ratio(ours.stats.median / node, 'of node + import') : `${ratio(ours.stats.median / theirs.stats.median, 'of sigstore CLI')}; ${ratio(ours.stats.median / node, 'of node + import')}`,
        target: '≤ 1.0× sigstore CLI',
        met: theirs === undefined ? '' : met(ours.stats.median <= theirs.stats.median),
      });
      if (theirs !== undefined) {
        rows.push({ measurement: `   baseline: sigstore-js CLI \`sigstore verify\` on the equivalent ${format === 'legacy' ? 'v0.1 bundle + payload file' : 'v0.3 bundle file'} (offline TUF cache)`, median: ms(theirs.stats.median), p95: ms(theirs.stats.p95), ratio: ratio(theirs.stats.median / node, 'of node + import'), target: '', met: '' });
      }
    }
    rows.push(
      { measurement: '   sigverify verify, legacy .sig, oci: layout on tmpfs (no network)', median: ms(cold.layout.stats.median), p95: ms(cold.layout.stats.p95), ratio: ratio(cold.layout.stats.median / node, 'of node + import'), target: '', met: '' },
      { measurement: "   floor: node starting and import('@sigstore/verify')", median: ms(node), p95: ms(cold.node.stats.p95), ratio: '', target: '', met: '' },
    );
    await executableColdRuns({ legacy: reference(ctx, legacy), bundle: reference(ctx, bundle) }, env, ctx.work);
    figures['cold'] = {
      ...(figures['cold'] as Record<string, unknown> | undefined),
      sigverifyLegacy: summary(cold.legacy),
      sigverifyBundle: summary(cold.bundle),
      sigverifyLayout: summary(cold.layout),
      nodeImportSigstoreVerify: summary(cold.node),
      sigstoreCli: cliRuns === undefined ? { unavailable: cli.available ? '' : cli.reason } : { legacy: summary(cliRuns.legacy), bundle: summary(cliRuns.bundle), versions: cli.available ? cli.cli.versions : undefined, tufRequestsToFillCache: cli.available ? cli.cli.setupRequests : [], timedRunsOffline: true },
    };
  } finally {
    await rm(layoutRoot, { recursive: true, force: true });
  }
}

/**
 * The single executable cold (issue 16): the fixture layout against `node -e 0`,
 * and the same registry image as `cosign verify` (v3) with the same
 * trusted_root.json. Built from this tree first (packaging/sea.ts, seconds).
 */
async function executableColdRuns(refs: Record<Format, string>, env: NodeJS.ProcessEnv, work: string): Promise<void> {
  const runs = CONFIG.coldRuns;
  progress('cold: building the single executable (packaging/sea.ts) into the work directory');
  // Not over dist-bin/: that one belongs to `npm run package`, with its SHA256SUMS.
  let exe: string;
  try {
    exe = (await buildExecutable(join(work, 'sigverify-linux-x64'))).path;
  } catch (error) {
    const reason = `the single executable could not be built: ${(error as Error).message.split('\n')[0] ?? ''}`;
    for (const id of ['cold-vs-node', 'cold-vs-cosign']) targetNotMeasured(id, reason);
    notes.push(reason);
    return;
  }
  const fixtureVerify = ['verify', 'oci:fixtures/layout:signed', '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', 'fixtures/trust/trusted_root.json'];
  const policy = ['--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', TEST_TRUSTED_ROOT];
  progress(`cold: ${runs} runs each of node -e 0, the executable on the fixture layout and on the registry images, cosign v3 verify`);
  const node = await processTime(runs, 2, { cwd: REPO_ROOT, env, args: ['-e', '0'] });
  const layout = await processTime(runs, 2, { cwd: REPO_ROOT, env, args: fixtureVerify }, exe);
  const registry: Partial<Record<Format, Series>> = {};
  for (const format of FORMATS) registry[format] = await processTime(runs, 2, { cwd: REPO_ROOT, env, args: ['verify', refs[format], ...policy] }, exe);
  const cosign = toolBinary(REPO_ROOT, 'cosign3', 'cosign');
  const cosignRuns: Partial<Record<Format, Series>> = {};
  if (cosign.available) {
    for (const format of FORMATS) cosignRuns[format] = await processTime(runs, 2, { cwd: REPO_ROOT, env, args: ['verify', ...policy, refs[format]] }, cosign.path);
  } else {
    notes.push(`cosign not measured: ${cosign.reason}`);
  }
  rows.push({ measurement: '   single executable (packaging/sea.ts): sigverify verify, fixture oci: layout', median: ms(layout.stats.median), p95: ms(layout.stats.p95), ratio: ratio(layout.stats.median / node.stats.median, 'of node -e 0'), target: '≤ 2× node -e 0', met: met(layout.stats.median <= 2 * node.stats.median) });
  rows.push({ measurement: '   baseline: node -e 0 (the Node the executable is made from)', median: ms(node.stats.median), p95: ms(node.stats.p95), ratio: '', target: '', met: '' });
  for (const format of FORMATS) {
    const ours = registry[format] as Series;
    const theirs = cosignRuns[format];
    rows.push({ measurement: `   executable: sigverify verify, ${LABEL[format]} (loopback registry, --trusted-root)`, median: ms(ours.stats.median), p95: ms(ours.stats.p95), ratio: theirs === undefined ? ratio(ours.stats.median / node.stats.median, 'of node -e 0') : ratio(ours.stats.median / theirs.stats.median, 'of cosign v3'), target: '≤ 0.5× cosign', met: theirs === undefined ? '' : met(ours.stats.median <= 0.5 * theirs.stats.median) });
    if (theirs !== undefined) rows.push({ measurement: `   baseline: cosign ${cosign.available ? cosign.version : ''} verify, same image and trusted_root.json`, median: ms(theirs.stats.median), p95: ms(theirs.stats.p95), ratio: ratio(theirs.stats.median / node.stats.median, 'of node -e 0'), target: '', met: '' });
  }
  chartPanels.push({
    title: 'Cold processes: the single executable, node -e 0, cosign v3 (legacy .sig image)',
    unit: 'ms, spawn to exit',
    series: [
      { label: 'node -e 0', color: '#7f7f7f', samples: node.samples },
      { label: 'sigverify executable, fixture oci: layout', color: '#1f77b4', samples: layout.samples },
      { label: 'sigverify executable, loopback registry', color: '#17becf', samples: (registry.legacy as Series).samples },
      ...(cosignRuns.legacy === undefined ? [] : [{ label: 'cosign v3 verify, loopback registry', color: '#ff7f0e', samples: cosignRuns.legacy.samples }]),
    ],
    targets: [
      { value: 2 * node.stats.median, label: 'cold-vs-node, 2 × node -e 0' },
      ...(cosignRuns.legacy === undefined ? [] : [{ value: 0.5 * cosignRuns.legacy.stats.median, label: 'cold-vs-cosign, 0.5 × cosign' }]),
    ],
  });
  recordTarget('cold-vs-node', layout.stats.median / node.stats.median, `median cold executable verify of the fixture layout (${ms(layout.stats.median)}) ÷ median node -e 0 (${ms(node.stats.median)})`);
  if (cosign.available) {
    const worst = FORMATS.map((format) => ({ format, value: (registry[format] as Series).stats.median / (cosignRuns[format] as Series).stats.median })).reduce((a, b) => (b.value > a.value ? b : a));
    recordTarget('cold-vs-cosign', worst.value, `median cold executable verify ÷ median cold cosign v3 verify, same registry image, worse format (${LABEL[worst.format]}); ${FORMATS.map((f) => `${f} ${ms((registry[f] as Series).stats.median)} vs ${ms((cosignRuns[f] as Series).stats.median)}`).join(', ')}`);
  } else {
    targetNotMeasured('cold-vs-cosign', cosign.reason);
  }
  figures['cold'] = {
    executable: { nodeE0: summary(node), fixtureLayout: summary(layout), registry: Object.fromEntries(FORMATS.map((f) => [f, summary(registry[f] as Series)])) },
    cosign: cosign.available ? { version: cosign.version, ...Object.fromEntries(FORMATS.map((f) => [f, summary(cosignRuns[f] as Series)])) } : { unavailable: cosign.reason },
  };
}

/** The targets as a Markdown table: id, value, target, met, and what was divided by what. */
function targetsMarkdown(list: readonly Target[]): string {
  const lines = ['| target | value | target | met? | measured as |', '|---|---|---|---|---|'];
  for (const t of list) {
    const cells = [t.id, t.value === null ? 'not measured' : t.value.toFixed(2), t.target, t.value === null ? 'no' : met(t.met), t.notMeasured ?? t.measuredAs];
    lines.push(`| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Clock ticks per second of /proc times (USER_HZ; 100 on Linux). */
const TICK_MS = 10;

/**
 * CPU time, ms, that the whole machine has spent busy (/proc/stat) and that
 * this benchmark's own processes have (this process, its waited-for children
 * from /proc/self/stat cutime/cstime, and the running registry): the
 * difference is what other processes took from the run. Undefined off Linux.
 */
function cpuAccounting(): { machineMs: number; benchMs: number } | undefined {
  try {
    const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
    // cpu  user nice system idle iowait irq softirq steal …
    const ticks = (cpu ?? '').trim().split(/\s+/).slice(1).map(Number);
    const busy = (ticks[0] ?? 0) + (ticks[1] ?? 0) + (ticks[2] ?? 0) + (ticks[5] ?? 0) + (ticks[6] ?? 0) + (ticks[7] ?? 0);
    const self = readFileSync('/proc/self/stat', 'utf8');
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    // utime, stime, cutime, cstime: fields 14–17 of /proc/PID/stat.
    const mine = ((fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0)) * TICK_MS;
    return { machineMs: busy * TICK_MS, benchMs: mine + (registryCpuMs() ?? 0) };
  } catch {
    return undefined;
  }
}

/** Share of the machine's CPUs that other processes used between two accountings, in %. */
function othersShare(before: ReturnType<typeof cpuAccounting>, after: ReturnType<typeof cpuAccounting>, wallMs: number): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  const others = after.machineMs - before.machineMs - (after.benchMs - before.benchMs);
  return Math.max(0, (100 * others) / (wallMs * cpus().length));
}

/** CPU time (user + system) the registry has used so far, ms; undefined where /proc cannot tell. */
function registryCpuMs(): number | undefined {
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      if (comm !== 'docker-registry' || Number(fields[1]) !== process.pid) continue;
      // utime, stime: fields 14 and 15 of /proc/PID/stat, in clock ticks (USER_HZ = 100 on Linux).
      return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * bench/throughput.ts and its worker as plain JavaScript files in `dir`
 * (types stripped; they import project code only by URL, from dist/).
 */
async function javascriptThroughputScripts(dir: string): Promise<{ main: string; worker: string }> {
  const strip = async (source: string, target: string): Promise<string> => {
    const path = join(dir, target);
    await writeFile(path, stripTypeScriptTypes(await readFile(join(REPO_ROOT, 'bench', source), 'utf8')));
    return path;
  };
  return { main: await strip('throughput.ts', 'throughput.mjs'), worker: pathToFileURL(await strip(join('lib', 'throughput-worker.ts'), 'throughput-worker.mjs')).href };
}

/** 4. Throughput: every image once, in a separate process with worker threads. */
async function throughputSection(ctx: Context): Promise<void> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'index.js'))) throw new Error('dist/index.js is missing: run npm run build first (npm run bench does)');
  const scripts = await javascriptThroughputScripts(ctx.work);
  const pass = async (name: string, references: string[]): Promise<ThroughputResult & { registryMs: number | undefined }> => {
    const config: ThroughputConfig = { workerUrl: scripts.worker, apiUrl: pathToFileURL(join(REPO_ROOT, 'dist', 'index.js')).href, references, workers: CONFIG.workers, inFlight: CONFIG.inFlightPerWorker, trustedRoot: TEST_TRUSTED_ROOT, identity: FIXTURE_IDENTITY, issuer: FIXTURE_ISSUER, ...(CONFIG.youngGenerationMb > 0 ? { youngGenerationMb: CONFIG.youngGenerationMb } : {}) };
    const configPath = join(ctx.work, `throughput-${name}.json`);
    await writeFile(configPath, JSON.stringify(config));
    const registryBefore = registryCpuMs();
    // Asynchronously: this process must keep draining the registry's output.
    const env = { ...process.env, ...(CONFIG.mallocArenas > 0 ? { MALLOC_ARENA_MAX: String(CONFIG.mallocArenas) } : {}) };
    const { stdout } = await promisify(execFile)(process.execPath, [scripts.main, configPath], { cwd: REPO_ROOT, env, maxBuffer: 64 * 1024 * 1024 });
    const registryAfter = registryCpuMs();
    const result = JSON.parse(stdout) as ThroughputResult;
    if (result.failures > 0) throw new Error(`throughput ${name}: ${result.failures} verifications failed: ${result.firstFailures.join('; ')}`);
    return { ...result, registryMs: registryBefore === undefined || registryAfter === undefined ? undefined : registryAfter - registryBefore };
  };
  const quantiles = (samples: readonly number[]): { median: number; p95: number } => {
    const sorted = [...samples].sort((a, b) => a - b);
    const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
    return { median: q(0.5), p95: q(0.95) };
  };
  const peakOf = (result: ThroughputResult): number => Math.max(result.rss.peakSampled, result.rss.maxRss);

  const layouts = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sigverify-bench-layouts-'));
  const series: ChartSeries[] = [];
  const perFormat: Array<{ format: Format; overhead?: number; capacity?: number; peakMb: number }> = [];
  const shape = `${CONFIG.workers} workers × ${CONFIG.inFlightPerWorker} in flight`;
  try {
    for (const format of FORMATS) {
      const images = ctx.images[format];
      progress(`throughput: ${images.length} ${LABEL[format]} images from the registry, ${shape}`);
      const result = await pass(format, images.map((m) => reference(ctx, m)));
      // The same images, each in its own OCI layout on tmpfs: sigverify's capacity without the registry on the same cores.
      for (const minted of images) await writeOciLayout(join(layouts, minted.tag), [{ object: minted.image, tag: minted.tag }, ...minted.entries]);
      progress(`throughput: the same ${images.length} images from OCI layouts on tmpfs (no registry), ${shape}`);
      const local = await pass(`${format}-layout`, images.map((m) => `oci:${join(layouts, m.tag)}:${m.tag}`));

      const peak = peakOf(result);
      const sequential = ctx.warmMedian[format] === undefined ? undefined : 1000 / ctx.warmMedian[format];
      const latency = quantiles(result.latencies);
      const registryMs = result.registryMs;
      const perImage = (cpuMs: number): string => (cpuMs / result.verifications).toFixed(2);
      rows.push(
        {
          measurement: `4. throughput, ${LABEL[format]}: ${result.verifications} distinct images from the registry, ${shape}`,
          median: `${result.perSecond.toFixed(0)} /s`,
          p95: '',
          ratio: sequential === undefined ? '' : ratio(result.perSecond / sequential, 'of sequential warm'),
          target: '≥ 400 /s',
          met: met(result.perSecond >= 400),
        },
        { measurement: '   latency per verification under load', median: ms(latency.median), p95: ms(latency.p95), ratio: '', target: '', met: '' },
        {
          measurement: '   peak RSS of the process (sampled every 5 ms / kernel high-water mark VmHWM)',
          median: `${(peak / 1e6).toFixed(0)} MB`,
          p95: '',
          ratio: ratio(peak / result.rss.idle, `of idle (${(result.rss.idle / 1e6).toFixed(0)} MB)`),
          target: '< 250 MB',
          met: met(peak < 250e6),
        },
        {
          measurement: '   V8 heap per worker: peak committed (heapTotal) / peak in use (heapUsed, garbage not yet collected included)',
          median: result.workerHeaps.map((h) => `${(h.peakHeapTotal / 1e6).toFixed(0)} / ${(h.peakHeapUsed / 1e6).toFixed(0)} MB`).join('; '),
          p95: '',
          ratio: '',
          target: '',
          met: '',
        },
        {
          measurement: '   CPU per image during the pass: verifier process / registry process',
          median: `${perImage(result.cpuMs)} / ${registryMs === undefined ? 'n/a' : perImage(registryMs)} ms`,
          p95: '',
          ratio: registryMs === undefined ? '' : `${((100 * (result.cpuMs + registryMs)) / (result.wallMs * cpus().length)).toFixed(0)} % of ${cpus().length} cores busy; the registry alone caps at ${((1000 * cpus().length * result.verifications) / registryMs).toFixed(0)} /s`,
          target: '',
          met: '',
        },
        {
          measurement: `   same images from OCI layouts on tmpfs (no registry on the cores), ${shape}`,
          median: `${local.perSecond.toFixed(0)} /s`,
          p95: '',
          ratio: `${ratio(local.perSecond / result.perSecond, 'of the registry pass')}; ${perImage(local.cpuMs)} ms CPU per image; peak RSS ${(peakOf(local) / 1e6).toFixed(0)} MB`,
          target: '',
          met: '',
        },
      );
      const inMemory = ctx.inMemoryCpu[format];
      perFormat.push({
        format,
        peakMb: Math.max(peak, peakOf(local)) / 1e6,
        ...(inMemory === undefined ? {} : { overhead: result.cpuMs / result.verifications / inMemory, capacity: local.perSecond / ((1000 * cpus().length) / inMemory) }),
      });
      const figure = (r: ThroughputResult & { registryMs: number | undefined }): Record<string, unknown> => ({ ...r, latencies: undefined, latency: { ...quantiles(r.latencies), samples: r.latencies.map((v) => Number(v.toFixed(3))) }, peakRss: peakOf(r), peakRssMiB: mib(peakOf(r)) });
      figures[`throughput.${format}`] = { registry: { ...figure(result), sequentialPerSecond: sequential }, layout: figure(local) };
      series.push({ label: LABEL[format], color: COLORS[format], samples: result.latencies });
    }
  } finally {
    await rm(layouts, { recursive: true, force: true });
  }
  chartPanels.push({ title: `Latency per verification under load, from the registry (${shape})`, unit: 'ms', series });
  const worst = (pick: (p: (typeof perFormat)[number]) => number | undefined, direction: 'max' | 'min'): { format: Format; value: number } | undefined => {
    const values = perFormat.flatMap((p) => {
      const v = pick(p);
      return v === undefined ? [] : [{ format: p.format, value: v }];
    });
    if (values.length < FORMATS.length) return undefined;
    return values.reduce((a, b) => ((direction === 'max' ? b.value > a.value : b.value < a.value) ? b : a));
  };
  const each = (pick: (p: (typeof perFormat)[number]) => number | undefined): string => perFormat.map((p) => `${p.format} ${pick(p)?.toFixed(2) ?? '?'}`).join(', ');
  const rss = worst((p) => p.peakMb, 'max');
  if (rss !== undefined) recordTarget('rss', rss.value, `peak RSS, MB, of the throughput process over all its passes (${shape}), worse format (${LABEL[rss.format]}); ${each((p) => p.peakMb)}`);
  const overhead = worst((p) => p.overhead, 'max');
  const capacity = worst((p) => p.capacity, 'min');
  if (overhead === undefined || capacity === undefined) {
    for (const id of ['registry-cpu-overhead', 'layout-throughput']) targetNotMeasured(id, 'needs the cpu section (in-memory CPU per image) in the same run');
  } else {
    recordTarget('registry-cpu-overhead', overhead.value, `mean verifier CPU per image in the registry pass ÷ mean CPU per whole image in memory (section cpu), worse format (${LABEL[overhead.format]}); ${each((p) => p.overhead)}`);
    recordTarget('layout-throughput', capacity.value, `verifications/s from OCI layouts ÷ (${cpus().length} cores ÷ mean in-memory CPU per image), worse format (${LABEL[capacity.format]}); ${each((p) => p.capacity)}`);
  }
}

/** What an HTTP request was for, from its path. */
function requestKind(url: string): string {
  const path = new URL(url).pathname;
  const match = /^\/v2\/.+?\/(manifests|blobs|referrers)\/(.+)$/.exec(path);
  if (match === null) return `other ${path}`;
  const [, kind, ref = ''] = match;
  if (kind === 'blobs') return 'blob';
  if (kind === 'referrers') return 'referrers API';
  if (ref.endsWith('.sig')) return '.sig manifest (tag)';
  if (ref.endsWith('.att')) return '.att manifest (tag)';
  if (/^sha256-[0-9a-f]{64}$/.test(ref)) return 'referrers index (sha256-<hex> tag)';
  if (ref.startsWith('sha256:')) return 'manifest by digest';
  return 'image manifest (tag)';
}

/** 5. HTTP requests per verification, connection reuse, and TUF requests. */
async function requestsSection(ctx: Context): Promise<void> {
  // Counted as undici sees them (sigverify's pooled agent and fetch both publish these channels): what went on the wire.
  const log: Array<{ kind: string; status: number }> = [];
  subscribe('undici:request:headers', (message) => {
    const { request, response } = message as { request: { origin?: string | URL; path?: string }; response: { statusCode: number } };
    log.push({ kind: requestKind(`${String(request.origin ?? '')}${request.path ?? ''}`), status: response.statusCode });
  });
  // Every request this process makes, whatever makes it: undici (fetch) and node:http.
  const origins = new Map<string, number>();
  let connections = 0;
  const onRequest = (message: unknown): void => {
    const { request } = message as { request: { origin?: string | URL; host?: string } };
    const origin = String(request.origin ?? request.host ?? '?');
    origins.set(origin, (origins.get(origin) ?? 0) + 1);
  };
  const onConnect = (): void => {
    connections++;
  };
  subscribe('undici:request:create', onRequest);
  subscribe('http.client.request.start', onRequest);
  subscribe('undici:client:connected', onConnect);

  const verifier = await ImageVerifier.create(POLICY, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
  const minimum: Record<Format, { count: number; what: string }> = {
    legacy: { count: 5, what: `${MINIMUM_GETS.legacy.count} for the format (${MINIMUM_GETS.legacy.what}) + 2 referrers probes (API, sha256-<hex> tag), since both formats are always read` },
    bundle: { count: 6, what: `${MINIMUM_GETS.bundle.count} for the format (${MINIMUM_GETS.bundle.what}) + 1 .sig probe, since both formats are always read` },
  };
  for (const format of FORMATS) {
    const images = imagesOf('requests', ctx.images[format]);
    progress(`requests: ${LABEL[format]}, ${CONFIG.requestRuns} counted verifications, then ${CONFIG.connectionRuns} for connection reuse`);
    const counts: number[] = [];
    const kinds = new Map<string, number>();
    for (const minted of images.slice(0, CONFIG.requestRuns)) {
      log.length = 0;
      assertVerified(await verifier.verify(reference(ctx, minted)), minted.tag);
      counts.push(log.length);
      for (const entry of log) {
        const key = `${entry.kind} → ${entry.status}`;
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      }
    }
    connections = 0;
    origins.clear();
    for (const minted of images.slice(CONFIG.requestRuns)) assertVerified(await verifier.verify(reference(ctx, minted)), minted.tag);
    const runs = images.length - CONFIG.requestRuns;
    const perVerification = [...kinds].map(([kind, n]) => `${kind} ×${(n / counts.length).toFixed(2).replace(/\.00$/, '')}`);
    const sorted = [...counts].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1] ?? Number.NaN;
    const registryOrigin = ctx.registry.url;
    const otherRequests = [...origins].filter(([origin]) => !origin.startsWith(registryOrigin) && origin !== ctx.registry.host).reduce((n, [, c]) => n + c, 0);
    rows.push(
      { measurement: `5. HTTP requests per verification on docker-registry (no referrers API), ${LABEL[format]} by tag: ${perVerification.join(', ')}`, median: String(median), p95: String(p95), ratio: ratio(median / minimum[format].count, 'of minimum'), target: `= ${minimum[format].count}: ${minimum[format].what}`, met: met(median === minimum[format].count && p95 === minimum[format].count) },
      { measurement: `   new TCP connections over ${runs} sequential verifications (${runs * median} requests; keep-alive)`, median: `${connections} (${(connections / runs).toFixed(2)} per verification)`, p95: '', ratio: '', target: 'reused (≪ 1 per verification)', met: met(connections / runs < 0.5) },
      { measurement: '   requests to anything but the registry (TUF, …), trust from a pinned trusted_root.json', median: String(otherRequests), p95: '', ratio: '', target: '0', met: met(otherRequests === 0) },
    );
    figures[`requests.${format}`] = { perVerification: summary({ stats: { n: counts.length, median, p95, mean: counts.reduce((a, b) => a + b, 0) / counts.length, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 }, samples: counts }), byKind: Object.fromEntries([...kinds].map(([k, n]) => [k, n / counts.length])), minimum: minimum[format], connections, connectionRuns: runs, otherRequests };
  }
  await olaregRequests(ctx, verifier, log);
  notes.push('TUF: with a `trusted-root` source no TUF request is made at all (shown above); the TUF client itself (warm cache: zero requests when timestamp.json is fresh, as tuf-js caches it) is covered by test/trust-root, not timed here.');
}

/**
 * The same counts on a registry with the referrers API (olareg, from the
 * peers' tools): bundles are listed by the API, so neither the fallback tag
 * nor its 404 is read; the .sig tag is still probed, as cosign does.
 */
async function olaregRequests(ctx: Context, verifier: ImageVerifier, log: Array<{ kind: string; status: number }>): Promise<void> {
  const olareg = await startOlareg(REPO_ROOT);
  if (!olareg.available) {
    notes.push(`requests on a registry with the referrers API not measured: ${olareg.reason}`);
    return;
  }
  const minimum: Record<Format, { count: number; what: string }> = {
    legacy: { count: 4, what: 'manifest, .sig manifest, payload blob + 1 referrers API probe (an empty index)' },
    bundle: { count: 5, what: 'manifest, referrers API, referrer manifest, bundle blob + 1 .sig probe' },
  };
  try {
    for (const format of FORMATS) {
      const images = imagesOf('requests', ctx.images[format]).slice(0, CONFIG.requestRuns);
      progress(`requests: ${LABEL[format]} on olareg ${olareg.version} (referrers API), ${images.length} counted verifications`);
      await pushImages(olareg.url, images, 4);
      const counts: number[] = [];
      const kinds = new Map<string, number>();
      for (const minted of images) {
        log.length = 0;
        assertVerified(await verifier.verify(`${olareg.host}/${BENCH_REPOSITORY}:${minted.tag}`), minted.tag);
        counts.push(log.length);
        for (const entry of log) kinds.set(`${entry.kind} → ${entry.status}`, (kinds.get(`${entry.kind} → ${entry.status}`) ?? 0) + 1);
      }
      const sorted = [...counts].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
      const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1] ?? Number.NaN;
      const perVerification = [...kinds].map(([kind, n]) => `${kind} ×${(n / counts.length).toFixed(2).replace(/\.00$/, '')}`);
      rows.push({ measurement: `5. HTTP requests per verification on olareg (referrers API), ${LABEL[format]} by tag: ${perVerification.join(', ')}`, median: String(median), p95: String(p95), ratio: ratio(median / minimum[format].count, 'of minimum'), target: `= ${minimum[format].count}: ${minimum[format].what}`, met: met(median === minimum[format].count && p95 === minimum[format].count) });
      figures[`requests.olareg.${format}`] = { median, p95, byKind: Object.fromEntries([...kinds].map(([k, n]) => [k, n / counts.length])), minimum: minimum[format], olareg: olareg.version };
    }
  } finally {
    await olareg.stop();
  }
}

/** 6. Cache hits: a ResultCache lookup, and a whole ModuleGate.check answered from the cache. */
async function cacheSection(ctx: Context): Promise<void> {
  const minted = imagesOf('cache', ctx.images.legacy)[0] as MintedImage;
  const ref = reference(ctx, minted);
  const verifier = await ImageVerifier.create(POLICY, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
  const result = await verifier.verify(ref);
  assertVerified(result, ref);
  const cache = new ResultCache();
  const key = { subject: `${ctx.registry.host}/${BENCH_REPOSITORY}`, digest: result.digest, policyDigest: sha256Digest(Buffer.from(JSON.stringify(POLICY))), trustRootDigest: result.trustRoot.digest };
  await cache.set(key, { result, attestations: [] });
  progress(`cache: ${CONFIG.cacheRuns} ResultCache hits, ${CONFIG.gateRuns} ModuleGate.check hits`);
  const hit = await wallTime(CONFIG.cacheRuns, 1000, async () => {
    if ((await cache.get(key)) === undefined) throw new Error('cache: expected a hit');
  });

  let gateRequests = 0;
  subscribe('undici:request:create', () => {
    gateRequests++;
  });
  // The bench signs with the fixtures' test Sigstore, which the gate refuses unless told.
  const gate = new ModuleGate({ trust: trustedRootFile(TEST_TRUSTED_ROOT), cache: new ResultCache(), allowTestTrustRootUnsafe: true });
  const module = {
    module_name: 'bench_algorithm',
    docker_tag: ref,
    require_signature: true,
    signature_certificate_identity: FIXTURE_IDENTITY,
    signature_certificate_oidc_issuer: FIXTURE_ISSUER,
    network_mode: 'none',
  };
  if ((await gate.check(module)).cached) throw new Error('gate: the first check cannot be a cache hit');
  gateRequests = 0;
  const gateHit = await wallTime(CONFIG.gateRuns, CONFIG.warmup, async () => {
    if (!(await gate.check(module)).cached) throw new Error('gate: expected a cache hit');
  });
  const gateRequestsPerCall = gateRequests / (CONFIG.gateRuns + CONFIG.warmup);
  const manifestGet = await wallTime(CONFIG.gateRuns, CONFIG.warmup, async () => {
    await (await fetch(`${ctx.registry.url}/v2/${BENCH_REPOSITORY}/manifests/${minted.tag}`, { headers: { accept: MANIFEST_ACCEPT } })).arrayBuffer();
  });
  const warm = ctx.warmMedian.legacy;
  rows.push(
    { measurement: '6. ResultCache.get hit (in memory)', median: ms(hit.stats.median), p95: ms(hit.stats.p95), ratio: warm === undefined ? '' : `1/${Math.round(warm / hit.stats.median).toLocaleString('en')} of a warm verification`, target: '< 50 µs', met: met(hit.stats.median < 0.05) },
    { measurement: `   ModuleGate.check answered from the cache (the tag is resolved every time: ${gateRequestsPerCall.toFixed(1)} HTTP requests per call)`, median: ms(gateHit.stats.median), p95: ms(gateHit.stats.p95), ratio: ratio(gateHit.stats.median / manifestGet.stats.median, 'of one manifest GET'), target: '', met: '' },
    { measurement: '   baseline: one bare manifest GET (fetch)', median: ms(manifestGet.stats.median), p95: ms(manifestGet.stats.p95), ratio: '', target: '', met: '' },
  );
  figures['cache'] = { resultCacheGet: { ...hit.stats }, gateCheckHit: summary(gateHit, { requestsPerCall: gateRequestsPerCall }), manifestGet: summary(manifestGet) };
}

// ---------------------------------------------------------------------------
// Main

function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    platform: `${process.platform} ${release()} ${process.arch}`,
    node: process.version,
    sigverify: VERSION,
    versions: {
      '@sigstore/verify': versionOf('@sigstore/verify'),
      '@sigstore/bundle': versionOf('@sigstore/bundle'),
      '@sigstore/core': versionOf('@sigstore/core'),
      ...(existsSync(join(REPO_ROOT, 'node_modules', '@sigstore', 'cli')) ? { '@sigstore/cli': versionOf('@sigstore/cli') } : {}),
    },
    registry: 'Debian docker-registry (CNCF distribution 2.8) on 127.0.0.1, filesystem storage, same machine',
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  progress(`sections: ${[...selected].join(', ')}; ${CONFIG.imagesPerFormat} images per format`);
  if (loadAtStart > 0.5) progress(`warning: load average ${loadAtStart.toFixed(2)} before the run: other processes are using the CPUs, figures will be pessimistic`);
  const work = await mkdtemp(join(tmpdir(), 'sigverify-bench-'));
  const registry = await startRegistry();
  try {
    const minter = await createMinter(`${registry.host}/${BENCH_REPOSITORY}`);
    const images: Record<Format, MintedImage[]> = { legacy: [], bundle: [] };
    const mintStart = performance.now();
    for (let i = 0; i < CONFIG.imagesPerFormat; i++) for (const format of FORMATS) images[format].push(minter.mint(format, i));
    const mintMs = performance.now() - mintStart;
    progress(`minted ${2 * CONFIG.imagesPerFormat} signed images in ${(mintMs / 1000).toFixed(1)} s; pushing to ${registry.host}`);
    const pushStart = performance.now();
    const all = [...images.legacy, ...images.bundle];
    await pushImages(registry.url, all, CONFIG.pushConcurrency, (done) => {
      if (done % 500 === 0) progress(`pushed ${done}/${all.length}`);
    });
    const pushMs = performance.now() - pushStart;
    progress(`pushed in ${(pushMs / 1000).toFixed(1)} s`);

    const ctx: Context = {
      registry,
      images,
      sigstore: minter.sigstore,
      work,
      trustedRoot: TrustedRoot.fromJSON(JSON.parse(await readFile(TEST_TRUSTED_ROOT, 'utf8'))),
      warmMedian: {},
      inMemoryCpu: {},
    };
    const run: Record<Section, (c: Context) => Promise<void>> = { warm: warmSection, cpu: cpuSection, cold: coldSection, throughput: throughputSection, requests: requestsSection, cache: cacheSection };
    const contention: Record<string, number | undefined> = {};
    const runStart = cpuAccounting();
    const runStartWall = performance.now();
    for (const section of SECTIONS) {
      if (!selected.has(section)) continue;
      const before = cpuAccounting();
      const sectionStart = performance.now();
      await run[section](ctx);
      contention[section] = othersShare(before, cpuAccounting(), performance.now() - sectionStart);
    }
    contention['all'] = othersShare(runStart, cpuAccounting(), performance.now() - runStartWall);
    const busy = Object.entries(contention).filter(([, share]) => share !== undefined && share >= 5);
    if (busy.length > 0) {
      notes.push(`Other processes on this machine used CPU during the run (share of all ${cpus().length} cores, per section): ${busy.map(([section, share]) => `${section} ${(share ?? 0).toFixed(0)} %`).join(', ')}. Figures taken under contention are pessimistic.`);
    }

    const durationS = (performance.now() - started) / 1000;
    const loadAtEnd = loadavg()[0] ?? 0;
    const description = machine();
    const targetsTable = targetsMarkdown(targetList());
    const table = `${targetsTable}\n${markdownTable(rows)}`;
    const header = `Machine: ${String(description['cpus'])} × ${String(description['cpuModel'])}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, @sigstore/verify ${versionOf('@sigstore/verify')}; ${CONFIG.imagesPerFormat} images per format (minted ${(mintMs / 1000).toFixed(1)} s, pushed ${(pushMs / 1000).toFixed(1)} s); whole run ${durationS.toFixed(0)} s; load average (1 min) ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end (this run's own load included).`;
    const markdown = `${header}\n\n${table}${notes.length > 0 ? `\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
    process.stdout.write(markdown);

    const results = join(REPO_ROOT, 'bench', 'results');
    await mkdir(results, { recursive: true });
    await writeFile(join(results, 'results.md'), `# sigverify benchmark\n\nCommand: \`npm run bench\`\n\n${markdown}`);
    await writeFile(
      join(results, 'results.json'),
      `${JSON.stringify({ mediaType: 'application/vnd.sigverify.bench-results+json;version=1', date: new Date().toISOString(), machine: description, config: CONFIG, sections: [...selected], mintMs, pushMs, durationS, loadAverage: { start: loadAtStart, end: loadAtEnd }, otherProcessesCpuSharePercent: contention, targets: targetList(), table: rows, notes, figures }, null, 1)}\n`,
    );
    if (chartPanels.length > 0) {
      await writeFile(join(results, 'latency.svg'), svgChart('sigverify latency distributions', `${String(description['cpus'])} × ${String(description['cpuModel'])}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`, chartPanels));
    }
    progress(`wrote bench/results/results.md, results.json${chartPanels.length > 0 ? ', latency.svg' : ''}; ${durationS.toFixed(0)} s in all${durationS > 300 ? ' (OVER the 5-minute budget)' : ''}`);
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
