import { existsSync } from 'node:fs';
import type { PolicyInput } from '../index.ts';
import { type IgnoredFlag, parseFlags, usage } from './flags.ts';

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
  /** One line each for stderr: cosign flags that change nothing here, deprecated spellings. */
  readonly notes: readonly string[];
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
  readonly notes: readonly string[];
}

/** `topic`: the command whose help was asked for; undefined for the overview. */
export type Command = VerifyCommand | VerifyBundleCommand | { readonly command: 'help'; readonly topic?: string } | { readonly command: 'version' };

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
  'local-image': { type: 'boolean' },
  'allow-expired-trust-metadata-unsafe': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * cosign v3 `verify` / `verify-attestation` flags (cosign
 * `cmd/cosign/cli/options/verify.go`, `certificate.go`, `registry.go`,
 * `rekor.go`) that change nothing here: accepted, with a note.
 */
export const COSIGN_IGNORED: Readonly<Record<string, IgnoredFlag>> = {
  offline: { type: 'boolean', note: 'sigverify never contacts a transparency log; log entries are verified offline against their SET or inclusion proof' },
  'rekor-url': { type: 'string', note: 'the log is never contacted: its entries are verified offline against their SET or inclusion proof and the trust root\'s log keys' },
  'new-bundle-format': { type: 'boolean', note: 'Sigstore bundles (OCI referrers) and legacy .sig/.att layers are both always read' },
  'experimental-oci11': { type: 'boolean', note: 'the OCI 1.1 referrers API and its fallback tag are always consulted' },
  'check-claims': {
    type: 'boolean',
    note: 'claims are always checked (the payload or in-toto subject must name the verified digest)',
    refuse: (value) => (value === false ? 'sigverify always checks that the signed payload names the image digest' : undefined),
  },
  'max-workers': { type: 'string', note: 'sigverify bounds its own concurrency' },
  'signature-digest-algorithm': {
    type: 'string',
    note: 'sha256 is the only digest algorithm sigverify verifies',
    refuse: (value) => (value === 'sha256' ? undefined : `sigverify verifies sha256 signatures only, not "${String(value)}"`),
  },
};

/** cosign flags sigverify cannot honour, and why (a refusal, never a silent difference). */
export const COSIGN_REFUSED: Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly reason: string }>> = {
  certificate: { type: 'string', reason: 'the signing certificate is read from the signature itself; trust it through --trusted-root or --ca-roots' },
  'certificate-chain': { type: 'string', reason: 'pass the chain as --ca-roots FILE (and --ca-intermediates FILE)' },
  sct: { type: 'string', reason: 'a detached SCT is not supported; the SCT must be embedded in the certificate (or pass --insecure-ignore-sct)' },
  'timestamp-certificate-chain': { type: 'string', reason: 'timestamp authorities come from the trust root; add the TSA to a trusted_root.json and pass --trusted-root' },
  'use-signed-timestamps': { type: 'boolean', reason: 'RFC 3161 timestamps in bundles are verified against the trust root whenever present, but sigverify cannot require one; drop the flag' },
  'private-infrastructure': { type: 'boolean', reason: 'say what it does: --insecure-ignore-tlog' },
  'allow-insecure-registry': { type: 'boolean', reason: 'TLS certificates are always verified; use --allow-http-registry for plain HTTP, or NODE_EXTRA_CA_CERTS for a private CA' },
  signature: { type: 'string', reason: 'signatures are read from the registry (or oci:DIR)' },
  payload: { type: 'string', reason: 'signatures and payloads are read from the registry (or oci:DIR)' },
  attachment: { type: 'string', reason: 'attachments (deprecated in cosign) are not verified' },
  policy: { type: 'string', reason: 'CUE and Rego policies are not evaluated; use -o json and evaluate signatures[].statement' },
  sk: { type: 'boolean', reason: 'export the public key to a PEM file and pass --key FILE' },
  slot: { type: 'string', reason: 'export the public key to a PEM file and pass --key FILE' },
  'k8s-keychain': { type: 'boolean', reason: 'registry credentials come from the Docker config (DOCKER_CONFIG, credential helpers)' },
  'registry-username': { type: 'string', reason: 'registry credentials come from the Docker config (docker login, DOCKER_CONFIG)' },
  'registry-password': { type: 'string', reason: 'registry credentials come from the Docker config (docker login, DOCKER_CONFIG)' },
  'registry-token': { type: 'string', reason: 'registry credentials come from the Docker config (docker login, DOCKER_CONFIG)' },
  'attachment-tag-prefix': { type: 'string', reason: 'signature tags are always sha256-<hex>.sig/.att' },
  'tag-prefix': { type: 'string', reason: 'signature tags are always sha256-<hex>.sig/.att' },
  'signature-tag-suffix': { type: 'string', reason: 'signature tags are always sha256-<hex>.sig/.att' },
};

/** `--key` values that are not files: cosign's KMS, Kubernetes, PKCS#11 and GitLab key references. */
const KEY_REFERENCE = /^(?:awskms|gcpkms|azurekms|hashivault|k8s|gitlab):\/\/|^pkcs11:/;

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
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return rest[0] === undefined ? { command: 'help' } : { command: 'help', topic: rest[0] };
  if (command === 'version' || command === '--version') return { command: 'version' };
  if (command === 'verify' || command === 'verify-attestation') return parseVerify(command, rest, env);
  if (command === 'verify-bundle') return parseVerifyBundle(rest);
  throw usage(`unknown command "${command}" (try: sigverify help)`);
}

function parseVerify(command: 'verify' | 'verify-attestation', rest: readonly string[], env: NodeJS.ProcessEnv): Command {
  const { values, positionals, notes } = parseFlags({ command, options: VERIFY_OPTIONS, ignored: COSIGN_IGNORED, refused: COSIGN_REFUSED }, rest);
  if (values.help === true) return { command: 'help', topic: command };
  if (positionals.length !== 1) throw usage(`${command} takes exactly one IMAGE, got ${positionals.length}`);
  if (values['ca-intermediates'] !== undefined && values['ca-roots'] === undefined) throw usage('--ca-intermediates needs --ca-roots');
  if (command === 'verify' && values.type !== undefined) throw usage('--type belongs to verify-attestation');
  if (values.key !== undefined && KEY_REFERENCE.test(values.key)) {
    throw usage(`--key ${values.key}: KMS, Kubernetes, PKCS#11 and GitLab key references are not supported; export the public key (cosign public-key --key ${values.key} > key.pub) and pass --key key.pub`);
  }
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw usage(`--output must be text or json, not "${output}"`);
  // cosign's --local-image: the argument is an OCI image-layout directory, which sigverify spells oci:DIR.
  const argument = positionals[0] as string;
  const image = values['local-image'] === true && !argument.startsWith('oci:') ? `oci:${argument}` : argument;
  if (image !== argument) notes.push(`note: --local-image: reading ${image}`);

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
    image,
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
    notes,
  };
}

const DIGEST_ARGUMENT = /^sha256:[0-9a-f]{64}$/;

/**
 * sigstore-conformance `verify-bundle`: FILE_OR_DIGEST is a digest only if it
 * is `sha256:` + 64 lowercase hex and no such file exists (cli_protocol.md).
 */
function parseVerifyBundle(rest: readonly string[], exists: (path: string) => boolean = existsSync): Command {
  const { values, positionals, notes } = parseFlags({ command: 'verify-bundle', options: BUNDLE_OPTIONS }, rest);
  if (values.help === true) return { command: 'help', topic: 'verify-bundle' };
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
    notes,
  };
}
