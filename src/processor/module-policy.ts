import { dirname, isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import { canonicalDigest } from '../audit/canonical-json.ts';
import { predicateTypeOf } from '../cosign/predicate-types.ts';
import { SigverifyError } from '../errors.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { parsePlatform } from '../oci/index.ts';
import { type Matcher, type Policy, type PolicyInput, compilePolicy, regexpMatcher } from '../policy/index.ts';
import { type Digest, parseReference, sha256Digest } from '../reference/index.ts';
import type { TrustSource } from '../trust-root/index.ts';
import { type ModuleTrust, ModuleTrustSchema, snakeCase, trustPaths, trustSourceOf } from './trust.ts';
import { checkBaseDirectory, readKeyFile, readOwnedFile } from '../io/local-files.ts';

/**
 * A processor's module configuration, snake_case as processors write it, with
 * the signature policy that gates the module. Members sigverify does not know
 * (`network_mode`, `requires_root`, …) pass through untouched, except those in
 * sigverify's own namespaces (`signature_…`, `required_…`): a misspelt
 * `signature_github_workflow_ref` must not silently drop a requirement.
 *
 * Like cosign's flags (and {@link compilePolicy}), a signature policy is keyless
 * (an identity and an issuer, each exact or an anchored regexp, plus optional
 * GitHub workflow claims) or a public key; anything contradictory or
 * incomplete is refused when the policy is loaded, naming the member.
 */
const text = z.string().min(1);

export const ModulePolicySchema = z
  .looseObject({
    module_name: text.optional(),
    /** The image to run: `[registry/]repo[:tag][@sha256:…]` (a tag is resolved and pinned). */
    docker_tag: text,
    /** Absent means true: a module runs unsigned only when its configuration says so. */
    require_signature: z.boolean().default(true),
    signature_certificate_identity: text.optional(),
    signature_certificate_identity_regexp: text.optional(),
    signature_certificate_oidc_issuer: text.optional(),
    signature_certificate_oidc_issuer_regexp: text.optional(),
    signature_github_workflow_repository: text.optional(),
    signature_github_workflow_ref: text.optional(),
    signature_github_workflow_sha: text.optional(),
    signature_github_workflow_trigger: text.optional(),
    signature_github_workflow_name: text.optional(),
    /** PEM public key (ECDSA P-256/P-384, RSA ≥ 2048). */
    signature_public_key: text.optional(),
    /** A file holding the PEM public key; relative to the configuration file. */
    signature_public_key_file: text.optional(),
    /** Each must equal the signed payload's `optional[key]` (cosign `-a key=value`). */
    signature_annotations: z.record(text, z.string()).optional(),
    /** Accept signatures without a transparency-log entry (cosign `--insecure-ignore-tlog`). */
    signature_ignore_tlog_unsafe: z.boolean().optional(),
    /** Accept certificates without an SCT from a CT log of the trust root (cosign `--insecure-ignore-sct`). */
    signature_ignore_sct_unsafe: z.boolean().optional(),
    /** Predicate types (URIs, or cosign's aliases such as `slsaprovenance1`) that must each carry a verified attestation. */
    required_attestations: z.array(text).optional(),
    /** `os/arch[/variant]`: of a multi-arch image, run this child. */
    platform: text.optional(),
    trust: ModuleTrustSchema.optional(),
  })
  .superRefine(checkConsistency);

/** A module policy as parsed: every known member typed, unknown members kept. */
export type ModulePolicy = z.output<typeof ModulePolicySchema>;
/** What a caller may hand in (a module's JSON). */
export type ModulePolicyInput = z.input<typeof ModulePolicySchema>;

const KNOWN_MEMBERS: ReadonlySet<string> = new Set(Object.keys(ModulePolicySchema.shape));
const RESERVED_PREFIXES = ['signature_', 'required_', 'require_'];

/**
 * The member of ours a name resembles: equal after case folding, `-` → `_`
 * and camelCase → snake_case, equal to a `signature_…` member without its
 * prefix (`annotations`), or spelt as cosign's flag (`certificate_github_workflow_ref`).
 */
function lookalikeOf(name: string): string | undefined {
  const normal = snakeCase(name);
  // cosign's flag names (`--certificate-github-workflow-ref`) are `signature_github_workflow_ref` here.
  return [normal, `signature_${normal}`, normal.replace(/^certificate_github_/, 'signature_github_')].find((candidate) => KNOWN_MEMBERS.has(candidate));
}
const IDENTITY_MEMBERS = ['signature_certificate_identity', 'signature_certificate_identity_regexp'] as const;
const ISSUER_MEMBERS = ['signature_certificate_oidc_issuer', 'signature_certificate_oidc_issuer_regexp'] as const;
const CLAIM_MEMBERS = [
  'signature_github_workflow_repository',
  'signature_github_workflow_ref',
  'signature_github_workflow_sha',
  'signature_github_workflow_trigger',
  'signature_github_workflow_name',
] as const;
const KEY_MEMBERS = ['signature_public_key', 'signature_public_key_file'] as const;

type Refinement = z.core.$RefinementCtx<ModulePolicy>;

/** Contradictions and gaps, each reported at the member that causes it. */
function checkConsistency(m: ModulePolicy, ctx: Refinement): void {
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path, message });
  };
  const given = (members: readonly string[]): string[] => members.filter((k) => m[k] !== undefined);

  // A near miss of one of our members would be dropped as the processor's own: refuse it instead.
  for (const key of Object.keys(m)) {
    if (KNOWN_MEMBERS.has(key)) continue;
    const resembles = lookalikeOf(key);
    if (resembles !== undefined) issue([key], `not a sigverify member; did you mean ${resembles}?`);
    else if (RESERVED_PREFIXES.some((p) => snakeCase(key).startsWith(p))) {
      issue([key], `unknown member in sigverify's namespace (${RESERVED_PREFIXES.join(', ')}); check its spelling`);
    }
  }
  const identity = given(IDENTITY_MEMBERS);
  const issuer = given(ISSUER_MEMBERS);
  const claims = given(CLAIM_MEMBERS);
  const key = given(KEY_MEMBERS);
  if (identity.length > 1) issue([IDENTITY_MEMBERS[1]], `mutually exclusive with ${IDENTITY_MEMBERS[0]}`);
  if (issuer.length > 1) issue([ISSUER_MEMBERS[1]], `mutually exclusive with ${ISSUER_MEMBERS[0]}`);
  if (key.length > 1) issue([KEY_MEMBERS[1]], `mutually exclusive with ${KEY_MEMBERS[0]}`);
  if (key.length > 0) {
    for (const member of [...identity, ...issuer, ...claims]) {
      issue([member], `a public key (${key.join(', ')}) and certificate identity, issuer or GitHub claims are mutually exclusive`);
    }
  } else if (m.require_signature) {
    if (identity.length === 0) issue([IDENTITY_MEMBERS[0]], `require_signature is true: keyless verification needs ${IDENTITY_MEMBERS.join(' or ')} (or give ${KEY_MEMBERS.join(' or ')})`);
    if (issuer.length === 0) issue([ISSUER_MEMBERS[0]], `require_signature is true: keyless verification needs ${ISSUER_MEMBERS.join(' or ')} (or give ${KEY_MEMBERS.join(' or ')})`);
  } else if ((identity.length === 0) !== (issuer.length === 0)) {
    // Not required, so not verified: but half a policy is a mistake waiting for require_signature: true.
    issue([identity.length === 0 ? IDENTITY_MEMBERS[0] : ISSUER_MEMBERS[0]], 'an identity needs an issuer and an issuer an identity');
  }
  if (!m.require_signature && (m.required_attestations?.length ?? 0) > 0) {
    issue(['required_attestations'], 'attestations are verified with the signature policy: they need require_signature: true');
  }
  for (const member of ['signature_certificate_identity_regexp', 'signature_certificate_oidc_issuer_regexp'] as const) {
    const source = m[member];
    if (source !== undefined) capture(() => regexpMatcher(source, member), (message) => { issue([member], message); });
  }
  m.required_attestations?.forEach((type, i) => {
    capture(() => predicateTypeOf(type), () => { issue(['required_attestations', i], `"${type}" is neither a cosign predicate alias nor a URI`); });
  });
  capture(() => parseReference(m.docker_tag), (message) => { issue(['docker_tag'], message); });
  if (m.platform !== undefined) {
    const platform = m.platform;
    capture(() => parsePlatform(platform), (message) => { issue(['platform'], message); });
  }
}

