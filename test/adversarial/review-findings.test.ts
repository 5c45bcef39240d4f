import { chmod, chown, copyFile, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, SigverifyError } from '../../src/errors.ts';
import { compileModulePolicy, parseModulePolicy } from '../../src/processor/index.ts';
import { trustSourceOf } from '../../src/processor/trust.ts';
import { TEST_TRUST_ROOT_WARNING, trustedRootFile } from '../../src/trust-root/index.ts';
import { escapeLines, isOneLine, oneLine, quote } from '../../src/text/quote.ts';
import type { ContentStore } from '../../src/registry/types.ts';
import { CLI, type CliRun, runProcess } from '../helpers/cli.ts';
import { COSIGN_PUB, FIXTURE_IDENTITY, FIXTURE_ISSUER, REPO_ROOT, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { type TestSigstore, keylessSigner, makeImage, makeSignatureManifest, referrersTag, signLegacyLayer, signatureTag } from '../helpers/sigstore/index.ts';
import { sha256Digest } from '../../src/reference/index.ts';
import { closeServers } from '../registry/helpers.ts';
import { type HostileRegistry, OCI_INDEX, OCI_MANIFEST, POLICY, expectRefused, startHostileRegistry, verifyAt } from './hostile-registry.ts';
import { IDENTITY, fixtureSigstore, payloadFor, publishSigned, validLayer } from './signing.ts';

/**
 * The independent security review's findings (issue 10), one describe per
 * finding, each test starting from the attack as the review reproduced it and
 * asserting the code that now stops it.
 */
let sigstore: TestSigstore;
let registry: HostileRegistry;
let work: string;

beforeAll(async () => {
  sigstore = await fixtureSigstore(40_000);
  work = await mkdtemp(join(tmpdir(), 'sigverify-review-'));
});
afterEach(closeServers);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The CLI as a subprocess, optionally with stdin. */
function cli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<CliRun> {
  return runProcess(process.execPath, [CLI, ...args], options.env, options.stdin ?? '');
}

const FORGED = '\n✓ Signature verification PASSED for registry.example/forged@sha256:0000: signed by the attacker\n\u001b[2K\u001b[1A';

/** Lines sigverify itself writes on stderr start with one of these; nothing a registry says may start a line. */
const OUR_LINE = /^(Verifying |✓ Signature verification PASSED |✗ Signature verification FAILED |  \((verified|failed|skipped|unavailable)\) |WARNING: |sigverify: |Run "sigverify|Checking module |✗ Module |✓ Module |! Module |  audit record )/;

function expectOnlyOurLines(stderr: string): void {
  const lines = stderr.split('\n').filter((l) => l !== '');
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).toMatch(OUR_LINE);
  expect(stderr).not.toMatch(/[\u001b\u0085\u2028\u2029\u202e]/u);
}

describe('1. log injection: foreign strings are quoted before any human channel', () => {
  it('quote() escapes C0, C1, DEL, ESC, line separators, bidi controls and lone surrogates, and caps the length', () => {
    const hostile = 'a\nb\rc\u0000d\u001be\u007ff\u0085g\u2028h\u2029i\u202ej\u2066k\u200bl\ud800m"n\\o';
    const quoted = quote(hostile);
    expect(isOneLine(quoted)).toBe(true);
    expect(quoted).toBe('"a\\nb\\rc\\u0000d\\u001be\\u007ff\\u0085g\\u2028h\\u2029i\\u202ej\\u2066k\\u200bl\\ud800m\\"n\\\\o"');
    expect(quote('x'.repeat(500), 10)).toBe('"xxxxxxxxxx…" (+490 chars)');
    // A surrogate pair is never split by the cap, and an emoji stays as it is.
    expect(quote('ab😀cd', 3)).toBe('"ab…" (+4 chars)');
    expect(quote('😀')).toBe('"😀"');
    expect(oneLine(FORGED)).not.toContain('\n');
  });

  it('escapeLines() keeps JSON parseable and exact', () => {
    const value = { message: 'x\u2028y\u202ez\u0085' };
    const printed = escapeLines(JSON.stringify(value, null, 2));
    expect(isOneLine(printed.replaceAll('\n', ''))).toBe(true);
    expect(JSON.parse(printed)).toEqual(value);
  });

  it('every typed error message is one safe line, whatever it was built from', () => {
    const error = new SigverifyError('MANIFEST_INVALID', `media type ${FORGED}`);
    expect(isOneLine(error.message)).toBe(true);
  });

  it('a manifest media type forging a PASS line (stderr, text): exit 1, every stderr line is ours', async () => {
    registry = await startHostileRegistry();
    const manifest = JSON.parse(registry.manifest('signed').bytes.toString('utf8')) as Record<string, unknown>;
    registry.putManifest(Buffer.from(JSON.stringify({ ...manifest, mediaType: `application/evil${FORGED}` })), OCI_MANIFEST, 'forged');
    const run = await cli(['verify', registry.ref('forged'), '--trusted-root', TEST_TRUSTED_ROOT, '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER]);
    expect(run.code).toBe(1);
    expectOnlyOurLines(run.stderr);
    expect(run.stderr).toContain('MANIFEST_INVALID');
    expect(run.stderr).toContain('\\n✓ Signature verification PASSED');
  });

  it('the same attack with --output json: stdout parses, error.message holds the escaped text exactly', async () => {
    registry = await startHostileRegistry();
    const manifest = JSON.parse(registry.manifest('signed').bytes.toString('utf8')) as Record<string, unknown>;
    registry.putManifest(Buffer.from(JSON.stringify({ ...manifest, mediaType: `application/evil${FORGED}` })), OCI_MANIFEST, 'forged');
    const run = await cli(['verify', registry.ref('forged'), '--output', 'json', '--trusted-root', TEST_TRUSTED_ROOT, '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER]);
    expect(run.code).toBe(1);
    const document = JSON.parse(run.stdout) as { verified: boolean; error: { code: ErrorCode; message: string } };
    expect(document).toMatchObject({ verified: false, error: { code: 'MANIFEST_INVALID' } });
    expect(isOneLine(document.error.message)).toBe(true);
    expect(document.error.message).toContain(quote(`application/evil${FORGED}`));
    expectOnlyOurLines(run.stderr);
  });

  it('a signature layer media type and a payload type forging lines (per-signature reasons): every stderr line is ours', async () => {
    registry = await startHostileRegistry();
    publishSigned(registry, 'two-forged', (digest) => [
      { ...validLayer(sigstore, digest), mediaType: `application/x${FORGED}` },
      signLegacyLayer({ payload: payloadFor(digest, { type: `cosign container image signature${FORGED}` }), signer: keylessSigner(sigstore, IDENTITY), rekor: sigstore.rekor }),
    ]);
    const run = await cli(['verify', registry.ref('two-forged'), '--trusted-root', TEST_TRUSTED_ROOT, '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER]);
    expect(run.code).toBe(1);
    expectOnlyOurLines(run.stderr);
    expect(run.stderr).toContain('LAYER_MEDIA_TYPE');
    expect(run.stderr).toContain('PAYLOAD_TYPE_MISMATCH');
  });

  it.skipIf(spawnSync('python3', ['--version']).status !== 0)('the Python gate\'s log (python/, the sigverify package): every line starts with its own level and logger name', async () => {
    registry = await startHostileRegistry();
    const manifest = JSON.parse(registry.manifest('signed').bytes.toString('utf8')) as Record<string, unknown>;
    registry.putManifest(Buffer.from(JSON.stringify({ ...manifest, mediaType: `application/evil${FORGED}` })), OCI_MANIFEST, 'forged');
    const module = join(work, 'forged-module.json');
    await writeFile(module, JSON.stringify({ module_name: 'forged', docker_tag: registry.ref('forged'), signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER, trust: { source: 'trusted-root', path: TEST_TRUSTED_ROOT } }));
    // The package from its source (python/src), run against the built CLI; the error's text goes to the log too.
    const driver = [
      'import logging, sys',
      'sys.path.insert(0, sys.argv[1])',
      'import sigverify',
      'logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")',
      'try:',
      '    sigverify.verify_module(sys.argv[2], executable=sys.argv[3:], allow_test_trust_root_unsafe=True)',
      'except sigverify.GateError as error:',
      '    logging.getLogger("sigverify").error("%s", error)',
      '    sys.exit(error.exit_status)',
    ].join('\n');
    const run = await runProcess('python3', ['-B', '-c', driver, join(REPO_ROOT, 'python', 'src'), module, process.execPath, CLI], { PYTHONDONTWRITEBYTECODE: '1' });
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^(ERROR|WARNING|INFO|DEBUG) sigverify: /);
    expect(run.stderr).not.toMatch(/[\u001b\u0085\u2028\u2029\u202e]/u);
  });

  it('zod issue paths built from attacker keys are quoted', async () => {
    registry = await startHostileRegistry();
    registry.putManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: 1, layers: [], [`k${FORGED}`]: 1 })), OCI_MANIFEST, 'keys');
    const { error } = await expectRefused(verifyAt(registry.ref('keys')), 'MANIFEST_INVALID');
    expect(isOneLine(error.message)).toBe(true);
  });
});

describe('2. trust material never resolves against a temporary directory; foreign-owned or writable files are refused', () => {
  const policy = (trust: Record<string, unknown>): string => JSON.stringify({
    docker_tag: 'registry.example/algo:v1',
    signature_certificate_identity: FIXTURE_IDENTITY,
    signature_certificate_oidc_issuer: FIXTURE_ISSUER,
    trust,
  });

  it('the review\'s attack: nested assembled paths planted in a world-writable base (like /tmp): LOCAL_FILE_UNSAFE, exit 2', async () => {
    const shared = join(work, 'shared-tmp');
    await mkdir(join(shared, 'trust'), { recursive: true });
    await chmod(shared, 0o1777);
    await writeFile(join(shared, 'trust', 'fulcio.pem'), 'planted by another user');
    const run = await cli(['check-module', '-', '--base-dir', shared, '--output', 'json'], {
      stdin: policy({ source: 'assembled', fulcio: [{ cert_chain: 'trust/fulcio.pem', valid_for: { start: '2020-01-01T00:00:00Z' } }] }),
    });
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe('LOCAL_FILE_UNSAFE');
  });

  it('a policy on stdin without --base-dir is a usage error', async () => {
    const run = await cli(['check-module', '-'], { stdin: policy({ source: 'public-good' }) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--base-dir');
  });

  it('a trusted_root.json that group or others can write: LOCAL_FILE_UNSAFE', async () => {
    const file = join(work, 'writable_root.json');
    await copyFile(TEST_TRUSTED_ROOT, file);
    await chmod(file, 0o666);
    await expect(trustedRootFile(file).load()).rejects.toMatchObject({ code: 'LOCAL_FILE_UNSAFE' });
  });

  it('a public key that is a symbolic link: LOCAL_FILE_UNSAFE, exit 2', async () => {
    const link = join(work, 'linked.pub');
    await symlink(COSIGN_PUB, link);
    const run = await cli(['verify', 'oci:fixtures/layout:signed-key', '--key', link, '--output', 'json']);
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe('LOCAL_FILE_UNSAFE');
  });

  it.skipIf(process.getuid?.() !== 0)('a trust file another user owns: LOCAL_FILE_UNSAFE (needs root to chown; skipped otherwise)', async () => {
    const file = join(work, 'nobody_root.json');
    await copyFile(TEST_TRUSTED_ROOT, file);
    await chown(file, 65534, 65534);
    await expect(trustedRootFile(file).load()).rejects.toMatchObject({ code: 'LOCAL_FILE_UNSAFE' });
  });
});

describe('3. the TUF cache is a private directory of this user', () => {
  /** The qualification kit's TUF repository (its timestamp has expired: initialising needs the opt-out). */
  const KIT_TUF = ['--from-dir', join(REPO_ROOT, 'fixtures', 'qualify', 'tuf-expired'), '--root', join(REPO_ROOT, 'fixtures', 'qualify', 'tuf-expired-root.json')];

  it('a cache directory someone else created first (world-writable): verify refuses it, LOCAL_FILE_UNSAFE, exit 2', async () => {
    const planted = join(work, 'planted-cache');
    await mkdir(planted);
    await chmod(planted, 0o777);
    await writeFile(join(planted, 'config.json'), JSON.stringify({ mediaType: 'application/vnd.sigverify.trust-config+json;version=1', trust: { source: 'trusted-root', path: '/attacker/root.json' } }));
    const run = await cli(['verify', 'oci:fixtures/layout:signed', '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--output', 'json'], { env: { SIGVERIFY_TUF_CACHE: planted } });
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe('LOCAL_FILE_UNSAFE');
  });

  it('trust init into a planted directory with a symlink at the old predictable temp name: refused, the link target untouched', async () => {
    const planted = join(work, 'planted-init');
    const victim = join(work, 'victim.txt');
    await writeFile(victim, 'precious');
    await mkdir(planted);
    await chmod(planted, 0o777);
    await symlink(victim, join(planted, 'config.json.12345.tmp'));
    const run = await cli(['trust', 'init', ...KIT_TUF, '--cache', planted]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('LOCAL_FILE_UNSAFE');
    expect(await readFile(victim, 'utf8')).toBe('precious');
  });

  it('a cache directory that is a symbolic link: LOCAL_FILE_UNSAFE', async () => {
    const real = join(work, 'real-cache');
    await mkdir(real, { mode: 0o700 });
    const link = join(work, 'linked-cache');
    await symlink(real, link);
    const run = await cli(['verify', 'oci:fixtures/layout:signed', '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--output', 'json'], { env: { SIGVERIFY_TUF_CACHE: link } });
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe('LOCAL_FILE_UNSAFE');
  });

  it('a new cache directory is created 0700', async () => {
    const fresh = join(work, 'fresh-cache', 'tuf');
    const run = await cli(['trust', 'init', ...KIT_TUF, '--allow-expired-trust-metadata-unsafe', '--cache', fresh]);
    expect(run.code).toBe(0);
    expect((await lstat(fresh)).mode & 0o777).toBe(0o700);
  });
});

describe('4. an SCT is required on the no-trusted-time path (--insecure-ignore-tlog), unless --insecure-ignore-sct', () => {
  const noTimeLayer = (digest: string, sct: boolean) =>
    signLegacyLayer({ payload: payloadFor(digest), signer: keylessSigner(sigstore, IDENTITY, { sct }) });

  it('the review\'s attack: a certificate without an SCT, no Rekor entry, no timestamp: CERTIFICATE_INVALID', async () => {
    registry = await startHostileRegistry();
    publishSigned(registry, 'no-sct', (digest) => [noTimeLayer(digest, false)]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('no-sct'), {}, { ...POLICY, ignoreTlogUnsafe: true }), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['CERTIFICATE_INVALID']);
  });

  it('control: with an SCT it verifies; without one, only with ignoreSctUnsafe', async () => {
    registry = await startHostileRegistry();
    publishSigned(registry, 'with-sct', (digest) => [noTimeLayer(digest, true)]);
    publishSigned(registry, 'no-sct', (digest) => [noTimeLayer(digest, false)]);
    expect((await verifyAt(registry.ref('with-sct'), {}, { ...POLICY, ignoreTlogUnsafe: true })).verified).toBe(true);
    const opted = await verifyAt(registry.ref('no-sct'), {}, { ...POLICY, ignoreTlogUnsafe: true, ignoreSctUnsafe: true });
    expect(opted).toMatchObject({ verified: true, policy: { requireSct: false } });
  });
});

describe('5. memoised trust is keyed by the whole trust configuration', () => {
  const module = (trust: Record<string, unknown>) => ({ docker_tag: 'registry.example/algo:v1', signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER, trust });

  it('a strict module and one opted into expired metadata never share a trust root or verifiers', async () => {
    const base = { source: 'tuf-mirror', url: 'https://tuf.example', root: '/etc/root.json' };
    const strict = await compileModulePolicy(module(base));
    const lax = await compileModulePolicy(module({ ...base, allow_expired_metadata_unsafe: true }));
    const otherCache = await compileModulePolicy(module({ ...base, cache_dir: '/var/cache/other' }));
    const otherRoot = await compileModulePolicy(module({ ...base, root: '/etc/other-root.json' }));
    const digests = [strict, lax, otherCache, otherRoot].map((m) => m.policyDigest(m.trust));
    expect(new Set(digests).size).toBe(4);
    const keys = [strict, lax].map((m) => trustSourceOf(m.config.trust as never, '/').key);
    expect(keys[0]).not.toBe(keys[1]);
  });
});

describe('6. module members that resemble ours are refused, not dropped', () => {
  const base = { docker_tag: 'registry.example/algo:v1', signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER };
  for (const [member, resembles] of [
    ['requiredAttestations', 'required_attestations'],
    ['certificate_github_workflow_ref', 'signature_github_workflow_ref'],
    ['signature-github-workflow-ref', 'signature_github_workflow_ref'],
    ['Signature_Github_Workflow_Ref', 'signature_github_workflow_ref'],
    ['annotations', 'signature_annotations'],
    ['requireSignature', 'require_signature'],
  ] as const) {
    it(`${member}: POLICY_INVALID at ${member}, naming ${resembles}`, () => {
      try {
        parseModulePolicy({ ...base, [member]: 'x' });
        expect.unreachable();
      } catch (error) {
        expect(error).toMatchObject({ code: 'POLICY_INVALID', details: { path: member } });
        expect((error as Error).message).toContain(resembles);
      }
    });
  }

  it('trust is snake_case too: cacheDir is refused, naming cache_dir', () => {
    expect(() => parseModulePolicy({ ...base, trust: { source: 'public-good', cacheDir: '/x' } })).toThrow(/cache_dir/);
    expect(parseModulePolicy({ ...base, trust: { source: 'public-good', cache_dir: '/x' } }).trust).toEqual({ source: 'public-good', cacheDir: '/x' });
  });

  it('control: the processor\'s own members pass', () => {
    expect(parseModulePolicy({ ...base, network_mode: 'none', gpu: true })).toMatchObject({ network_mode: 'none' });
  });
});

describe('7. a failure inside one signature is that signature\'s typed outcome', () => {
  it('the review\'s attack: a garbage certificate beside a valid signature (--insecure-ignore-tlog): the image verifies, the garbage is CERTIFICATE_INVALID', async () => {
    registry = await startHostileRegistry();
    publishSigned(registry, 'garbage-cert', (digest) => {
      const valid = validLayer(sigstore, digest);
      const annotations: Record<string, string> = { ...valid.annotations, 'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\nTUlJQmdhcmJhZ2U=\n-----END CERTIFICATE-----\n' };
      delete annotations['dev.sigstore.cosign/bundle'];
      return [{ ...valid, annotations }, valid];
    });
    const result = await verifyAt(registry.ref('garbage-cert'), {}, { ...POLICY, ignoreTlogUnsafe: true });
    expect(result.verified).toBe(true);
    expect(result.signatures.map((s) => s.reason?.code ?? s.outcome)).toEqual(['CERTIFICATE_INVALID', 'verified']);
  });

  it('an untyped error thrown while fetching one signature (a store bug): UNEXPECTED_ERROR for it, the other still counts', async () => {
    registry = await startHostileRegistry();
    const image = publishSigned(registry, 'two-layers', (digest) => [
      validLayer(sigstore, digest),
      signLegacyLayer({ payload: payloadFor(digest, { optional: { copy: 'second' } }), signer: keylessSigner(sigstore, IDENTITY), rekor: sigstore.rekor }),
    ]);
    const sigManifest = JSON.parse(registry.manifest(signatureTag(image.digest)).bytes.toString('utf8')) as { layers: { digest: string }[] };
    const broken = sigManifest.layers[0]?.digest;
    const { verifyImage } = await import('../../src/verify/index.ts');
    const { RegistryClient } = await import('../../src/registry/index.ts');
    const realGetBlob = Object.getOwnPropertyDescriptor(RegistryClient.prototype, 'getBlob')?.value as ContentStore['getBlob'];
    RegistryClient.prototype.getBlob = function (this: ContentStore, digest, size, max) {
      if (digest === broken) throw new TypeError('a bug in one step');
      return realGetBlob.call(this, digest, size, max);
    };
    try {
      const result = await verifyImage(registry.ref('two-layers'), POLICY, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
      expect(result.signatures.map((s) => s.reason?.code ?? s.outcome)).toEqual(['UNEXPECTED_ERROR', 'verified']);
    } finally {
      RegistryClient.prototype.getBlob = realGetBlob;
    }
  });
});

describe('8. --platform checks the child\'s own config when the index carries no passing signature', () => {
  it('the review\'s attack: an unsigned index maps linux/amd64 to a signed arm64 image: PLATFORM_NOT_FOUND', async () => {
    registry = await startHostileRegistry();
    const arm = makeImage('review-arm64', { platform: { os: 'linux', architecture: 'arm64' } });
    registry.putObject(arm);
    registry.putObject(makeSignatureManifest([validLayer(sigstore, arm.digest)]), signatureTag(arm.digest));
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: arm.digest, size: arm.manifestBytes.length, platform: { os: 'linux', architecture: 'amd64' } }] };
    registry.putManifest(Buffer.from(JSON.stringify(index)), OCI_INDEX, 'mislabelled');
    await expectRefused(verifyAt(registry.ref('mislabelled'), { platform: 'linux/amd64' }), 'PLATFORM_NOT_FOUND');
  });

  it('control: a single-platform image of the platform asked for verifies, its config read once', async () => {
    registry = await startHostileRegistry();
    const arm = publishSigned(registry, 'arm-only', (digest) => [validLayer(sigstore, digest)]);
    const config = (JSON.parse(arm.manifestBytes.toString('utf8')) as { config: { digest: string } }).config.digest;
    expect(await verifyAt(registry.ref('arm-only'), { platform: 'linux/amd64' })).toMatchObject({ verified: true, platform: { signed: 'image' } });
    expect(registry.requestsFor('blobs', config)).toHaveLength(1);
  });
});

describe('9. a digest reference is verified without the image manifest (as cosign does)', () => {
  it('signatures in a registry that no longer holds the image verify, one request fewer', async () => {
    registry = await startHostileRegistry();
    const signed = fixtureDigest('signed');
    registry.misbehave((route) => route.kind === 'manifests' && route.reference === signed, ({ res }) => { res.writeHead(404).end(); });
    const result = await verifyAt(registry.ref(signed));
    expect(result).toMatchObject({ verified: true, digest: signed });
    expect(registry.requestsFor('manifests', signed)).toEqual([]);
  });
});

describe('10. a per-verification budget of bytes fetched bounds what a hostile registry costs', () => {
  it('sixteen large unsigned referrer bundles: the registry serves at most the budget, then LIMIT_EXCEEDED', async () => {
    registry = await startHostileRegistry({ referrersApi: true });
    const image = makeImage('review-bulky');
    registry.putObject(image, 'bulky');
    const filler = Buffer.alloc(1024 * 1024, 0x20);
    const bundleMediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
    const empty = Buffer.from('{}');
    const emptyDigest = sha256Digest(empty);
    const entries = [];
    for (let i = 0; i < 16; i++) {
      const layer = Buffer.concat([Buffer.from(`{"n":${i},"p":"`), filler, Buffer.from('"}')]);
      const layerDigest = sha256Digest(layer);
      const manifestBytes = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: bundleMediaType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: empty.length },
        layers: [{ mediaType: bundleMediaType, digest: layerDigest, size: layer.length }],
        subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.manifestBytes.length },
      }));
      const digest = registry.putObject({ mediaType: OCI_MANIFEST, manifestBytes, digest: sha256Digest(manifestBytes), blobs: new Map([[layerDigest, layer], [emptyDigest, empty]]), manifests: [] });
      entries.push({ mediaType: OCI_MANIFEST, digest, size: manifestBytes.length, artifactType: bundleMediaType });
    }
    registry.putManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries })), OCI_INDEX, referrersTag(image.digest));
    const budget = 4 * 1024 * 1024;
    const { reasons } = await expectRefused(verifyAt(registry.ref('bulky'), { limits: { maxVerificationBytes: budget } }), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toContain('LIMIT_EXCEEDED');
    // What the registry sent: at most the budget (blobs reserve their declared size before they are requested).
    const sent = registry.requestsFor('blobs').length * filler.length;
    expect(sent).toBeLessThanOrEqual(budget);
  });
});

