import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type PolicyInput, SigverifyError } from '../index.ts';

/**
 * `sigverify verify` arguments, with cosign's flag names (cosign
 * `cmd/cosign/cli/options/certificate.go`, `verify.go`), so a
 * `cosign verify …` command line carries over unchanged.
 */
export interface VerifyCommand {
  /** `verify-attestation` counts attestations of `predicateType` instead of signatures. */
  readonly command: 'verify' | 'verify-attestation';
  readonly image: string;
  readonly predicateType: string | undefined;
  readonly policy: PolicyInput;
  /** PEM file given to --key (read by the command, not the parser). */
  readonly keyPath: string | undefined;
  readonly trustedRoot: string | undefined;
  readonly caRoots: string | undefined;
  readonly caIntermediates: string | undefined;
  readonly tufCache: string | undefined;
  readonly allowHttpRegistry: boolean;
  readonly signatureRepository: string | undefined;
  readonly platform: string | undefined;
  /** `--allow-expired-trust-metadata-unsafe`: run on expired TUF metadata, recorded in the result. */
  readonly allowExpiredTrustMetadata: boolean;
  readonly output: 'text' | 'json';
}

/** `verify-bundle`: the sigstore-conformance client protocol (`docs/cli_protocol.md`). */
export interface VerifyBundleCommand {
  readonly command: 'verify-bundle';
  readonly bundle: string;
  /** A file path, or `sha256:<64 hex>` when no such file exists. */
  readonly artifact: { readonly path: string } | { readonly sha256: string };
  readonly policy: PolicyInput;
  readonly keyPath: string | undefined;
  readonly trustedRoot: string | undefined;
  readonly tufCache: string | undefined;
}

export type Command = VerifyCommand | VerifyBundleCommand | { readonly command: 'help' } | { readonly command: 'version' };

const VERIFY_OPTIONS = {
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
  'certificate-github-workflow-repository': { type: 'string' },
  'certificate-github-workflow-ref': { type: 'string' },
  'certificate-github-workflow-sha': { type: 'string' },
  'certificate-github-workflow-trigger': { type: 'string' },
  'certificate-github-workflow-name': { type: 'string' },
  annotations: { type: 'string', short: 'a', multiple: true },
  key: { type: 'string' },
  'insecure-ignore-tlog': { type: 'boolean' },
  'insecure-ignore-sct': { type: 'boolean' },
  'trusted-root': { type: 'string' },
  'ca-roots': { type: 'string' },
  'ca-intermediates': { type: 'string' },
  'tuf-cache': { type: 'string' },
  'allow-http-registry': { type: 'boolean' },
  'signature-repository': { type: 'string' },
  output: { type: 'string', short: 'o' },
  type: { type: 'string' },
  platform: { type: 'string' },
  'allow-expired-trust-metadata-unsafe': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const BUNDLE_OPTIONS = {
  bundle: { type: 'string' },
  'certificate-identity': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  key: { type: 'string' },
  'trusted-root': { type: 'string' },
  'tuf-cache': { type: 'string' },
  staging: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** parseArgs' own errors (unknown flag, missing value) are usage errors. */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (cause) {
    throw new SigverifyError('USAGE', (cause as Error).message, { cause });
  }
}

const BOOLEAN_FLAGS = new Set(['--insecure-ignore-tlog', '--insecure-ignore-sct', '--allow-http-registry', '--allow-expired-trust-metadata-unsafe']);

function usage(message: string): SigverifyError {
  return new SigverifyError('USAGE', message);
}

/**
 * cosign (cobra/pflag) accepts `--flag=true|false` for booleans; node's
 * parseArgs does not, so normalise those forms first.
 */
