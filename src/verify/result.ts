import type { ErrorCode, RejectionCode } from '../errors.ts';
import type { GithubWorkflowClaims, SanKind } from '../policy/index.ts';
import type { Digest } from '../reference/index.ts';

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
  readonly format: 'cosign-legacy';
  readonly origin: string;
  /** Digest of the blob holding the signed payload. */
  readonly payloadDigest: Digest;
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
    /** ISO 8601 time Rekor integrated the entry (verified through its SET). */
    readonly integratedTime: string;
  };
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
  /** What to run: `registry/repository@sha256:…`, never a tag. */
  readonly pinnedReference: string;
  /** `manifest` or `index` (a multi-arch image is verified at its index digest, as cosign signs it). */
  readonly imageKind: 'manifest' | 'index';
  readonly policy: PolicySummary;
  readonly trustRoot: { readonly source: string; readonly digest: Digest | undefined };
  readonly signatures: readonly SignatureOutcome[];
  /** Distinct verified signatures (log entries counted once). */
  readonly verifiedSignatures: number;
  readonly verifiedAt: string;
  readonly sigverifyVersion: string;
}

/** How a policy string is matched: exactly, or by a regexp that must match the whole value. */
export type MatcherSummary = { readonly exact: string } | { readonly regexp: string };

export interface PolicySummary {
  readonly mode: 'keyless' | 'key';
  readonly identity?: MatcherSummary;
  readonly issuer?: MatcherSummary;
  readonly githubWorkflow?: GithubWorkflowClaims;
  readonly annotations: Readonly<Record<string, string>>;
  readonly requireTlog: boolean;
}