function capture(check: () => unknown, report: (message: string) => void): void {
  try {
    check();
  } catch (error) {
    report(error instanceof Error ? error.message : String(error));
  }
}

export interface ModuleLoadOptions {
  /** Relative paths in the policy (key file, trust files) are taken from here; default the working directory. */
  readonly baseDirectory?: string;
  /** Where the module sits in a larger document, for messages: `['modules', 'brain_seg']`. */
  readonly path?: readonly (string | number)[];
  /** Module name when the policy has no `module_name` (the key in a configuration's `modules` map). */
  readonly name?: string;
  readonly limits?: Partial<Limits>;
}

/**
 * A module policy, validated and compiled: what the gate needs, computed
 * once. Build it with {@link compileModulePolicy}; the gate accepts a raw
 * module policy too and compiles it on each call.
 */
export class CompiledModule {
  /** `module_name`, else the name given by the caller. */
  readonly name: string | undefined;
  /** The image reference as configured (`docker_tag`). */
  readonly reference: string;
  readonly requireSignature: boolean;
  /** The compiled signature policy; undefined when no signature is required. */
  readonly policy: Policy | undefined;
  /** Predicate type URIs, aliases resolved, each once, sorted. */
  readonly requiredAttestations: readonly string[];
  readonly platform: string | undefined;
  /** The module's own trust selection; undefined: the gate's, else public-good TUF. */
  readonly trust: TrustSource | undefined;
  /** sha256 of the key's DER SubjectPublicKeyInfo in key mode: how a key appears in results and audit records. */
  readonly publicKeySha256: Digest | undefined;
  /** The parsed module policy, unknown members included (for the processor's own use). */
  readonly config: ModulePolicy;
  /** Everything verification depends on but the trust source, as canonical-JSON-ready values. */
  readonly #description: Readonly<Record<string, unknown>>;

