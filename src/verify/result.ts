import type { ErrorCode, RejectionCode } from '../errors.ts';
import type { GithubWorkflowClaims, SanKind } from '../policy/index.ts';
import type { Digest } from '../reference/index.ts';
import type { TrustOrigin } from '../trust-root/trusted-root.ts';

/**
 * The versioned, serialisable result of one image verification. Consumers
 * check `mediaType` before reading; fields are only ever added within a version.
 */
export const RESULT_MEDIA_TYPE = 'application/vnd.sigverify.verification-result+json;version=1';

export type SignatureOutcomeKind =
  /** Cryptographically valid, bound to this digest and satisfying the policy. */
  | 'verified'
  /** Evaluated and refused; `reason` says why. */
  | 'failed'
  /** Not a signature (another layer type); reported, not evaluated. */
  | 'skipped'
  /** Could not be evaluated (registry error while fetching it). */
  | 'unavailable';

export interface SignatureOutcome {
  /** `cosign-legacy`: a `.sig`/`.att` layer; `sigstore-bundle`: a bundle attached as an OCI referrer. */
  readonly format: 'cosign-legacy' | 'sigstore-bundle';
  /** Where it was found, for people: `<repo>:sha256-….sig layer 0`, `<repo>@sha256:… (referrer)`. */
  readonly origin: string;
  /**
   * Where it was found, for programs: the digest-pinned manifest holding it
   * in the signature repository — a legacy `.sig`/`.att` manifest, or a
   * bundle referrer; `payloadDigest` names the layer. Absent only in results
   * cached by an earlier version.
   */
  readonly originLocation?: { readonly kind: 'signature-manifest' | 'referrer'; readonly location: string };
  /** Digest of the blob holding the signed payload (the simple-signing payload, or the bundle). */
  readonly payloadDigest: Digest;
  /** DSSE bundles and attestations: the in-toto predicate type of the verified statement. */
  readonly predicateType?: string;
  readonly outcome: SignatureOutcomeKind;
  readonly reason?: { readonly code: RejectionCode | ErrorCode; readonly message: string; readonly sigstoreCode?: string };
  /** Keyless: the primary SAN of the certificate, and its kind. */
  readonly identity?: string;
  readonly identityKind?: SanKind;
  readonly issuer?: string;
  readonly githubWorkflow?: GithubWorkflowClaims;
  /** Key mode: the signature was made by the policy key. */
  readonly publicKey?: boolean;
  readonly tlog?: {
    readonly logId: string;
    readonly logIndex: number;
    /** ISO 8601 time Rekor integrated the entry (verified through its SET); absent for Rekor v2 entries. */
    readonly integratedTime?: string;
  };
  /** Attestation mode: the verified in-toto statement, for downstream policy. */
  readonly statement?: unknown;
  /** The same log entry as an earlier signature: counted once. */
  readonly duplicateOf?: string;
}

export interface VerificationResult {
  readonly mediaType: typeof RESULT_MEDIA_TYPE;
  readonly verified: boolean;
  /** The reference as the caller gave it. */
  readonly reference: string;
  /** The digest the reference resolved to, computed from the bytes received. */
  readonly digest: Digest;
  /** What to run: `registry/repository@sha256:…`, never a tag (with a platform: the child's digest). */
  readonly pinnedReference: string;
  /**
   * With a platform: the child manifest to run, and what carried the signature
   * (`index`: the verified index lists this child; `child`: the child itself;
   * `image`: a single-platform image of that platform).
   */
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string; readonly digest: Digest; readonly signed: 'index' | 'child' | 'image' };
  /**
   * `manifest` or `index` (a multi-arch image is verified at its index digest,
   * as cosign signs it); absent when a digest reference was verified without
   * fetching the image manifest (cosign does not fetch it either).
   */
  readonly imageKind?: 'manifest' | 'index';
  /** What counted: cosign signatures, or attestations of one predicate type. */
  readonly purpose: { readonly kind: 'signature' | 'attestation'; readonly predicateType: string };
  readonly policy: PolicySummary;
  readonly discovery: DiscoverySummary;
  readonly trustRoot: {
    readonly source: string;
    /** `source`, for programs: the kind of trust and its file, repository or files. */
    readonly origin?: TrustOrigin;
    readonly digest: Digest | undefined;
    /** Expired TUF metadata accepted under `allowExpiredMetadataUnsafe`: a deviation the record must show. */
    readonly expiredMetadataAccepted?: readonly { readonly role: string; readonly version: number; readonly expires: string }[];
    /** True when the root is sigverify's own test Sigstore, whose private keys are published (fixtures/trust). */
    readonly testRoot?: true;
  };
  readonly signatures: readonly SignatureOutcome[];
  /** Distinct verified signatures (log entries counted once). */
  readonly verifiedSignatures: number;
  readonly verifiedAt: string;
  readonly sigverifyVersion: string;
}

/** How a policy string is matched: exactly, or by a regexp that must match the whole value. */
export type MatcherSummary = { readonly exact: string } | { readonly regexp: string };

/** Where signatures were looked for, and what was found there. */
export interface DiscoverySummary {
  /** `sha256-<hex>.sig` (or `.att`), and how many layers it held (0: absent). */
  readonly legacyTag: string;
  readonly legacySignatures: number;
  /** How referrers were listed: the registry's API, the fallback tag, or not at all. */
  readonly referrers: 'referrers-api' | 'fallback-tag' | 'none';
  /** Referrers that are not Sigstore bundles for this image. */
  readonly skippedReferrers: readonly { readonly origin: string; readonly code: string; readonly reason: string }[];
}

export interface PolicySummary {
  readonly mode: 'keyless' | 'key';
  readonly identity?: MatcherSummary;
  readonly issuer?: MatcherSummary;
  readonly githubWorkflow?: GithubWorkflowClaims;
  readonly annotations: Readonly<Record<string, string>>;
  readonly requireTlog: boolean;
  /** Keyless only: false when `ignoreSctUnsafe` let certificates without an SCT pass. */
  readonly requireSct?: boolean;
}

/** The log entry as the result reports it (time from the SET-verified integrated time). */
export function tlogSummary(entry: { readonly logIdHex: string; readonly logIndex: number; readonly integratedTime: number }): NonNullable<SignatureOutcome['tlog']> {
  return { logId: entry.logIdHex, logIndex: entry.logIndex, integratedTime: new Date(entry.integratedTime * 1000).toISOString() };
}
