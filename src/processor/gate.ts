import { type AuditEntry, type AuditRecord, type AuditSink, type AuditTrust, attestationEvidence, auditTrust, evidenceOf, refusalOf } from '../audit/index.ts';
import type { CacheKey, ResultCache } from '../cache/result-cache.ts';
import { DEFAULT_CACHE_TTL_MS } from '../cache/result-cache.ts';
import { SigverifyError, isSigverifyError } from '../errors.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { type Digest, parseReference, repositoryName } from '../reference/index.ts';
import { type ConnectionOptions, type StoreFactory, storesFor } from '../registry/index.ts';
import { TEST_TRUST_ROOT_WARNING, type TrustRoot, type TrustSource, emptyTrustRoot, isTestTrustRoot, trustSourceFrom } from '../trust-root/index.ts';
import { mapConcurrent } from '../io/concurrency.ts';
import { ImageVerifier, type ResolvedReference, type VerificationResult, type VerifyOptions, resolveReference } from '../verify/index.ts';
import { VERSION } from '../version.ts';
import { CompiledModule, type ModuleLoadOptions, compileModulePolicy, parseProcessorConfig, stringMember } from './module-policy.ts';

export interface GateOptions extends ConnectionOptions {
  /** Overrides every module's `trust`; default the module's, else the source `trust init` configured, else public-good TUF. */
  readonly trust?: TrustSource;
  /** Reuse decisions for a TTL; default none (every call verifies). */
  readonly cache?: ResultCache;
  /** Where every decision is recorded; a decision that cannot be recorded is refused (AUDIT_UNAVAILABLE). */
  readonly audit?: AuditSink;
  /** Time of records, ms since the epoch; default `Date.now`. */
  readonly clock?: () => number;
  /** Trust roots and compiled verifiers are reused this long, then reloaded (default 5 minutes). */
  readonly trustRefreshMs?: number;
  /** Relative paths in module policies are taken from here; default the working directory. */
  readonly baseDirectory?: string;
  /**
   * Accept sigverify's own test trust roots (fixtures/trust), whose private
   * keys are published: for tests and the shipped qualification only. Without
   * it the gate refuses them (TRUST_ROOT_FOR_TESTS).
   */
  readonly allowTestTrustRootUnsafe?: boolean;
  /** Trust for modules whose policy names none; default public-good TUF (never a source recorded behind the caller's back). */
  readonly defaultTrust?: TrustSource;
}

export type GateDecision = 'verified' | 'signature-not-required';

export const GATE_RESULT_MEDIA_TYPE = 'application/vnd.sigverify.gate-result+json;version=1';

/** "Run exactly this digest": the gate's answer when a module may run. Serialisable; versioned by `mediaType`. */
export interface GateResult {
  readonly mediaType: typeof GATE_RESULT_MEDIA_TYPE;
  readonly module: string | undefined;
  /** `docker_tag` as configured. */
  readonly requestedReference: string;
  /** What to run: `registry/repository@sha256:…`, never a tag. */
  readonly reference: string;
  /** The digest the reference resolved to, from the bytes received (a multi-arch image's index digest). */
  readonly digest: Digest;
  readonly decision: GateDecision;
  /** The signature verification (absent when no signature is required). */
  readonly result?: VerificationResult;
  /** One verification per required attestation, of the same digest. */
  readonly attestations?: readonly VerificationResult[];
  /** The decision was reused from the result cache (the tag was still resolved). */
  readonly cached: boolean;
  readonly policyDigest: Digest;
  /** The audit record written for this decision, when there is an audit sink. */
  readonly audit?: AuditRecord;
}

/** Where the gate is in a decision, for the audit record of a refusal. */
interface Progress {
  digest?: Digest;
  policyDigest?: Digest;
  trust?: AuditTrust;
}

/** A trust root loaded once, and the verifiers compiled against it. */
interface Verifiers {
  readonly loadedAt: number;
  readonly policyDigest: Digest;
  readonly trust: TrustRoot;
  readonly signature: ImageVerifier;
  readonly attestations: ReadonlyMap<string, ImageVerifier>;
}

