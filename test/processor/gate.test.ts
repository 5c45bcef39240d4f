import { createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditRecord, AuditLog, verifyAuditLog } from '../../src/audit/index.ts';
import { ResultCache } from '../../src/cache/index.ts';
import { type GateOptions, ModuleGate, checkProcessorConfig, compileModulePolicy, gateModule } from '../../src/processor/index.ts';
import { resolveReference } from '../../src/verify/index.ts';
import { ContentStores } from '../../src/registry/index.ts';
import { parseReference } from '../../src/reference/index.ts';
import { sha256Digest } from '../../src/reference/index.ts';
import { staticCredentials } from '../../src/registry/index.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { runCli } from '../helpers/cli.ts';
import { COSIGN_PUB, FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, OTHER_TRUSTED_ROOT, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { type RunningRegistry, startRegistry, unusedLoopbackAddress } from '../helpers/registry/docker-registry.ts';
import { pushLayoutAll, pushLayoutImage } from '../helpers/registry/push.ts';

/**
 * The processor gate against Debian's real docker-registry on loopback:
 * module policies in, "run exactly this digest" (or a typed refusal) out,
 * every decision in the audit trail.
 */
let registry: RunningRegistry | undefined;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushLayoutAll(running().url, 'fixtures', FIXTURE_LAYOUT);
  dir = await mkdtemp(join(tmpdir(), 'sigverify-gate-'));
});

afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

function running(): RunningRegistry {
  if (registry === undefined) throw new Error('registry not started');
  return registry;
}
const image = (tag: string, repo = 'fixtures') => `${running().host}/${repo}:${tag}`;
const pinned = (digest: string, repo = 'fixtures') => `${running().host}/${repo}@${digest}`;

/** A keyless module policy for a fixture, the way a processor writes it. */
const moduleFor = (tag: string, extra: Record<string, unknown> = {}, repo = 'fixtures') => ({
  module_name: `seg-${tag}`,
  docker_tag: image(tag, repo),
  require_signature: true,
  signature_certificate_identity: FIXTURE_IDENTITY,
  signature_certificate_oidc_issuer: FIXTURE_ISSUER,
  trust: { source: 'trusted-root', path: TEST_TRUSTED_ROOT } as const,
  network_mode: 'none',
  requires_root: false,
  ...extra,
});

// Anonymous: no developer Docker credentials leak into the tests.
/** The fixtures are signed by sigverify's test Sigstore: the gate accepts its root only when told this is a test. */
const ANONYMOUS: GateOptions = { credentials: staticCredentials({}), allowTestTrustRootUnsafe: true };
let logs = 0;
const auditPath = () => join(dir, `audit-${++logs}.jsonl`);
const records = async (path: string): Promise<AuditRecord[]> =>
  (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditRecord);

/** Counts registry requests, to show what a cache hit still does (resolve the tag) and what it skips. */
function countingFetch(): { fetch: typeof fetch; count: () => number } {
  let n = 0;
  return {
    fetch: (input, init) => {
      n += 1;
      return globalThis.fetch(input, init);
    },
    count: () => n,
  };
}

