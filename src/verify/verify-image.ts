import type { Verifier } from '@sigstore/verify';
import * as z from 'zod';
import { COSIGN_SIGN_PREDICATE_TYPE } from '../cosign/index.ts';
import { predicateTypeOf } from '../cosign/predicate-types.ts';
import { type ErrorCode, SigverifyError, isSigverifyError } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { type ImageIndex, type Manifest, type Platform, formatPlatform, parseManifest, parsePlatform, platformMatches, selectPlatform } from '../oci/index.ts';
import { type Matcher, type Policy, type PolicyInput, compilePolicy } from '../policy/index.ts';
import {
  type Digest,
  type ImageReference,
  formatReference,
  isDigest,
  manifestReference,
  parseReference,
  parseRegistryReference,
  pinnedReference,
} from '../reference/index.ts';
import { type ConnectionOptions, type StoreFactory, storesFor } from '../registry/index.ts';
import type { ContentStore } from '../registry/types.ts';
import { LiveTrustRoot, type TrustRoot, type TrustSource, emptyTrustRoot, isTestTrustRoot, trustSourceFrom } from '../trust-root/index.ts';
import { quote } from '../text/quote.ts';
import { VERSION } from '../version.ts';
import { mapConcurrent } from '../io/concurrency.ts';
import { type FormatContext, type Purpose, discoverCandidates, verifyCandidate } from './formats/index.ts';
import { type DiscoverySummary, type MatcherSummary, type PolicySummary, RESULT_MEDIA_TYPE, type SignatureOutcome, type VerificationResult } from './result.ts';
import { ByteBudget, BudgetedStore } from './budget.ts';
import { createSigstoreVerifier } from './sigstore.ts';

export interface VerifyOptions extends ConnectionOptions {
  /**
   * Where trust comes from: a source (loaded once, by {@link ImageVerifier.create}),
   * a root already loaded (shared between verifiers), or a {@link LiveTrustRoot}
   * that a long-running process refreshes on a schedule (each verification uses
   * the root current when it starts).
   * Default: the public-good Sigstore through TUF. Never the source `sigverify
   * trust init` recorded for the CLI: a library call trusts only what its caller names.
   */
  readonly trust?: TrustSource | TrustRoot | LiveTrustRoot;
  /** Read signatures from another repository (cosign's `COSIGN_REPOSITORY`). */
  readonly signatureRepository?: string;
  /**
   * Verify attestations of this predicate type instead of signatures
   * (`verify-attestation --type`): a URI, or one of cosign's aliases
   * (`slsaprovenance1`, `spdxjson`, `cyclonedx`, `vuln`, …). By default only cosign signatures count:
   * predicate type `https://sigstore.dev/cosign/sign/v1` (docs/formats.md §4.6).
   */
  readonly attestationPredicateType?: string;
  /**
   * `os/arch[/variant]`: for a multi-arch image, return the child manifest of
   * this platform, from the verified index, as the reference to run.
   */
  readonly platform?: string;
}

/** The image a reference resolved to: its digest, computed from these bytes. */
export interface ResolvedImage {
  readonly digest: Digest;
  /** Undefined when the manifest was not fetched (a digest reference needs it only for some checks). */
  readonly kind?: 'manifest' | 'index';
  /** Undefined when only the digest is known (interop replays). */
  readonly bytes?: Uint8Array;
  readonly manifest?: Manifest;
}

/** A reference resolved to the image it names (step 1), for {@link ImageVerifier.verifyResolved}. */
export interface ResolvedReference {
  /** The reference as given. */
  readonly reference: string;
  /** sha256 of the manifest or index bytes received (never a registry header), or the digest the reference names. */
  readonly digest: Digest;
  /** Absent when a digest reference was not fetched. */
  readonly kind?: 'manifest' | 'index';
  /** What to run: `registry/repository@sha256:…` of `digest`, or, with a platform, of its child (not yet verified). */
  readonly pinnedReference: string;
}

interface ResolutionInternals {
  readonly ref: ImageReference;
  readonly image: ResolvedImage;
  readonly store: ContentStore;
  readonly signal: AbortSignal;
  /** Stops the verification deadline's timer (once the verification that resolved is over). */
  readonly release: () => void;
  /** The platform whose single image's config resolution already read: not fetched again. */
  readonly checkedPlatform?: string;
}

/** What only the verifier needs of a resolution: kept out of the public shape. */
const resolutions = new WeakMap<ResolvedReference, ResolutionInternals>();

function internalsOf(resolved: ResolvedReference): ResolutionInternals {
  const internals = resolutions.get(resolved);
  if (internals === undefined) throw new TypeError('verifyResolved takes what ImageVerifier.resolve or resolveReference returned');
  return internals;
}