/**
 * The processor gate: one call that says "run exactly this digest" or throws.
 * Keep one ModuleGate for the life of a processor: trust roots and compiled
 * verifiers are reused across calls (reloaded after `trustRefreshMs`), and
 * with a {@link ResultCache} a module started again within the TTL costs one
 * tag resolution and a map lookup.
 *
 * For each call: compile the module policy → resolve the reference to a
 * digest (always; never cached) → no signature required: pin and record →
 * look the decision up by (repository, digest, policy digest, trust-root
 * digest) → else verify the signature and every required attestation of that
 * same digest → cache → record → return the pinned reference.
 */
export class ModuleGate {
  readonly #options: GateOptions;
  /** One for every module and call: registry tokens and credentials are reused across gate calls. */
  readonly #stores: StoreFactory;
  readonly #limits: Limits;
  readonly #clock: () => number;
  readonly #refreshMs: number;
  readonly #verifiers = new Map<Digest, Promise<Verifiers>>();

  constructor(options: GateOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#refreshMs = options.trustRefreshMs ?? DEFAULT_CACHE_TTL_MS;
    this.#limits = resolveLimits(options.limits);
    // One for every call: tokens and credential-helper answers are reused across calls.
    this.#stores = storesFor(options, this.#limits);
  }

  /**
   * Gates one module: a module policy as JSON (any value: it is validated
   * here, and an invalid one is refused and recorded) or a
   * {@link CompiledModule}. Resolves when the module may run; throws a
   * SigverifyError otherwise. Either way the decision is audited first.
   */
  async check(module: unknown, at: Pick<ModuleLoadOptions, 'name' | 'path'> = {}): Promise<GateResult> {
    const started = performance.now();
    const time = new Date(this.#clock()).toISOString();
    const progress: Progress = {};
    let name = module instanceof CompiledModule ? module.name : stringMember(module, 'module_name') ?? at.name;
    const requested = module instanceof CompiledModule ? module.reference : stringMember(module, 'docker_tag') ?? '(none)';
    let compiled: CompiledModule;
    let outcome: Omit<GateResult, 'audit'>;
    try {
      compiled = module instanceof CompiledModule
        ? module
        : await compileModulePolicy(module, { ...at, ...(this.#options.baseDirectory === undefined ? {} : { baseDirectory: this.#options.baseDirectory }), ...(this.#options.limits === undefined ? {} : { limits: this.#options.limits }) });
      name = compiled.name;
      outcome = await this.#decide(compiled, progress);
    } catch (error) {
      const entry = { time, ...(name === undefined ? {} : { module: name }), reference: requested, ...refusalOf(error), ...progress, cached: false };
      await this.#record(entry, started, error);
      throw error;
    }
    const audit = await this.#record(auditEntry(time, requested, outcome, compiled.publicKeySha256), started);
    return audit === undefined ? outcome : { ...outcome, audit };
  }

  async #decide(compiled: CompiledModule, progress: Progress): Promise<Omit<GateResult, 'audit'>> {
    const base = { mediaType: GATE_RESULT_MEDIA_TYPE, module: compiled.name, requestedReference: compiled.reference } as const;
    // 1. Resolve: the digest of the bytes received, every time (a tag may have moved).
    const resolved = await resolveReference(compiled.reference, {
      stores: this.#stores,
      limits: this.#limits,
      ...(compiled.platform === undefined ? {} : { platform: compiled.platform }),
      ...(this.#options.signal === undefined ? {} : { signal: this.#options.signal }),
    });
    progress.digest = resolved.digest;
    if (!compiled.requireSignature) {
      const policyDigest = compiled.policyDigest(undefined);
      progress.policyDigest = policyDigest;
      return { ...base, reference: resolved.pinnedReference, digest: resolved.digest, decision: 'signature-not-required', cached: false, policyDigest };
    }

    // 2. The policy's verifiers and trust root (loaded once per refresh period).
    const verifiers = await this.#verifiersFor(compiled);
    progress.policyDigest = verifiers.policyDigest;
    progress.trust = auditTrust(verifiers.trust);
    const ref = parseReference(compiled.reference);
    const key: CacheKey = { subject: repositoryName(ref), digest: resolved.digest, policyDigest: verifiers.policyDigest, trustRootDigest: verifiers.trust.digest };
    const verified = { ...base, digest: resolved.digest, decision: 'verified', policyDigest: verifiers.policyDigest } as const;

    // 3. A decision reached for exactly this key within the TTL stands.
    const hit = await this.#options.cache?.get(key);
    if (hit !== undefined) return { ...verified, reference: hit.result.pinnedReference, result: hit.result, attestations: hit.attestations, cached: true };

    // 4. Verify the signature, then each required attestation, all of the image resolved in 1 (no second manifest request).
    const result = await verifiers.signature.verifyResolved(resolved);
    const attestations = await verifyAttestations(verifiers, compiled.requiredAttestations, resolved, result);
    await this.#options.cache?.set(key, { result, attestations });
    return { ...verified, reference: result.pinnedReference, result, attestations, cached: false };
  }

  /** The signature and attestation verifiers of a policy, sharing one trust root load; reloaded after the refresh period. */
  #verifiersFor(compiled: CompiledModule): Promise<Verifiers> {
    const policy = compiled.policy;
    if (policy === undefined) throw new TypeError('a module that requires a signature has a policy');
    // Key mode without the log needs no Sigstore trust at all (cosign#4550), unless a source is configured.
    const configured = this.#options.trust ?? compiled.trust;
    // Otherwise the caller's default (the CLI passes the source `sigverify trust init` recorded), else public-good TUF.
    const source = configured ?? (policy.mode === 'key' && !policy.requireTlog ? undefined : this.#options.defaultTrust ?? trustSourceFrom({ source: 'public-good' }));
    const policyDigest = compiled.policyDigest(source);
    const now = this.#clock();
    const memo = this.#verifiers.get(policyDigest);
    if (memo !== undefined) {
      return memo.then((v) => (now - v.loadedAt < this.#refreshMs && v.loadedAt <= now ? v : this.#loadVerifiers(compiled, source, policyDigest, now)));
    }
    return this.#loadVerifiers(compiled, source, policyDigest, now);
  }

  #loadVerifiers(compiled: CompiledModule, source: TrustSource | undefined, policyDigest: Digest, now: number): Promise<Verifiers> {
    const loading = (async (): Promise<Verifiers> => {
      const root = source === undefined ? emptyTrustRoot() : await source.load();
      if (isTestTrustRoot(root) && this.#options.allowTestTrustRootUnsafe !== true) {
        throw new SigverifyError('TRUST_ROOT_FOR_TESTS', `module ${compiled.name ?? compiled.reference}: ${TEST_TRUST_ROOT_WARNING} (${root.source}); configure the site's trust root`, {
          details: { reference: compiled.reference, trustRootDigest: root.digest },
        });
      }
      const options: VerifyOptions = {
        stores: this.#stores,
        limits: this.#limits,
        // The root is loaded once here and shared by every verifier of this policy.
        trust: root,
        ...(compiled.platform === undefined ? {} : { platform: compiled.platform }),
      };
      const policy = compiled.policy as NonNullable<CompiledModule['policy']>;
      const signature = await ImageVerifier.create(policy, options);
      const attestations = new Map<string, ImageVerifier>();
      for (const type of compiled.requiredAttestations) attestations.set(type, await ImageVerifier.create(policy, { ...options, attestationPredicateType: type }));
      return { loadedAt: now, policyDigest, trust: root, signature, attestations };
    })();
    this.#verifiers.set(policyDigest, loading);
    // A failed load is not remembered: the next call tries again.
    loading.catch(() => {
      if (this.#verifiers.get(policyDigest) === loading) this.#verifiers.delete(policyDigest);
    });
    return loading;
  }

  /** Appends the record (duration measured up to now); a sink failure becomes AUDIT_UNAVAILABLE. */
  async #record(entry: Omit<AuditEntry, 'durationMs' | 'sigverifyVersion'>, started: number, refused?: unknown): Promise<AuditRecord | undefined> {
    const sink = this.#options.audit;
    if (sink === undefined) return undefined;
    try {
      return await sink.append({ ...entry, durationMs: performance.now() - started, sigverifyVersion: VERSION });
    } catch (error) {
      const refusal = isSigverifyError(refused) ? { refusal: refused.code } : {};
      if (isSigverifyError(error, 'AUDIT_UNAVAILABLE')) {
        throw new SigverifyError('AUDIT_UNAVAILABLE', error.message, { cause: error, details: { ...error.details, reference: entry.reference, ...refusal } });
      }
      throw new SigverifyError('AUDIT_UNAVAILABLE', `cannot write the audit record: ${(error as Error).message}`, { cause: error, details: { reference: entry.reference, ...refusal } });
    }
  }
}

/** One-shot: gate one module with a fresh {@link ModuleGate} (keep a ModuleGate to reuse trust roots and verifiers). */
export function gateModule(module: unknown, options: GateOptions = {}): Promise<GateResult> {
  return new ModuleGate(options).check(module);
}

/**
 * Required attestations, each verified by its own verifier against the same
 * pinned digest as the signature; a missing or failing one refuses the
 * module with ATTESTATION_NOT_VERIFIED (its result in `result`).
 * Failures that are not a definite "no" (registry unavailable) pass as they are.
 */
async function verifyAttestations(verifiers: Verifiers, types: readonly string[], resolved: ResolvedReference, signature: VerificationResult): Promise<VerificationResult[]> {
  const pinned = signature.pinnedReference;
  const settled = await Promise.allSettled(types.map((type) => (verifiers.attestations.get(type) as ImageVerifier).verifyResolved(resolved)));
  return settled.map((s, i) => {
    const predicateType = types[i] as string;
    if (s.status === 'rejected') {
      const error: unknown = s.reason;
      if (!isSigverifyError(error) || error.kind !== 'rejected') throw error;
      throw new SigverifyError('ATTESTATION_NOT_VERIFIED', `${pinned}: no verified attestation of type ${predicateType}: [${error.code}] ${error.message}`, {
        cause: error,
        details: { ...error.details, predicateType },
        ...(error.result === undefined ? {} : { result: error.result }),
      });
    }
    // Same digest, same thing to run: anything else is a bug, never a pass.
    if (s.value.digest !== signature.digest && s.value.digest !== s.value.platform?.digest || s.value.pinnedReference !== signature.pinnedReference) {
      throw new SigverifyError('DIGEST_MISMATCH', `${pinned}: the ${predicateType} attestation was verified for ${s.value.pinnedReference}, the signature for ${signature.pinnedReference}`, { details: { reference: pinned, predicateType } });
    }
    return s.value;
  });
}

function auditEntry(time: string, requested: string, outcome: Omit<GateResult, 'audit'>, publicKeySha256: Digest | undefined): Omit<AuditEntry, 'durationMs' | 'sigverifyVersion'> {
  const common = {
    time,
    ...(outcome.module === undefined ? {} : { module: outcome.module }),
    reference: requested,
    digest: outcome.digest,
    pinnedReference: outcome.reference,
    decision: outcome.decision,
    policyDigest: outcome.policyDigest,
    cached: outcome.cached,
  };
  if (outcome.result === undefined) return common;
  return {
    ...common,
    ...evidenceOf(outcome.result, publicKeySha256),
    ...(outcome.attestations === undefined || outcome.attestations.length === 0 ? {} : { attestations: outcome.attestations.map((a) => attestationEvidence(a, publicKeySha256)) }),
  };
}

export interface ModuleCheck {
  /** The key in the configuration's `modules` map. */
  readonly module: string;
  readonly outcome: { readonly ok: true; readonly gate: GateResult } | { readonly ok: false; readonly error: unknown };
}

/** How many modules of a configuration are checked at once. */
const CONFIG_CONCURRENCY = 4;

/**
 * Checks every module of a processor configuration (`{"modules": {name: policy}}`)
 * through one gate: each module's outcome, in the configuration's order.
 * The configuration itself must be valid (POLICY_INVALID otherwise); an
 * invalid module is that module's outcome.
 */
export async function checkProcessorConfig(config: unknown, options: GateOptions = {}, gate: ModuleGate = new ModuleGate(options)): Promise<ModuleCheck[]> {
  const { modules } = parseProcessorConfig(config);
  return mapConcurrent(Object.entries(modules), CONFIG_CONCURRENCY, async ([name, module]): Promise<ModuleCheck> => {
    try {
      return { module: name, outcome: { ok: true, gate: await gate.check(module, { name, path: ['modules', name] }) } };
    } catch (error) {
      return { module: name, outcome: { ok: false, error } };
    }
  });
}