describe('11. the project\'s own test trust roots are recognised', () => {
  it('verify warns on stderr and records it in the result', async () => {
    const run = await cli(['verify', 'oci:fixtures/layout:signed', '--trusted-root', TEST_TRUSTED_ROOT, '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--output', 'json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`WARNING: ${TEST_TRUST_ROOT_WARNING}`);
    expect((JSON.parse(run.stdout) as { trustRoot: { testRoot?: boolean } }).trustRoot.testRoot).toBe(true);
  });

  it('check-module refuses it (TRUST_ROOT_FOR_TESTS, exit 2) unless --allow-test-trust-root-unsafe', async () => {
    const module = JSON.stringify({ docker_tag: 'oci:fixtures/layout:signed', signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER, trust: { source: 'trusted-root', path: 'fixtures/trust/trusted_root.json' } });
    const refused = await cli(['check-module', '-', '--base-dir', REPO_ROOT, '--output', 'json'], { stdin: module });
    expect(refused.code).toBe(2);
    expect((JSON.parse(refused.stdout) as { error: { code: string } }).error.code).toBe('TRUST_ROOT_FOR_TESTS');
    const allowed = await cli(['check-module', '-', '--base-dir', REPO_ROOT, '--allow-test-trust-root-unsafe'], { stdin: module });
    expect(allowed.code).toBe(0);
  });
});

describe('12. a private key given as --key is refused', () => {
  it('fixtures/keys/cosign.key: KEY_INVALID, exit 2, "pass the public key"', async () => {
    const run = await cli(['verify', 'oci:fixtures/layout:signed-key', '--key', join(REPO_ROOT, 'fixtures', 'keys', 'cosign.key'), '--output', 'json']);
    expect(run.code).toBe(2);
    const document = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(document.error).toMatchObject({ code: 'KEY_INVALID' });
    expect(document.error.message).toContain('pass the public key');
  });
});

