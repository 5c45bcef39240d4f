import { dependencyVersion } from '../version.ts';
import {
  type ImageReference,
  SigverifyError,
  type TrustRoot,
  type TrustSource,
  VERSION,
  dockerConfigCredentials,
  manifestReference,
  parseReference,
  trustedRootFile,
  configuredTrustSource,
  ContentStores,
  gateModule,
  isSigverifyError,
  readPolicyFile,
} from '../index.ts';
import { defaultTufCachePath, readTrustConfig } from '../trust.ts';
import { parseFlags, usage } from './flags.ts';

/**
 * `sigverify doctor [IMAGE]`: installation qualification. Checks what would
 * stop a verification on this machine — runtime, trust source and its
 * freshness, the clock, the registry and its credentials — and says what to
 * fix. Exit 0 when nothing fails, 1 otherwise.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly fix?: string;
}

export const DOCTOR_MEDIA_TYPE = 'application/vnd.sigverify.doctor-report+json;version=1';

/** Largest clock difference to the registry before verification results are in doubt. */
const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;
const MIN_NODE: readonly [number, number] = [22, 22];

/** Where the trust the checks use comes from: decides which fix to suggest when it cannot be loaded. */
export type TrustOrigin =
  /** `--trusted-root FILE`. */
  | { readonly kind: 'file'; readonly path: string }
  /** The source `sigverify trust init` recorded in the TUF cache. */
  | { readonly kind: 'configured'; readonly cacheDir: string }
  /** Nothing configured: the default, public-good TUF (needs the network on first use). */
  | { readonly kind: 'default'; readonly cacheDir: string };

interface DoctorOptions {
  readonly image: string | undefined;
  /** A module policy file: its image must have signatures this policy accepts. */
  readonly module?: string;
  readonly trust: TrustSource;
  readonly trustOrigin?: TrustOrigin;
  readonly allowHttpRegistry: boolean;
  readonly allowTestTrustRootUnsafe?: boolean;
  readonly now: () => Date;
}

export async function runDoctor(options: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = [runtimeCheck(), versionsCheck()];
  const trust = await trustCheck(options.trust, options.now(), options.trustOrigin);
  checks.push(trust.check);
  if (trust.root !== undefined) checks.push(clockAgainstTrust(trust.root, options.now()));
  let image = options.image;
  let module: { value: unknown; baseDirectory: string } | undefined;
  if (options.module !== undefined) {
    try {
      module = await readPolicyFile(options.module);
      const tag = (module.value as { docker_tag?: unknown } | null)?.docker_tag;
      if (image === undefined && typeof tag === 'string') image = tag;
    } catch (error) {
      checks.push({ name: 'module', status: 'fail', detail: `${options.module}: [${isSigverifyError(error) ? error.code : 'INTERNAL_ERROR'}] ${(error as Error).message}`, fix: 'check the module policy file (JSON, owned by you or root, not writable by others)' });
    }
  }
  if (image !== undefined) checks.push(...(await imageChecks(image, options.allowHttpRegistry, options.now)));
  if (module !== undefined && options.module !== undefined) checks.push(await moduleCheck(options.module, module, options));
  return checks;
}

/**
 * IQ for one module: the gate, with the module policy as the processor uses
 * it (and the trust doctor checked when the policy names none), must find a
 * signature of the module's image that the policy accepts. The fix names
 * what differs: no signature at all, another signer, another issuer,
 * another key, a missing attestation, or trust that cannot decide.
 */
async function moduleCheck(path: string, module: { value: unknown; baseDirectory: string }, options: DoctorOptions): Promise<Check> {
  try {
    const gate = await gateModule(module.value, {
      baseDirectory: module.baseDirectory,
      defaultTrust: options.trust,
      credentials: dockerConfigCredentials(),
      ...(options.allowHttpRegistry ? { allowHttpRegistry: true } : {}),
      ...(options.allowTestTrustRootUnsafe === true ? { allowTestTrustRootUnsafe: true } : {}),
    });
    const signer = gate.result?.signatures.find((s) => s.outcome === 'verified');
    const by = signer === undefined ? '' : signer.identity === undefined ? ', signed with the policy\'s key' : `, signed by ${signer.identity}`;
    return { name: 'module', status: 'ok', detail: `${path}: ${gate.decision === 'verified' ? `a signature the policy accepts${by}` : 'no signature required'}; run ${gate.reference}` };
  } catch (error) {
    const code = isSigverifyError(error) ? error.code : 'INTERNAL_ERROR';
    const reasons = isSigverifyError(error) ? [...new Set((error.result?.signatures ?? []).map((s) => s.reason?.code).filter((r): r is NonNullable<typeof r> => r !== undefined))] : [];
    return {
      name: 'module',
      status: 'fail',
      detail: `${path}: [${code}]${reasons.length === 0 ? '' : ` (${reasons.join(', ')})`} ${(error as Error).message}`,
      fix: moduleFix(code, reasons, options.trustOrigin),
    };
  }
}