function normaliseBooleans(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (eq !== -1 && BOOLEAN_FLAGS.has(name)) {
      const value = arg.slice(eq + 1);
      if (value === 'true') out.push(name);
      else if (value !== 'false') throw usage(`${name} takes true or false, not "${value}"`);
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** `-a k=v` may repeat and, like cosign's string-to-string flags, hold `k1=v1,k2=v2`. */
export function parseAnnotations(values: readonly string[]): Record<string, string> {
  const annotations: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const value of values) {
    for (const pair of value.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw usage(`annotation "${pair}" must be key=value`);
      const key = pair.slice(0, eq);
      if (key in annotations && annotations[key] !== pair.slice(eq + 1)) throw usage(`annotation ${key} is given twice with different values`);
      annotations[key] = pair.slice(eq + 1);
    }
  }
  return { ...annotations };
}

/**
 * Node's `util.parseArgs` takes time quadratic in the number of arguments and
 * in the length of short-option groups (`-xyz…` is expanded one option at a
 * time): one 100 KB argument took 4 s. Found by the fuzz suite
 * (test/fuzz/cli.test.ts). No real command line comes near these caps.
 */
const MAX_ARGUMENTS = 1000;
const MAX_ARGV_CHARACTERS = 16 * 1024;

export function checkArgumentSizes(argv: readonly string[]): void {
  if (argv.length > MAX_ARGUMENTS) throw usage(`${argv.length} arguments (limit ${MAX_ARGUMENTS})`);
  const characters = argv.reduce((sum, arg) => sum + arg.length, 0);
  if (characters > MAX_ARGV_CHARACTERS) throw usage(`the arguments are ${characters} characters long (limit ${MAX_ARGV_CHARACTERS})`);
}

export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Command {
  checkArgumentSizes(argv);
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (command === 'version' || command === '--version') return { command: 'version' };
  if (command === 'verify' || command === 'verify-attestation') return parseVerify(command, rest, env);
  if (command === 'verify-bundle') return parseVerifyBundle(rest);
  throw usage(`unknown command "${command}" (try: sigverify help)`);
}

function parseVerify(command: 'verify' | 'verify-attestation', rest: readonly string[], env: NodeJS.ProcessEnv): Command {
  const { values, positionals } = asUsage(() => parseArgs({ args: normaliseBooleans(rest), options: VERIFY_OPTIONS, allowPositionals: true, strict: true }));
  if (values.help === true) return { command: 'help' };
  if (positionals.length !== 1) throw usage(`${command} takes exactly one IMAGE, got ${positionals.length}`);
  if (values['ca-intermediates'] !== undefined && values['ca-roots'] === undefined) throw usage('--ca-intermediates needs --ca-roots');
  if (command === 'verify' && values.type !== undefined) throw usage('--type belongs to verify-attestation');
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw usage(`--output must be text or json, not "${output}"`);

  const optional = <K extends keyof PolicyInput>(key: K, value: PolicyInput[K] | undefined): Partial<PolicyInput> =>
    value === undefined ? {} : { [key]: value };
  const policy: PolicyInput = {
    ...optional('certificateIdentity', values['certificate-identity']),
    ...optional('certificateIdentityRegexp', values['certificate-identity-regexp']),
    ...optional('certificateOidcIssuer', values['certificate-oidc-issuer']),
    ...optional('certificateOidcIssuerRegexp', values['certificate-oidc-issuer-regexp']),
    ...optional('githubWorkflowRepository', values['certificate-github-workflow-repository']),
    ...optional('githubWorkflowRef', values['certificate-github-workflow-ref']),
    ...optional('githubWorkflowSha', values['certificate-github-workflow-sha']),
    ...optional('githubWorkflowTrigger', values['certificate-github-workflow-trigger']),
    ...optional('githubWorkflowName', values['certificate-github-workflow-name']),
    ...(values.annotations === undefined ? {} : { annotations: parseAnnotations(values.annotations) }),
    ...(values['insecure-ignore-tlog'] === true ? { ignoreTlogUnsafe: true } : {}),
    ...(values['insecure-ignore-sct'] === true ? { ignoreSctUnsafe: true } : {}),
  };
  return {
    command,
    image: positionals[0] as string,
    // cosign's verify-attestation defaults --type to "custom".
    // An alias or a URI; the verifier resolves aliases (cosign's `--type` names) and refuses anything else.
    predicateType: command === 'verify-attestation' ? values.type ?? 'custom' : undefined,
    policy,
    keyPath: values.key,
    trustedRoot: values['trusted-root'],
    caRoots: values['ca-roots'],
    caIntermediates: values['ca-intermediates'],
    tufCache: values['tuf-cache'],
    allowHttpRegistry: values['allow-http-registry'] === true,
    // cosign's COSIGN_REPOSITORY moves signatures to another repository (docs/formats.md §1.1).
    signatureRepository: values['signature-repository'] ?? (env['COSIGN_REPOSITORY'] || undefined),
    platform: values.platform,
    allowExpiredTrustMetadata: values['allow-expired-trust-metadata-unsafe'] === true,
    output,
  };
}

const DIGEST_ARGUMENT = /^sha256:[0-9a-f]{64}$/;

/**
 * sigstore-conformance `verify-bundle`: FILE_OR_DIGEST is a digest only if it
 * is `sha256:` + 64 lowercase hex and no such file exists (cli_protocol.md).
 */
function parseVerifyBundle(rest: readonly string[], exists: (path: string) => boolean = existsSync): Command {
  const { values, positionals } = asUsage(() => parseArgs({ args: rest as string[], options: BUNDLE_OPTIONS, allowPositionals: true, strict: true }));
  if (values.help === true) return { command: 'help' };
  if (values.staging === true) throw usage('--staging: sigverify ships no staging trust root; pass --trusted-root');
  if (values.bundle === undefined) throw usage('verify-bundle needs --bundle FILE');
  if (positionals.length !== 1) throw usage(`verify-bundle takes exactly one FILE_OR_DIGEST, got ${positionals.length}`);
  const target = positionals[0] as string;
  const policy: PolicyInput = values.key !== undefined
    ? {}
    : {
        ...(values['certificate-identity'] === undefined ? {} : { certificateIdentity: values['certificate-identity'] }),
        ...(values['certificate-oidc-issuer'] === undefined ? {} : { certificateOidcIssuer: values['certificate-oidc-issuer'] }),
      };
  if (values.key !== undefined && (values['certificate-identity'] !== undefined || values['certificate-oidc-issuer'] !== undefined)) {
    throw usage('--key and --certificate-identity/--certificate-oidc-issuer are mutually exclusive');
  }
  return {
    command: 'verify-bundle',
    bundle: values.bundle,
    artifact: DIGEST_ARGUMENT.test(target) && !exists(target) ? { sha256: target } : { path: target },
    policy,
    keyPath: values.key,
    trustedRoot: values['trusted-root'],
    tufCache: values['tuf-cache'],
  };
}

export const HELP = `sigverify: verify cosign / Sigstore container image signatures

Usage:
  sigverify verify IMAGE [flags]      IMAGE is [registry/]repo[:tag][@sha256:…] or oci:DIR[:tag|@sha256:…]
  sigverify verify-attestation IMAGE --type T [flags]
                                      T: a predicate type URI or slsaprovenance, slsaprovenance1, spdxjson,
                                      cyclonedx, vuln, openvex, link, custom (default)
  sigverify verify-bundle --bundle FILE (--certificate-identity S --certificate-oidc-issuer S | --key FILE)
                          [--trusted-root FILE] FILE_OR_DIGEST
                                      a Sigstore bundle against a file or sha256:<hex> (sigstore-conformance protocol)

  sigverify doctor [IMAGE] [--trusted-root FILE] [--output json]
                                      what would stop verification here: runtime, trust, clock, registry

Keyless (both an identity and an issuer flag are required):
  --certificate-identity S            exact SAN (URI, email or otherName)
  --certificate-identity-regexp RE    regexp that must match the WHOLE SAN
  --certificate-oidc-issuer S         exact OIDC issuer
  --certificate-oidc-issuer-regexp RE regexp that must match the WHOLE issuer
  --certificate-github-workflow-{repository,ref,sha,trigger,name} S   exact GitHub claims
Key:
  --key FILE                          PEM public key (ECDSA P-256/P-384, RSA)
Both:
  -a, --annotations k=v               signed annotation that must be present (repeatable)
  --insecure-ignore-tlog              accept signatures without a Rekor entry
  --insecure-ignore-sct               accept certificates without an SCT from a CT log of the trust root
  --trusted-root FILE                 pinned trusted_root.json (fully offline)
  --ca-roots FILE                     PEM root CA(s) of a BYO PKI (replace the trust root's CAs)
  --ca-intermediates FILE             PEM intermediate CA(s) for --ca-roots
  --tuf-cache DIR                     TUF cache (holds the source "trust init" configured; default public good)
  --allow-expired-trust-metadata-unsafe  run on expired TUF metadata (recorded in the result)
  --allow-http-registry               permit plain HTTP to non-loopback registries
  --signature-repository REPO         read signatures from REPO (also COSIGN_REPOSITORY)
  --platform os/arch[/variant]        multi-arch: run this child, taken from the verified index
                                      (or signed itself); its digest is the reference printed
  -o, --output text|json              json: the versioned result on stdout

Exit codes: 0 verified, 1 not verified, 2 usage error, 3 could not decide.
`;