export interface ResolveOptions {
  readonly stores: StoreFactory;
  readonly limits?: Limits;
  /** `os/arch[/variant]`: pin this child of a multi-arch image. */
  readonly platform?: string;
  readonly signal?: AbortSignal;
}

/**
 * Step 1 of every verification, also for callers that pin an image they do
 * not verify (a module with `require_signature: false`): the digest of the
 * bytes received; a digest reference is one already and, like cosign, is not
 * fetched unless a platform must be picked. The verification deadline starts here.
 */
export async function resolveReference(reference: string, options: ResolveOptions): Promise<ResolvedReference> {
  const ref = parseReference(reference);
  const limits = resolveLimits(options.limits);
  const { signal, release } = verificationDeadline(limits.verificationTimeoutMs, options.signal);
  try {
    const store = options.stores.open(ref, signal);
    // A digest reference already is an identity: like cosign, verify its signatures without the
    // manifest (a registry may hold the signatures of an image it no longer holds), and fetch
    // the manifest only for what needs it (a platform; a message signature's artifact).
    const image: ResolvedImage = ref.digest !== undefined && options.platform === undefined
      ? { digest: ref.digest }
      : await resolveImage(store, ref, reference, limits);
    let pinned = pinnedReference(ref, image.digest);
    let checkedPlatform: string | undefined;
    if (options.platform !== undefined) {
      const platform = parsePlatform(options.platform);
      if (image.kind === 'index') pinned = pinnedReference(ref, selectPlatform(image.manifest as ImageIndex, platform, `${reference} (${image.digest})`).digest);
      else {
        await checkPlatform(store, image, platform, reference, limits);
        checkedPlatform = options.platform;
      }
    }
    const resolved: ResolvedReference = { reference, digest: image.digest, ...(image.kind === undefined ? {} : { kind: image.kind }), pinnedReference: pinned };
    resolutions.set(resolved, { ref, image, store, signal, release, ...(checkedPlatform === undefined ? {} : { checkedPlatform }) });
    return resolved;
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * The verification deadline (limits.verificationTimeoutMs) with the caller's
 * signal. A timer the verification stops when it is over, rather than
 * `AbortSignal.timeout`, whose timer and signal would stay alive for the
 * whole timeout (two minutes) after each verification: at a few hundred
 * verifications a second, tens of thousands of them pending at once.
 */
function verificationDeadline(timeoutMs: number, caller: AbortSignal | undefined): { signal: AbortSignal; release: () => void } {
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  timer.unref();
  const release = (): void => {
    clearTimeout(timer);
  };
  return { signal: caller === undefined ? deadline.signal : AbortSignal.any([deadline.signal, caller]), release };
}

/** A trust root with what is derived from it once: sigstore-js's verifier, whether it is a test root. */
interface VerifierMaterial {
  readonly trust: TrustRoot;
  readonly sigstore: Verifier;
  readonly testRoot: boolean;
}

/** Signature layers verified at once; they are independent, the registry is shared. */
const SIGNATURE_CONCURRENCY = 8;

/**
 * A verifier for one policy and one trust root. Policy compilation, trust
 * loading and sigstore-js trust material happen once, here; `verify` can then
 * be called for any number of images.
 */
export class ImageVerifier {
  readonly policy: Policy;
  readonly purpose: Purpose;
  readonly #trust: TrustRoot | LiveTrustRoot;
  /** sigstore-js's verifier for the current root, rebuilt only when the root changes. */
  #material: VerifierMaterial | undefined;
  readonly #options: VerifyOptions;
  readonly #limits: Limits;
  readonly #stores: StoreFactory;

  private constructor(policy: Policy, trust: TrustRoot | LiveTrustRoot, options: VerifyOptions) {
    this.policy = policy;
    this.purpose = options.attestationPredicateType === undefined
      ? { kind: 'signature', predicateType: COSIGN_SIGN_PREDICATE_TYPE }
      : { kind: 'attestation', predicateType: predicateTypeOf(options.attestationPredicateType) };
    this.#trust = trust;
    this.#options = options;
    this.#limits = resolveLimits(options.limits);
    this.#stores = storesFor(options, this.#limits);
    // sigstore-js trust material now, not at the first verification (a live root's later versions at theirs).
    this.#currentMaterial();
  }

  /** The trust root verifications use now. */
  get trust(): TrustRoot {
    return this.#currentMaterial().trust;
  }

  #currentMaterial(): VerifierMaterial {
    const root = this.#trust instanceof LiveTrustRoot ? this.#trust.current() : this.#trust;
    if (this.#material?.trust !== root) this.#material = { trust: root, sigstore: createSigstoreVerifier(root, this.policy), testRoot: isTestTrustRoot(root) };
    return this.#material;
  }

  static async create(policy: PolicyInput | Policy, options: VerifyOptions = {}): Promise<ImageVerifier> {
    const compiled = 'mode' in policy ? policy : compilePolicy(policy);
    return new ImageVerifier(compiled, await loadTrust(compiled, options.trust), options);
  }

  /**
   * Verifies an image the way `cosign verify` does (docs/formats.md §4):
   * resolve the reference to a digest → discover signatures → verify each →
   * apply the policy → result. Resolves only when at least one signature
   * passes; otherwise throws a SigverifyError whose `result` holds the
   * per-signature outcomes.
   */
  async verify(reference: string): Promise<VerificationResult> {
    const resolved = await this.resolve(reference);
    try {
      return await this.verifyResolved(resolved);
    } finally {
      // Nothing else holds this resolution: its deadline can stop.
      internalsOf(resolved).release();
    }
  }

  /**
   * Step 1 alone: the reference resolved to the digest of the bytes received
   * (a tag is asked for every time). A caller that decides something on the
   * digest first (the gate's result cache) then calls {@link verifyResolved},
   * which fetches the manifest no second time.
   */
  resolve(reference: string): Promise<ResolvedReference> {
    return resolveReference(reference, {
      stores: this.#stores,
      limits: this.#limits,
      ...(this.#options.platform === undefined ? {} : { platform: this.#options.platform }),
      ...(this.#options.signal === undefined ? {} : { signal: this.#options.signal }),
    });
  }

  /** Steps 2–6 for a reference {@link resolve} resolved (any verifier's: the same image may be verified for a signature and each attestation). */
  verifyResolved(resolved: ResolvedReference): Promise<VerificationResult> {
    const { ref, image, store, signal, checkedPlatform } = internalsOf(resolved);
    // One budget of bytes for everything this verification fetches (limits.maxVerificationBytes).
    const budget = new ByteBudget(this.#limits.maxVerificationBytes);
    const budgeted = new BudgetedStore(store, budget);
    if (this.#options.platform === undefined) return this.#verifyDigest(budgeted, ref, resolved.reference, image, signal, budget);
    const platformChecked = checkedPlatform === this.#options.platform;
    return this.#verifyPlatform(budgeted, ref, resolved.reference, image, parsePlatform(this.#options.platform), signal, budget, platformChecked);
  }

  /**
   * `--platform`: cosign signs the index a multi-arch tag resolves to (and,
   * with `sign --recursive`, each child too). The child to run is taken from
   * the verified index; if the index carries no passing signature, the child
   * must carry its own (docs/formats.md §4.7). The result says which was signed.
   */
  async #verifyPlatform(
    store: ContentStore,
    ref: ImageReference,
    reference: string,
    image: ResolvedImage,
    platform: Platform,
    signal: AbortSignal,
    budget: ByteBudget,
    platformChecked: boolean,
  ): Promise<VerificationResult> {
    if (image.kind === 'manifest') {
      // A single image's config says its platform; resolution has read it when it was asked for this platform.
      if (!platformChecked) await checkPlatform(store, image, platform, reference, this.#limits);
      const result = await this.#verifyDigest(store, ref, reference, image, signal, budget);
      return { ...result, platform: { ...platform, digest: image.digest, signed: 'image' } };
    }
    const child = selectPlatform(image.manifest as ImageIndex, platform, `${reference} (${image.digest})`);
    const run = { ...platform, digest: child.digest };
    try {
      const result = await this.#verifyDigest(store, ref, reference, image, signal, budget);
      return { ...result, pinnedReference: pinnedReference(ref, child.digest), platform: { ...run, signed: 'index' } };
    } catch (indexError) {
      if (!isSigverifyError(indexError) || indexError.kind !== 'rejected') throw indexError;
      const childImage = await resolveImage(store, { ...ref, digest: child.digest }, reference, this.#limits);
      // The index's entry is unsigned here, so the child's own config must say it is this platform
      // (else a registry could map linux/amd64 to any image the identity ever signed).
      await checkPlatform(store, childImage, platform, reference, this.#limits);
      const result = await this.#verifyDigest(store, ref, reference, childImage, signal, budget);
      return { ...result, platform: { ...run, signed: 'child' } };
    }
  }

  /** Steps 2–6 for one digest. */
  async #verifyDigest(
    store: ContentStore,
    ref: ImageReference,
    reference: string,
    image: ResolvedImage,
    signal: AbortSignal,
    budget: ByteBudget,
  ): Promise<VerificationResult> {
    const { digest } = image;
    // 2. Discover every format's candidates (formats/index.ts), from the signature repository if one is set.
    const signatureStore = this.#options.signatureRepository === undefined
      ? store
      : new BudgetedStore(this.#stores.open(parseRegistryReference(this.#options.signatureRepository), signal), budget);
    const { candidates, discovery } = await discoverCandidates(signatureStore, digest, this.purpose, this.#limits);

    // 3–5. Each candidate by its format: bind to this digest, verify, apply the policy (with the trust root current now).
    const material = this.#currentMaterial();
    const ctx: FormatContext = {
      store: signatureStore,
      imageDigest: digest,
      imageManifest: manifestLoader(store, image),
      policy: this.policy,
      purpose: this.purpose,
      verifier: material.sigstore,
      trust: material.trust,
      limits: this.#limits,
    };
    const outcomes = markDuplicates(await mapConcurrent(candidates, SIGNATURE_CONCURRENCY, (c) => verifyCandidate(c, ctx)));

    // 6. Result: one valid, distinct signature that satisfies the policy passes.
    const result = this.#result(reference, ref, image, discovery, outcomes, material);
    if (!result.verified) throw notVerified(result);
    return result;
  }

  #result(reference: string, ref: ImageReference, image: ResolvedImage, discovery: DiscoverySummary, signatures: SignatureOutcome[], { trust, testRoot }: VerifierMaterial): VerificationResult {
    const { digest } = image;
    const verifiedSignatures = signatures.filter((s) => s.outcome === 'verified' && s.duplicateOf === undefined).length;
    return {
      mediaType: RESULT_MEDIA_TYPE,
      verified: verifiedSignatures > 0,
      reference,
      digest,
      pinnedReference: pinnedReference(ref, digest),
      ...(image.kind === undefined ? {} : { imageKind: image.kind }),
      purpose: this.purpose,
      policy: summarisePolicy(this.policy),
      discovery,
      trustRoot: {
        source: trust.source,
        origin: trust.origin,
        digest: trust.digest,
        ...(trust.expiredMetadataAccepted === undefined || trust.expiredMetadataAccepted.length === 0 ? {} : { expiredMetadataAccepted: trust.expiredMetadataAccepted }),
        ...(testRoot ? { testRoot: true as const } : {}),
      },
      signatures,
      verifiedSignatures,
      verifiedAt: new Date().toISOString(),
      sigverifyVersion: VERSION,
    };
  }
}

/** One-shot convenience: compile, load trust, verify. Default trust: the source `trust init` configured, else public good. */
export async function verifyImage(reference: string, policy: PolicyInput | Policy, options: VerifyOptions = {}): Promise<VerificationResult> {
  return (await ImageVerifier.create(policy, options)).verify(reference);
}

/**
 * Key mode with the log ignored needs no Sigstore trust (cosign#4550); every
 * other mode needs the trust root, from the caller's source or public-good TUF.
 */
async function loadTrust(policy: Policy, trust: TrustSource | TrustRoot | LiveTrustRoot | undefined): Promise<TrustRoot | LiveTrustRoot> {
  if (trust instanceof LiveTrustRoot) return trust;
  if (trust !== undefined && 'trustedRoot' in trust) return trust;
  if (trust === undefined && policy.mode === 'key' && !policy.requireTlog) return emptyTrustRoot();
  return (trust ?? trustSourceFrom({ source: 'public-good' })).load();
}

/**
 * Tag → digest by hashing the manifest bytes received; a digest reference is
 * checked against the bytes by the store. A multi-arch tag resolves to the
 * index digest, which is what cosign signs (docs/formats.md §1.1, §4.7).
 */
async function resolveImage(store: ContentStore, ref: ImageReference, reference: string, limits: Limits): Promise<ResolvedImage> {
  const wanted = manifestReference(ref);
  const fetched = await store.getManifest(wanted);
  if (fetched === undefined) {
    throw new SigverifyError('IMAGE_NOT_FOUND', `image ${formatReference(ref)} not found in ${store.description}`, { details: { reference, ...(isDigest(wanted) ? { digest: wanted } : {}) } });
  }
  // The caller's caps, not the defaults (test/adversarial/content-lies.test.ts, "caps the caller configured").
  const manifest = parseManifest(fetched.bytes, `${store.description}@${fetched.digest}`, limits);
  return { digest: fetched.digest, kind: manifest.kind, bytes: fetched.bytes, manifest };
}

/** A single image must be of the platform asked for, by its own config blob (the only signed statement of it). */
async function checkPlatform(store: ContentStore, image: ResolvedImage, platform: Platform, reference: string, limits: Limits): Promise<void> {
  const actual = image.kind === 'manifest' ? await imagePlatform(store, image, limits) : undefined;
  if (!platformMatches(platform, actual)) {
    const what = image.kind === 'index' ? 'an image index' : actual === undefined ? 'an image of an unknown platform' : `a single-platform image for ${quote(formatPlatform(actual))}`;
    throw new SigverifyError('PLATFORM_NOT_FOUND', `${reference} (${image.digest}) is ${what}, not ${formatPlatform(platform)}`, { details: { reference, digest: image.digest } });
  }
}

/** The image manifest bytes, fetched (hash-checked against the digest) on first use when resolution did not fetch them. */
function manifestLoader(store: ContentStore, image: ResolvedImage): () => Promise<Uint8Array | undefined> {
  let loading: Promise<Uint8Array | undefined> | undefined;
  return () => {
    loading ??= image.bytes === undefined ? store.getManifest(image.digest).then((m) => m?.bytes) : Promise.resolve(image.bytes);
    return loading;
  };
}

/** The platform in a single image's config blob (OCI image-spec `config.md`: `os`, `architecture`, `variant`). */
async function imagePlatform(store: ContentStore, image: ResolvedImage, limits: Limits): Promise<Platform | undefined> {
  if (image.manifest?.kind !== 'manifest') return undefined;
  const { config } = image.manifest;
  const bytes = await store.getBlob(config.digest, config.size, limits.maxManifestBytes);
  try {
    return parseJson(ImageConfigPlatform, bytes, (reason) => new SigverifyError('MANIFEST_INVALID', `image config ${config.digest}: ${reason}`));
  } catch {
    return undefined;
  }
}

const ImageConfigPlatform = z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() });

/** A log entry presented twice is one piece of evidence (docs/formats.md pitfall 8). */
function markDuplicates(outcomes: SignatureOutcome[]): SignatureOutcome[] {
  const seen = new Map<string, string>();
  return outcomes.map((o) => {
    if (o.outcome !== 'verified' || o.tlog === undefined) return o;
    const key = `${o.tlog.logId}/${o.tlog.logIndex}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, o.origin);
      return o;
    }
    return { ...o, duplicateOf: first };
  });
}

function summarisePolicy(policy: Policy): PolicySummary {
  if (policy.mode === 'key') return { mode: 'key', annotations: policy.annotations, requireTlog: policy.requireTlog };
  return {
    mode: 'keyless',
    identity: summariseMatcher(policy.identity),
    issuer: summariseMatcher(policy.issuer),
    ...(Object.keys(policy.githubWorkflow).length === 0 ? {} : { githubWorkflow: policy.githubWorkflow }),
    annotations: policy.annotations,
    requireTlog: policy.requireTlog,
    requireSct: policy.requireSct,
  };
}

function summariseMatcher(matcher: Matcher): MatcherSummary {
  return matcher.kind === 'exact' ? { exact: matcher.value } : { regexp: `^(?:${matcher.source})$` };
}

/**
 * Why nothing passed. No signature at all (or only non-signature layers) is
 * NO_SIGNATURES; signatures that all failed is NO_MATCHING_SIGNATURE; if some
 * could not even be fetched and none passed, no decision is possible.
 */
function notVerified(result: VerificationResult): SigverifyError {
  const where = `${result.reference} (${result.digest})`;
  const details = { reference: result.reference, digest: result.digest };
  const evaluated = result.signatures.filter((s) => s.outcome !== 'skipped');
  if (evaluated.length === 0) {
    return new SigverifyError('NO_SIGNATURES', `no signatures found for ${where}`, { details, result });
  }
  const unavailable = evaluated.find((s) => s.outcome === 'unavailable');
  if (unavailable !== undefined) {
    // Outcomes are 'unavailable' only for errors of the unavailable kind, so the code is an ErrorCode.
    const code = (unavailable.reason?.code ?? 'REGISTRY_UNREACHABLE') as ErrorCode;
    return new SigverifyError(code, `could not fetch every signature of ${where} and none verified: ${unavailable.reason?.message ?? ''}`, { details, result });
  }
  const reasons = evaluated.map((s) => `${s.origin}: ${s.reason?.code ?? 'UNKNOWN'} ${s.reason?.message ?? ''}`).join('; ');
  return new SigverifyError('NO_MATCHING_SIGNATURE', `no signature of ${where} satisfies the policy: ${reasons}`, { details, result });
}