function moduleFix(code: string, reasons: readonly string[], origin: TrustOrigin | undefined): string {
  if (code === 'NO_SIGNATURES') return 'the image has no signature sigverify can find: ask the vendor to sign this digest (cosign sign), or check docker_tag names the signed image';
  if (code === 'ATTESTATION_NOT_VERIFIED') return 'a required attestation is missing or does not verify: check required_attestations against what the vendor publishes (cosign attest / actions/attest)';
  if (code === 'POLICY_INVALID' || code === 'KEY_INVALID' || code === 'LOCAL_FILE_UNSAFE') return 'fix the module policy (the message names the member or file)';
  if (code === 'TRUST_ROOT_FOR_TESTS') return "the policy uses sigverify's test trust root: configure the site's trust (trust init, or the module's trust member)";
  if (code.startsWith('TRUST_')) return trustFix(code, origin);
  if (code.startsWith('REGISTRY_')) return 'the registry cannot be read from here: see the registry and credentials checks above';
  if (reasons.includes('IDENTITY_MISMATCH')) return 'the image is signed by another identity: compare signature_certificate_identity with the certificate (sigverify verify IMAGE -o json lists each signature\'s identity)';
  if (reasons.includes('ISSUER_MISMATCH')) return 'the signer\'s OIDC issuer differs: compare signature_certificate_oidc_issuer with the certificate\'s issuer';
  if (reasons.includes('KEY_MISMATCH')) return 'no signature was made with the policy\'s public key: check signature_public_key(_file) against the vendor\'s key';
  if (reasons.some((r) => r.startsWith('TLOG') || r.startsWith('CERTIFICATE') || r.startsWith('SCT'))) return 'the signatures do not verify against this trust root: check that the trust source is the Sigstore the vendor signs with';
  return 'run sigverify verify on the image with the policy\'s identity and issuer to see each signature\'s outcome';
}

function trustFix(code: string, origin: TrustOrigin | undefined): string {
  if (origin?.kind === 'file') return `check the trusted root ${origin.path} (readable, a trusted_root.json, owned by you or root, not writable by others)`;
  if (origin?.kind === 'default') {
    return 'no trust source is configured here and public-good TUF cannot be used: run `sigverify trust init` (online), `sigverify trust init --from-dir DIR` (air-gapped, from an exported mirror), or pass `--trusted-root FILE`';
  }
  if (code === 'TRUST_METADATA_EXPIRED') return 'the configured TUF metadata has expired: run `sigverify trust refresh` (online) or import newer metadata (`sigverify trust init --from-dir DIR`)';
  return 'run `sigverify trust status`, then `sigverify trust refresh`, or re-import the trust material (see README, "Air-gapped sites")';
}

function runtimeCheck(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? { name: 'runtime', status: 'ok', detail: `Node.js ${process.versions.node}` }
    : { name: 'runtime', status: 'fail', detail: `Node.js ${process.versions.node} is older than ${MIN_NODE.join('.')}`, fix: 'install Node.js 22.22 or later (24 LTS recommended)' };
}

function versionsCheck(): Check {
  const libs = ['@sigstore/verify', '@sigstore/bundle', '@sigstore/core', '@sigstore/tuf', 'tuf-js'].map((n) => `${n} ${dependencyVersion(n) ?? 'not found'}`);
  return { name: 'versions', status: 'ok', detail: `sigverify ${VERSION}; ${libs.join(', ')}` };
}