describe('gateModule against a real registry', () => {
  it('passes a signed module and pins the digest it verified', async () => {
    const path = auditPath();
    const gate = await gateModule(moduleFor('signed'), { ...ANONYMOUS, audit: new AuditLog(path, { fsync: false }) });
    expect(gate).toMatchObject({
      mediaType: 'application/vnd.sigverify.gate-result+json;version=1',
      module: 'seg-signed',
      requestedReference: image('signed'),
      reference: pinned(fixtureDigest('signed')),
      digest: fixtureDigest('signed'),
      decision: 'verified',
      cached: false,
      attestations: [],
      result: { verified: true, digest: fixtureDigest('signed') },
    });
    expect(gate.reference).not.toContain(':signed');
    const [record] = await records(path);
    expect(record).toMatchObject({
      seq: 1,
      module: 'seg-signed',
      reference: image('signed'),
      digest: fixtureDigest('signed'),
      pinnedReference: gate.reference,
      decision: 'verified',
      cached: false,
      policyDigest: gate.policyDigest,
      signer: { identity: FIXTURE_IDENTITY, identityKind: 'uri', issuer: FIXTURE_ISSUER, githubWorkflow: { repository: 'example-org/brain-seg', ref: 'refs/tags/v2.1.0' } },
      tlog: { logIndex: expect.any(Number) as number, integratedTime: expect.stringMatching(/^\d{4}-/) as string },
      trust: { source: `trusted_root.json file ${TEST_TRUSTED_ROOT}`, location: TEST_TRUSTED_ROOT, digest: gate.result?.trustRoot.digest },
      verifiedAt: gate.result?.verifiedAt,
      host: hostname(),
    });
    expect(record?.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(record?.durationMs).toBeGreaterThan(0);
    expect(gate.audit).toEqual(record);
  });

  it('a tag moved after verification: the pinned digest still names the verified image, and the next gate call refuses', async () => {
    await pushLayoutAll(running().url, 'moved', FIXTURE_LAYOUT);
    const path = auditPath();
    const gate = new ModuleGate({ ...ANONYMOUS, audit: new AuditLog(path, { fsync: false }), cache: new ResultCache() });
    const first = await gate.check(moduleFor('signed', {}, 'moved'));
    expect(first.reference).toBe(pinned(fixtureDigest('signed'), 'moved'));

    // Someone pushes other content under the same tag.
    await pushLayoutImage(running().url, 'moved', FIXTURE_LAYOUT, 'unsigned', 'signed');
    const stores = new ContentStores({ credentials: staticCredentials({}) });
    expect((await resolveReference(image('signed', 'moved'), { stores })).digest).toBe(fixtureDigest('unsigned'));
    // What the processor was told to run is still exactly the verified image.
    const stillPinned = await stores.open(parseReference(first.reference)).getManifest(fixtureDigest('signed'));
    expect(stillPinned?.digest).toBe(fixtureDigest('signed'));

    // The tag is resolved again (never cached): the new content has no signature.
    await expect(gate.check(moduleFor('signed', {}, 'moved'))).rejects.toMatchObject({ name: 'SigverifyError', code: 'NO_SIGNATURES', details: { digest: fixtureDigest('unsigned') } });
    const [, refusal] = await records(path);
    expect(refusal).toMatchObject({ seq: 2, decision: 'rejected', reason: 'NO_SIGNATURES', digest: fixtureDigest('unsigned'), cached: false, module: 'seg-signed' });
    expect(refusal?.pinnedReference).toBeUndefined();
  });

  it('require_signature false: still resolves and pins the digest, and records that no signature was required', async () => {
    const path = auditPath();
    const gate = await gateModule({ module_name: 'legacy', docker_tag: image('unsigned'), require_signature: false }, { ...ANONYMOUS, audit: new AuditLog(path, { fsync: false }) });
    expect(gate).toMatchObject({ reference: pinned(fixtureDigest('unsigned')), digest: fixtureDigest('unsigned'), decision: 'signature-not-required', cached: false });
    expect(gate.result).toBeUndefined();
    const [record] = await records(path);
    expect(record).toMatchObject({ decision: 'signature-not-required', digest: fixtureDigest('unsigned'), pinnedReference: gate.reference, policyDigest: gate.policyDigest });
    expect(record?.signer).toBeUndefined();
  });

  it('verifies every required attestation against the same digest as the signature', async () => {
    const path = auditPath();
    const gate = await gateModule(moduleFor('attested-legacy', { required_attestations: ['slsaprovenance1'] }), { ...ANONYMOUS, audit: new AuditLog(path, { fsync: false }) });
    expect(gate.attestations).toHaveLength(1);
    expect(gate.attestations?.[0]).toMatchObject({ verified: true, digest: fixtureDigest('attested-legacy'), purpose: { kind: 'attestation', predicateType: 'https://slsa.dev/provenance/v1' } });
    expect(gate.result?.digest).toBe(fixtureDigest('attested-legacy'));
    const [record] = await records(path);
    expect(record?.attestations).toEqual([expect.objectContaining({ predicateType: 'https://slsa.dev/provenance/v1', identity: FIXTURE_IDENTITY, issuer: FIXTURE_ISSUER })]);
    // No statement, no provenance document in the trail.
    expect(JSON.stringify(record)).not.toContain('buildDefinition');
  });

  it('refuses a signed image that lacks a required attestation with ATTESTATION_NOT_VERIFIED', async () => {
    const path = auditPath();
    await expect(gateModule(moduleFor('signed', { required_attestations: ['slsaprovenance1'] }), { ...ANONYMOUS, audit: new AuditLog(path, { fsync: false }) }))
      .rejects.toMatchObject({ code: 'ATTESTATION_NOT_VERIFIED', kind: 'rejected', details: { predicateType: 'https://slsa.dev/provenance/v1' } });
    expect((await records(path))[0]).toMatchObject({ decision: 'rejected', reason: 'ATTESTATION_NOT_VERIFIED', digest: fixtureDigest('signed') });
  });

  it('pins the platform child of a multi-arch image, verified through its signed index', async () => {
    const gate = await gateModule(moduleFor('multiarch', { platform: 'linux/arm64' }), ANONYMOUS);
    expect(gate).toMatchObject({ digest: fixtureDigest('multiarch'), reference: pinned('sha256:1a2c35d5c951c42e16f392e11055694cf7fcfb42d12ef1eb78f35b88b5d62074'), result: { platform: { signed: 'index' } } });
  });

  it('key mode: the audit trail records the key only as its sha256', async () => {
    const path = auditPath();
    const gate = await gateModule({ module_name: 'keyed', docker_tag: image('signed-key'), signature_public_key_file: COSIGN_PUB, trust: { source: 'trusted-root', path: TEST_TRUSTED_ROOT } }, { ...ANONYMOUS, audit: new AuditLog(path, { fsync: false }) });
    expect(gate.decision).toBe('verified');
    const pem = await readFile(COSIGN_PUB, 'utf8');
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    const [record] = await records(path);
    expect(record?.signer).toEqual({ publicKeySha256: sha256Digest(der) });
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('PUBLIC KEY');
    expect(text).not.toContain(pem.split('\n')[1]);
  });

  it('audits refusals before any network: an invalid policy is recorded as invalid (POLICY_INVALID), not rejected', async () => {
    const path = auditPath();
    await expect(gateModule({ module_name: 'broken', docker_tag: image('signed') }, { ...ANONYMOUS, audit: new AuditLog(path, { fsync: false }) })).rejects.toMatchObject({ code: 'POLICY_INVALID' });
    expect((await records(path))[0]).toMatchObject({ module: 'broken', reference: image('signed'), decision: 'invalid', reason: 'POLICY_INVALID' });
  });

  it('an unreachable registry is "unavailable" (exit 3), and recorded so', async () => {
    const path = auditPath();
    const docker_tag = `${await unusedLoopbackAddress()}/fixtures:signed`;
    await expect(gateModule(moduleFor('signed', { docker_tag }), { ...ANONYMOUS, audit: new AuditLog(path, { fsync: false }) })).rejects.toMatchObject({ code: 'REGISTRY_UNREACHABLE', kind: 'unavailable' });
    expect((await records(path))[0]).toMatchObject({ decision: 'unavailable', reason: 'REGISTRY_UNREACHABLE' });
  });

  it('a trust source given to the gate overrides the module policy trust', async () => {
    await expect(gateModule(moduleFor('signed'), { ...ANONYMOUS, trust: trustedRootFile(OTHER_TRUSTED_ROOT) })).rejects.toMatchObject({ code: 'NO_MATCHING_SIGNATURE' });
    expect((await gateModule(moduleFor('signed-other-sigstore'), { ...ANONYMOUS, trust: trustedRootFile(OTHER_TRUSTED_ROOT) })).decision).toBe('verified');
  });

  it('loads a trust root once per refresh period, not once per call', async () => {
    let now = Date.UTC(2026, 5, 1);
    let loads = 0;
    const file = trustedRootFile(TEST_TRUSTED_ROOT);
    const trust = { description: file.description, key: file.key, load: () => { loads += 1; return file.load(); } };
    const gate = new ModuleGate({ ...ANONYMOUS, trust, clock: () => now, trustRefreshMs: 60_000 });
    const module = moduleFor('signed', { required_attestations: [] });
    await gate.check(module);
    await gate.check(module);
    expect(loads).toBe(1);
    now += 60_000;
    await gate.check(module);
    expect(loads).toBe(2);
  });

  it('nothing runs unaudited: a failing audit sink refuses a verified module with AUDIT_UNAVAILABLE', async () => {
    const audit = { append: () => Promise.reject(new Error('disk full')) };
    await expect(gateModule(moduleFor('signed'), { ...ANONYMOUS, audit })).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE', kind: 'unavailable' });
  });
});

describe('result cache through the gate', () => {
  it('hits within the TTL (still resolving the tag, and still audited as cached), misses after it', async () => {
    let now = Date.UTC(2026, 5, 1);
    const clock = () => now;
    const counter = countingFetch();
    const path = auditPath();
    const gate = new ModuleGate({ ...ANONYMOUS, fetch: counter.fetch, clock, cache: new ResultCache({ ttlMs: 60_000, now: clock }), audit: new AuditLog(path, { fsync: false }) });
    const module = await compileModulePolicy(moduleFor('signed'));

    const miss = await gate.check(module);
    expect(miss.cached).toBe(false);
    const before = counter.count();
    const hit = await gate.check(module);
    // One request: the tag → digest resolution. No signature was fetched or verified.
    expect(counter.count() - before).toBe(1);
    expect(hit).toMatchObject({ cached: true, reference: miss.reference, digest: miss.digest, policyDigest: miss.policyDigest });
    expect(hit.result).toBe(miss.result);

    now += 60_000;
    const expired = await gate.check(module);
    expect(expired.cached).toBe(false);
    expect(counter.count() - before).toBeGreaterThan(3);

    const trail = await records(path);
    expect(trail.map((r) => r.cached)).toEqual([false, true, false]);
    // The hit names the verification it reused.
    expect(trail[1]?.resultDigest).toBe(trail[0]?.resultDigest);
    expect(trail[1]?.verifiedAt).toBe(trail[0]?.verifiedAt);
    expect(trail[2]?.resultDigest).not.toBe(trail[0]?.resultDigest);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 3 });
  });

  it('another policy is another key: a stricter policy is verified, not answered from the cache', async () => {
    const cache = new ResultCache();
    const gate = new ModuleGate({ ...ANONYMOUS, cache });
    expect((await gate.check(moduleFor('signed'))).cached).toBe(false);
    await expect(gate.check(moduleFor('signed', { signature_annotations: { release: 'v9' } }))).rejects.toMatchObject({ code: 'NO_MATCHING_SIGNATURE' });
    expect((await gate.check(moduleFor('signed'))).cached).toBe(true);
  });

  it('the on-disk cache serves a second process (another gate and cache instance)', async () => {
    const cacheDir = join(dir, 'cache-shared');
    const first = await new ModuleGate({ ...ANONYMOUS, cache: new ResultCache({ directory: cacheDir }) }).check(moduleFor('signed'));
    const second = await new ModuleGate({ ...ANONYMOUS, cache: new ResultCache({ directory: cacheDir }) }).check(moduleFor('signed'));
    expect(first.cached).toBe(false);
    expect(second).toMatchObject({ cached: true, reference: first.reference, result: { verifiedAt: first.result?.verifiedAt } });
  });
});