  constructor(fields: {
    name: string | undefined;
    config: ModulePolicy;
    policy: Policy | undefined;
    requiredAttestations: readonly string[];
    trust: TrustSource | undefined;
  }) {
    const { config, policy } = fields;
    this.name = fields.name;
    this.config = config;
    this.reference = config.docker_tag;
    this.requireSignature = config.require_signature;
    this.policy = policy;
    this.requiredAttestations = fields.requiredAttestations;
    this.platform = config.platform;
    this.trust = fields.trust;
    this.publicKeySha256 = policy?.mode === 'key' ? sha256Digest(policy.publicKeyDer) : undefined;
    this.#description = {
      version: 1,
      requireSignature: this.requireSignature,
      ...(policy === undefined ? {} : { policy: describePolicy(policy, this.publicKeySha256) }),
      requiredAttestations: this.requiredAttestations,
      ...(this.platform === undefined ? {} : { platform: this.platform }),
    };
  }

  /**
   * The policy digest: sha256 of the canonical JSON of the compiled policy,
   * the required attestations, the platform and the effective trust source.
   * Equivalent policies (a key inline or in a file, aliases or URIs) share it.
   */
  policyDigest(trust: TrustSource | undefined): Digest {
    // The source's key, not its description: two sources that differ only in an opt-out or a cache are different trust.
    return canonicalDigest({ ...this.#description, ...(trust === undefined ? {} : { trust: trust.key }) });
  }
}

/** The compiled policy as values: matchers by kind and source, the key by its digest. */
function describePolicy(policy: Policy, publicKeySha256: Digest | undefined): Record<string, unknown> {
  const matcher = (m: Matcher) => (m.kind === 'exact' ? { exact: m.value } : { regexp: m.source });
  if (policy.mode === 'key') return { mode: 'key', publicKeySha256, annotations: policy.annotations, requireTlog: policy.requireTlog };
  return {
    mode: 'keyless',
    identity: matcher(policy.identity),
    issuer: matcher(policy.issuer),
    githubWorkflow: policy.githubWorkflow,
    annotations: policy.annotations,
    requireTlog: policy.requireTlog,
    requireSct: policy.requireSct,
  };
}

/** Validates a module policy (schema and consistency); POLICY_INVALID names every offending member. */
export function parseModulePolicy(input: unknown, options: Pick<ModuleLoadOptions, 'path' | 'name'> = {}): ModulePolicy {
  const parsed = ModulePolicySchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const prefix = options.path ?? [];
  const issues = parsed.error.issues.map((i) => ({ path: formatPath([...prefix, ...i.path]), message: i.message }));
  const name = stringMember(input, 'module_name') ?? options.name;
  const where = name === undefined ? 'module policy' : `module policy ${name}`;
  throw new SigverifyError('POLICY_INVALID', `${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    cause: parsed.error,
    details: { ...(name === undefined ? {} : { module: name }), path: issues[0]?.path, issues },
  });
}

/**
 * Validates and compiles a module policy: schema, contradictions, the public
 * key (read from its file, KEY_INVALID when unreadable or unsupported), the
 * trust selection. Nothing is fetched.
 */
export async function compileModulePolicy(input: unknown, options: ModuleLoadOptions = {}): Promise<CompiledModule> {
  const config = parseModulePolicy(input, options);
  const base = options.baseDirectory ?? process.cwd();
  // A relative path resolved against a directory anyone can write (/tmp) names whatever another user put there.
  const paths = [config.signature_public_key_file, ...(config.trust === undefined ? [] : trustPaths(config.trust))];
  if (paths.some((p) => p !== undefined && !isAbsolute(p))) await checkBaseDirectory(base, 'policy base directory');
  const name = config.module_name ?? options.name;
  const at = (member: string): string => formatPath([...(options.path ?? []), member]);
  const keyPem = config.signature_public_key_file === undefined
    ? config.signature_public_key
    : await readKeyFile(absolute(base, config.signature_public_key_file), resolveLimits(options.limits).maxConfigFileBytes, at('signature_public_key_file'));
  let policy: Policy | undefined;
  if (config.require_signature) {
    try {
      policy = compilePolicy(policyInputOf(config, keyPem));
    } catch (error) {
      // The schema has already refused every contradiction; what is left is the key itself.
      if (error instanceof SigverifyError && keyPem !== undefined) {
        const member = config.signature_public_key_file === undefined ? at('signature_public_key') : at('signature_public_key_file');
        throw new SigverifyError(error.code, `${member}: ${error.message}`, { cause: error, details: { ...(name === undefined ? {} : { module: name }), path: member } });
      }
      throw error;
    }
  }
  const requiredAttestations = [...new Set((config.required_attestations ?? []).map(predicateTypeOf))].sort();
  return new CompiledModule({ name, config, policy, requiredAttestations, trust: config.trust === undefined ? undefined : trustSourceOf(config.trust, base) });
}

/** Reads a module policy file (a JSON object) and compiles it; relative paths in it are relative to the file. */
export async function loadModulePolicyFile(path: string, options: Omit<ModuleLoadOptions, 'baseDirectory'> = {}): Promise<CompiledModule> {
  const { value, baseDirectory } = await readPolicyFile(path, options.limits);
  return compileModulePolicy(value, { ...options, baseDirectory });
}

/** The module policy as the {@link PolicyInput} the verifier compiles (matching is not re-implemented here). */
function policyInputOf(m: ModulePolicy, publicKey: string | undefined): PolicyInput {
  const entries: [keyof PolicyInput, unknown][] = [
    ['certificateIdentity', m.signature_certificate_identity],
    ['certificateIdentityRegexp', m.signature_certificate_identity_regexp],
    ['certificateOidcIssuer', m.signature_certificate_oidc_issuer],
    ['certificateOidcIssuerRegexp', m.signature_certificate_oidc_issuer_regexp],
    ['githubWorkflowRepository', m.signature_github_workflow_repository],
    ['githubWorkflowRef', m.signature_github_workflow_ref],
    ['githubWorkflowSha', m.signature_github_workflow_sha],
    ['githubWorkflowTrigger', m.signature_github_workflow_trigger],
    ['githubWorkflowName', m.signature_github_workflow_name],
    ['publicKey', publicKey],
    ['annotations', m.signature_annotations],
    ['ignoreTlogUnsafe', m.signature_ignore_tlog_unsafe === true ? true : undefined],
    ['ignoreSctUnsafe', m.signature_ignore_sct_unsafe === true ? true : undefined],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
}

/** A non-empty string member of a value that may not be a module policy at all (for messages and records of invalid ones). */
export function stringMember(value: unknown, member: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[member];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** `modules.brain_seg.required_attestations[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function absolute(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}


/** A policy given as bytes (on stdin, say): it has no directory, so the caller names the one its relative paths start from. */
export interface PolicyBytes {
  readonly bytes: Uint8Array;
  readonly baseDirectory: string;
}

/**
 * Reads a module policy or processor configuration (JSON, capped at
 * `maxConfigFileBytes`) from a file, whose relative paths are then relative
 * to its directory, or from bytes with their base directory. Unreadable:
 * USAGE; not JSON: POLICY_INVALID; a file another user could have written:
 * LOCAL_FILE_UNSAFE.
 */
export async function readPolicyFile(input: string | PolicyBytes, limits?: Partial<Limits>): Promise<{ value: unknown; baseDirectory: string }> {
  const max = resolveLimits(limits).maxConfigFileBytes;
  if (typeof input !== 'string') {
    if (input.bytes.length > max) throw new SigverifyError('USAGE', `the policy is larger than ${max} bytes`);
    return { value: parsePolicyJson(input.bytes, 'the policy'), baseDirectory: resolve(input.baseDirectory) };
  }
  let bytes;
  try {
    bytes = await readOwnedFile(input, max, 'policy file');
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('USAGE', `cannot read ${input}: ${(cause as Error).message}`, { cause });
  }
  if (bytes === undefined) throw new SigverifyError('USAGE', `${input} is larger than ${max} bytes`);
  return { value: parsePolicyJson(bytes, input), baseDirectory: dirname(resolve(input)) };
}

function parsePolicyJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new SigverifyError('POLICY_INVALID', `${where} is not valid UTF-8 JSON`, { cause });
  }
}

/**
 * A processor configuration: a JSON object whose `modules` maps module names
 * to module policies. Other top-level members are the processor's own.
 */
export const ProcessorConfigSchema = z.looseObject({ modules: z.record(text, z.unknown()) });
export type ProcessorConfig = z.output<typeof ProcessorConfigSchema>;

export function parseProcessorConfig(input: unknown): ProcessorConfig {
  const parsed = ProcessorConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  throw new SigverifyError('POLICY_INVALID', `processor configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    cause: parsed.error,
    details: { path: issues[0]?.path, issues },
  });
}

/** Reads a processor configuration file; its modules' relative paths are relative to the file (`baseDirectory`). */
export async function loadProcessorConfigFile(path: string | PolicyBytes, limits?: Partial<Limits>): Promise<{ config: ProcessorConfig; baseDirectory: string }> {
  const { value, baseDirectory } = await readPolicyFile(path, limits);
  return { config: parseProcessorConfig(value), baseDirectory };
}

export type { ModuleTrust };