async function trustCheck(source: TrustSource, now: Date, origin: TrustOrigin | undefined): Promise<{ check: Check; root?: TrustRoot }> {
  let root: TrustRoot;
  try {
    root = await source.load();
  } catch (error) {
    const code = error instanceof SigverifyError ? error.code : 'INTERNAL_ERROR';
    return {
      check: {
        name: 'trust',
        status: 'fail',
        detail: `${source.description}: [${code}] ${(error as Error).message}`,
        fix: trustFix(code, origin),
      },
    };
  }
  const tr = root.trustedRoot;
  const valid = (v: { start?: Date; end?: Date } | undefined) => v?.start !== undefined && v.start <= now && (v.end === undefined || v.end >= now);
  const cas = tr.certificateAuthorities.filter((c) => valid(c.validFor)).length;
  const tlogs = tr.tlogs.filter((t) => valid(t.publicKey?.validFor)).length;
  const detail = `${root.source} (sha256 ${root.digest?.slice(7, 19) ?? 'n/a'}…): ${cas}/${tr.certificateAuthorities.length} CAs and ${tlogs}/${tr.tlogs.length} log keys valid now, ${tr.ctlogs.length} CT logs, ${tr.timestampAuthorities.length} TSAs`;
  // New signatures need a CA and a log key valid now; old ones verify at their signed time.
  if (tr.tlogs.length > 0 && tlogs === 0) {
    return { root, check: { name: 'trust', status: 'warn', detail, fix: 'no transparency-log key is valid now: new signatures cannot be checked until the trust root is updated' } };
  }
  return { root, check: { name: 'trust', status: 'ok', detail } };
}

/**
 * A clock set before the trust root's newest key start is certainly wrong:
 * TUF expiry and certificate validity would be judged at the wrong time.
 */
function clockAgainstTrust(root: TrustRoot, now: Date): Check {
  const starts = [
    ...root.trustedRoot.certificateAuthorities.map((c) => c.validFor?.start),
    ...root.trustedRoot.tlogs.map((t) => t.publicKey?.validFor?.start),
  ].filter((d): d is Date => d !== undefined);
  const newest = starts.reduce<Date | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
  if (newest !== undefined && now < newest) {
    return { name: 'clock', status: 'fail', detail: `system time ${now.toISOString()} is before the trust root's newest key (${newest.toISOString()})`, fix: 'set the system clock (NTP, or by hand on air-gapped machines)' };
  }
  return { name: 'clock', status: 'ok', detail: `system time ${now.toISOString()} is consistent with the trust root` };
}

async function imageChecks(image: string, allowHttp: boolean, now: () => Date): Promise<Check[]> {
  let ref: ImageReference;
  try {
    ref = parseReference(image);
  } catch (error) {
    return [{ name: 'image', status: 'fail', detail: (error as Error).message, fix: 'use [registry/]repo[:tag][@sha256:…] or oci:DIR[:tag]' }];
  }
  if (ref.kind === 'layout') {
    try {
      const found = await new ContentStores().open(ref).getManifest(manifestReference(ref));
      return [found === undefined
        ? { name: 'image', status: 'fail', detail: `${image} is not in the layout`, fix: 'check the tag or digest' }
        : { name: 'image', status: 'ok', detail: `${image} resolves to ${found.digest}` }];
    } catch (error) {
      return [{ name: 'image', status: 'fail', detail: (error as Error).message }];
    }
  }
  const credentials = dockerConfigCredentials();
  const checks: Check[] = [];
  try {
    const found = await credentials.get(ref.registry);
    checks.push({ name: 'credentials', status: 'ok', detail: found === undefined ? `no credentials for ${ref.registry}: anonymous access` : `credentials for ${ref.registry} found in the Docker config` });
  } catch (error) {
    checks.push({ name: 'credentials', status: 'fail', detail: (error as Error).message, fix: 'check DOCKER_CONFIG / ~/.docker/config.json and the credential helper' });
  }
  const client = new ContentStores({ credentials, allowHttpRegistry: allowHttp }).open(ref);
  try {
    const found = await client.getManifest(manifestReference(ref));
    checks.push(found === undefined
      ? { name: 'registry', status: 'fail', detail: `${image}: not found in ${ref.registry}`, fix: 'check the repository and tag' }
      : { name: 'registry', status: 'ok', detail: `${image} resolves to ${found.digest}` });
  } catch (error) {
    const code = error instanceof SigverifyError ? error.code : 'INTERNAL_ERROR';
    const fix = code === 'REGISTRY_AUTH_FAILED' ? `log in to ${ref.registry} (docker login) or configure a credential helper` : code === 'INSECURE_TRANSPORT' ? 'use https, or --allow-http-registry for a trusted network' : `check that ${ref.registry} is reachable from this machine`;
    checks.push({ name: 'registry', status: 'fail', detail: `[${code}] ${(error as Error).message}`, fix });
  }
  checks.push(await registryClock(ref.registry, allowHttp, now));
  return checks;
}