describe('checkProcessorConfig', () => {
  it('checks every module and reports each outcome', async () => {
    const checks = await checkProcessorConfig({
      processor_name: 'dicom-router',
      modules: {
        seg: moduleFor('signed'),
        legacy: { docker_tag: image('unsigned'), require_signature: false },
        unsigned: moduleFor('unsigned'),
        broken: { docker_tag: image('signed'), signature_certificate_identity: FIXTURE_IDENTITY },
      },
    }, ANONYMOUS);
    expect(checks.map((c) => c.module)).toEqual(['seg', 'legacy', 'unsigned', 'broken']);
    expect(checks.map((c) => (c.outcome.ok ? c.outcome.gate.decision : (c.outcome.error as { code: string }).code))).toEqual(['verified', 'signature-not-required', 'NO_SIGNATURES', 'POLICY_INVALID']);
    const broken = checks[3]?.outcome;
    expect(broken?.ok === false && broken.error).toMatchObject({ details: { path: 'modules.broken.signature_certificate_oidc_issuer' } });
  });
});

/**
 * The CLI commands as a subprocess of the built code (`npm run build`).
 * They are called through their entry points until main.ts dispatches
 * `check-module` / `check-config` to them.
 */


describe('sigverify check-module / check-config (CLI subprocess)', () => {
  it('check-module prints only the pinned reference on stdout, audits, and reuses its cache', async () => {
    const file = join(dir, 'module-signed.json');
    // Relative paths in a module file are relative to the file.
    await writeFile(file, JSON.stringify(moduleFor('signed', { trust: { source: 'trusted-root', path: TEST_TRUSTED_ROOT } })));
    const log = auditPath();
    const cacheDir = join(dir, 'cli-cache');
    const first = await runCli(['check-module', file, '--allow-test-trust-root-unsafe', '--audit-log', log, '--cache-dir', cacheDir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`${pinned(fixtureDigest('signed'))}\n`);
    expect(first.stderr).toContain('✓ Module seg-signed: signature verification PASSED');
    const second = await runCli(['check-module', file, '--allow-test-trust-root-unsafe', '--audit-log', log, '--cache-dir', cacheDir, '--output', 'json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ decision: 'verified', cached: true, reference: pinned(fixtureDigest('signed')), audit: { seq: 2 } });
    expect((await records(log)).map((r) => r.cached)).toEqual([false, true]);
  });

  it('check-module exits 1 with the reason on stderr for an unsigned image, 2 for an invalid policy', async () => {
    const unsigned = join(dir, 'module-unsigned.json');
    await writeFile(unsigned, JSON.stringify(moduleFor('unsigned')));
    const refused = await runCli(['check-module', unsigned, '--allow-test-trust-root-unsafe']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('[NO_SIGNATURES]');
    const invalid = join(dir, 'module-invalid.json');
    await writeFile(invalid, JSON.stringify({ docker_tag: image('signed') }));
    const usage = await runCli(['check-module', invalid, '--allow-test-trust-root-unsafe', '--output', 'json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({ decision: 'invalid', error: { code: 'POLICY_INVALID' } });
  });

  it('check-config prints a table and exits 0 only when every module may run', async () => {
    const good = join(dir, 'processor-good.json');
    await writeFile(good, JSON.stringify({ modules: { seg: moduleFor('signed'), legacy: { docker_tag: image('unsigned'), require_signature: false } }, listen_port: 104 }));
    const ok = await runCli(['check-config', good, '--allow-test-trust-root-unsafe']);
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^MODULE\s+DECISION\s+REFERENCE OR REASON$/);
    expect(lines[1]).toMatch(new RegExp(`^seg\\s+verified\\s+${pinned(fixtureDigest('signed')).replace(/[.]/g, '\\.')}$`));
    expect(lines[2]).toMatch(/^legacy\s+signature-not-required\s+\S+@sha256:/);

    const bad = join(dir, 'processor-bad.json');
    await writeFile(bad, JSON.stringify({ modules: { seg: moduleFor('signed'), unsigned: moduleFor('unsigned') } }));
    const refused = await runCli(['check-config', bad, '--allow-test-trust-root-unsafe', '--output', 'json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, modules: [{ module: 'seg', decision: 'verified' }, { module: 'unsigned', decision: 'rejected', error: { code: 'NO_SIGNATURES' } }] });
  });
});
