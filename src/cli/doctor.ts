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
} from '../index.ts';
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

interface DoctorOptions {
  readonly image: string | undefined;
  readonly trust: TrustSource;
  readonly allowHttpRegistry: boolean;
  readonly now: () => Date;
}

export async function runDoctor(options: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = [runtimeCheck(), versionsCheck()];
  const trust = await trustCheck(options.trust, options.now());
  checks.push(trust.check);
  if (trust.root !== undefined) checks.push(clockAgainstTrust(trust.root, options.now()));
  if (options.image !== undefined) checks.push(...(await imageChecks(options.image, options.allowHttpRegistry, options.now)));
  return checks;
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

async function trustCheck(source: TrustSource, now: Date): Promise<{ check: Check; root?: TrustRoot }> {
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
        fix: 'run `sigverify trust status`, then `sigverify trust refresh`, or re-import the trust material (see README, "Air-gapped sites")',
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
  readonly trustedRoot: string | undefined;
  readonly tufCache: string | undefined;
  readonly allowHttpRegistry: boolean;
  readonly output: 'text' | 'json';
  readonly notes: readonly string[];
}

const DOCTOR_OPTIONS = {
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
    trustedRoot: values['trusted-root'],
    tufCache: values['tuf-cache'],
    allowHttpRegistry: values['allow-http-registry'] === true,
    output,
    notes,
  };
}

const MARK: Readonly<Record<CheckStatus, string>> = { ok: '✓', warn: '!', fail: '✗' };

export async function doctorMain(cmd: DoctorCommand, io: { stdout(t: string): void }): Promise<number> {
  const trust = cmd.trustedRoot !== undefined ? trustedRootFile(cmd.trustedRoot) : configuredTrustSource(cmd.tufCache === undefined ? {} : { cacheDir: cmd.tufCache });
  const checks = await runDoctor({ image: cmd.image, trust, allowHttpRegistry: cmd.allowHttpRegistry, now: () => new Date() });
  const ok = checks.every((c) => c.status !== 'fail');
  if (cmd.output === 'json') {
    io.stdout(`${JSON.stringify({ mediaType: DOCTOR_MEDIA_TYPE, ok, checkedAt: new Date().toISOString(), checks }, null, 2)}\n`);
  } else {
    for (const c of checks) io.stdout(`${MARK[c.status]} ${c.name}: ${c.detail}${c.fix === undefined ? '' : `\n    fix: ${c.fix}`}\n`);
    io.stdout(ok ? 'doctor: nothing stops verification\n' : 'doctor: fix the ✗ items above before relying on verification\n');
  }
  return ok ? 0 : 1;
}