/** The registry's `Date` header against our clock (RFC 9110 §6.6.1): one unauthenticated GET /v2/. */
async function registryClock(registry: string, allowHttp: boolean, now: () => Date): Promise<Check> {
  const host = new URL(`http://${registry}`).hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  try {
    const response = await fetch(`${loopback || allowHttp ? 'http' : 'https'}://${registry}/v2/`, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    await response.body?.cancel();
    const date = response.headers.get('date');
    if (date === null) return { name: 'clock-registry', status: 'warn', detail: `${registry} sent no Date header to compare clocks with` };
    const skew = now().getTime() - new Date(date).getTime();
    if (!Number.isFinite(skew)) return { name: 'clock-registry', status: 'warn', detail: `${registry} sent an unreadable Date header` };
    return Math.abs(skew) > MAX_CLOCK_SKEW_MS
      ? { name: 'clock-registry', status: 'fail', detail: `system clock differs from ${registry} by ${Math.round(skew / 1000)} s`, fix: 'set the system clock (NTP)' }
      : { name: 'clock-registry', status: 'ok', detail: `system clock within ${Math.ceil(Math.abs(skew) / 1000)} s of ${registry}` };
  } catch (error) {
    return { name: 'clock-registry', status: 'warn', detail: `could not read ${registry}'s clock: ${(error as Error).message}` };
  }
}

export interface DoctorCommand {
  readonly command: 'doctor';
  readonly image: string | undefined;
  readonly module: string | undefined;
  readonly allowTestTrustRootUnsafe: boolean;
  readonly trustedRoot: string | undefined;
  readonly tufCache: string | undefined;
  readonly allowHttpRegistry: boolean;
  readonly output: 'text' | 'json';
  readonly notes: readonly string[];
}

const DOCTOR_OPTIONS = {
  module: { type: 'string' },
  'allow-test-trust-root-unsafe': { type: 'boolean' },
  'trusted-root': { type: 'string' },
  'tuf-cache': { type: 'string' },
  'allow-http-registry': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseDoctor(args: readonly string[]): DoctorCommand {
  const { values, positionals, notes } = parseFlags({ command: 'doctor', options: DOCTOR_OPTIONS }, args);
  if (positionals.length > 1) throw usage('doctor takes at most one IMAGE');
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw usage(`--output must be text or json, not "${output}"`);
  return {
    command: 'doctor',
    image: positionals[0],
    module: values.module,
    allowTestTrustRootUnsafe: values['allow-test-trust-root-unsafe'] === true,
    trustedRoot: values['trusted-root'],
    tufCache: values['tuf-cache'],
    allowHttpRegistry: values['allow-http-registry'] === true,
    output,
    notes,
  };
}

/** `--trusted-root`, else what `trust init` recorded in the TUF cache, else nothing (the public-good default). */
export async function trustOriginOf(trustedRoot: string | undefined, cacheDir: string): Promise<TrustOrigin> {
  if (trustedRoot !== undefined) return { kind: 'file', path: trustedRoot };
  // An unreadable record is a configuration, and a broken one: the trust check reports it.
  const recorded = await readTrustConfig(cacheDir).then((c) => c !== undefined, () => true);
  return recorded ? { kind: 'configured', cacheDir } : { kind: 'default', cacheDir };
}

const MARK: Readonly<Record<CheckStatus, string>> = { ok: '✓', warn: '!', fail: '✗' };

export async function doctorMain(cmd: DoctorCommand, io: { stdout(t: string): void }): Promise<number> {
  const cacheDir = cmd.tufCache ?? defaultTufCachePath();
  const trust = cmd.trustedRoot !== undefined ? trustedRootFile(cmd.trustedRoot) : configuredTrustSource({ cacheDir });
  const trustOrigin = await trustOriginOf(cmd.trustedRoot, cacheDir);
  const checks = await runDoctor({
    image: cmd.image,
    ...(cmd.module === undefined ? {} : { module: cmd.module }),
    trust,
    trustOrigin,
    allowHttpRegistry: cmd.allowHttpRegistry,
    allowTestTrustRootUnsafe: cmd.allowTestTrustRootUnsafe,
    now: () => new Date(),
  });
  const ok = checks.every((c) => c.status !== 'fail');
  if (cmd.output === 'json') {
    io.stdout(`${JSON.stringify({ mediaType: DOCTOR_MEDIA_TYPE, ok, checkedAt: new Date().toISOString(), checks }, null, 2)}\n`);
  } else {
    for (const c of checks) io.stdout(`${MARK[c.status]} ${c.name}: ${c.detail}${c.fix === undefined ? '' : `\n    fix: ${c.fix}`}\n`);
    io.stdout(ok ? 'doctor: nothing stops verification\n' : 'doctor: fix the ✗ items above before relying on verification\n');
  }
  return ok ? 0 : 1;
}
