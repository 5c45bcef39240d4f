/**
 * Typed errors. Every failure sigverify reports carries a stable string code;
 * codes are public API (tests assert them, the CLI maps them to exit codes, the
 * audit trail records them). Messages are for people: they name the image, the
 * digest and what to do; the code is for programs.
 *
 * Modelled on sigstore-js (`packages/verify/src/error.ts`): one base class, a
 * closed union of codes, `cause` kept.
 */
import { oneLine } from './text/quote.ts';
import type { VerificationResult } from './verify/result.ts';

/** What a failure means for the caller; decides the CLI exit code. */
export type ErrorKind =
  /** The request itself is malformed (bad reference, contradictory policy): exit 2. */
  | 'usage'
  /** The image is not verified (a definite "no"): exit 1. */
  | 'rejected'
  /** No decision could be reached (registry or trust root unavailable): exit 3. */
  | 'unavailable';

/** Every error code, with the kind it belongs to. One table, so a code cannot drift between kinds. */
export const ERROR_CODES = {
  // usage
  USAGE: 'usage',
  REFERENCE_INVALID: 'usage',
  POLICY_INVALID: 'usage',
  KEY_INVALID: 'usage',
  INSECURE_TRANSPORT: 'usage',
  DOCKER_CONFIG_INVALID: 'usage',
  /** A trust configuration (TrustConfig, `trust` CLI flags, the source recorded in a TUF cache) is malformed or contradictory. */
  TRUST_CONFIG_INVALID: 'usage',
  /**
   * A local file or directory sigverify would trust (trusted root, key, module policy, TUF or result cache) is a
   * symbolic link, belongs to another user (other than root), or is writable by group or others; details name the path.
   */
  LOCAL_FILE_UNSAFE: 'usage',
  /** The gate was given sigverify's own test trust root (fixtures/trust, private keys published) without `allowTestTrustRootUnsafe`. */
  TRUST_ROOT_FOR_TESTS: 'usage',

  // unavailable: no decision possible
  REGISTRY_UNREACHABLE: 'unavailable',
  REGISTRY_TIMEOUT: 'unavailable',
  REGISTRY_HTTP_ERROR: 'unavailable',
  REGISTRY_AUTH_FAILED: 'unavailable',
  CREDENTIAL_HELPER_FAILED: 'unavailable',
  LAYOUT_UNREADABLE: 'unavailable',
  TRUST_ROOT_UNAVAILABLE: 'unavailable',
  TRUST_ROOT_INVALID: 'unavailable',
  /** The audit trail could not be written (I/O error, lock timeout, damaged last record): nothing may run unaudited. */
  AUDIT_UNAVAILABLE: 'unavailable',
  /** A TUF role's metadata has expired (TUF spec §5.3.10, §5.4.4, §5.5.6, §5.6.5); details name the role and its expiry. */
  TRUST_METADATA_EXPIRED: 'unavailable',
  /** A TUF role's version is lower than the one already trusted, or disagrees with the role that lists it (§5.3.5, §5.4.3, §5.5.4, §5.5.5, §5.6.4). */
  TRUST_METADATA_ROLLBACK: 'unavailable',
  /** TUF metadata without a threshold of valid signatures from the keys its delegating role names (§5.3.4, §5.4.2, §5.5.3, §5.6.3). */
  TRUST_METADATA_UNSIGNED: 'unavailable',
  /** TUF metadata that cannot be parsed, or whose length or hashes differ from what the role above it records (§5.5.2, §5.6.2). */
  TRUST_METADATA_INVALID: 'unavailable',
  /** A TUF target (trusted_root.json) whose length or hashes differ from the signed targets metadata, or that it does not list (§5.7.3). */
  TRUST_TARGET_MISMATCH: 'unavailable',
  /** `sigverify qualify`: the qualification kit shipped with sigverify (fixtures/) is missing or damaged, so no qualification is possible. */
  QUALIFICATION_KIT_INVALID: 'unavailable',
  /** `sigverify qualify`: the report could not be written (the directory cannot be created, or a file cannot be written). */
  QUALIFICATION_REPORT_UNWRITABLE: 'unavailable',
  /** `sigverify log`: a log's checkpoint is not signed by a key of the trust root, or cannot be parsed. */
  LOG_CHECKPOINT_INVALID: 'unavailable',
  /** `sigverify log`: a proof the log served (inclusion, consistency, or tiles that do not hash to the signed root) does not verify. */
  LOG_PROOF_INVALID: 'unavailable',
  /** `sigverify log`: a log's answer is malformed, too large, or lies about what was asked (other entries, repeated or missing ones, a tree that keeps growing). */
  LOG_RESPONSE_INVALID: 'unavailable',
  /** `sigverify log`: an entry of a watched identity cannot be verified (inclusion, certificate chain); nothing about it can be reported. */
  LOG_ENTRY_UNVERIFIED: 'unavailable',
  /** `sigverify log`: the monitor's state directory holds a checkpoint that cannot be read. */
  LOG_STATE_INVALID: 'unavailable',

  // rejected: a definite "not verified"
  IMAGE_NOT_FOUND: 'rejected',
  PLATFORM_NOT_FOUND: 'rejected',
  DIGEST_MISMATCH: 'rejected',
  LIMIT_EXCEEDED: 'rejected',
  MANIFEST_INVALID: 'rejected',
  BLOB_NOT_FOUND: 'rejected',
  REDIRECT_REFUSED: 'rejected',
  /** A referrers listing's `Link: rel="next"` leaves the registry's origin, repeats a page, or cannot be parsed. */
  PAGINATION_REFUSED: 'rejected',
  NO_SIGNATURES: 'rejected',
  NO_MATCHING_SIGNATURE: 'rejected',
  /** The image is signed, but an attestation its module policy requires is missing or does not verify. */
  ATTESTATION_NOT_VERIFIED: 'rejected',
  /** An audit trail fails `audit verify`: a record was edited, removed, inserted or reordered, or an expected head is missing. */
  AUDIT_CHAIN_BROKEN: 'rejected',
  /**
   * `sigverify log`: the log is not append-only. A signed checkpoint contradicts the one verified before (smaller
   * tree, same size with another root, or a new tree that does not contain the old one); details carry both.
   */
  LOG_FORKED: 'rejected',
  /** `sigverify log`: an entry an accepted gate decision relied on (audit trail) is no longer in the log at its index. */
  LOG_ENTRY_MISSING: 'rejected',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  /** The image reference as the caller wrote it, when known. */
  readonly reference?: string;
  /** The digest concerned (resolved image digest, blob digest), when known. */
  readonly digest?: string;
  /** HTTP status, URL (without credentials), or other machine-readable context. */
  readonly [key: string]: unknown;
}

/**
 * The base of every error sigverify throws: a stable string code from a
 * closed union, a message that is one safe line (foreign values in it are
 * quoted where they are inserted, and escaped here whatever happens), and
 * the `cause` kept.
 */
export abstract class BaseError<Code extends string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options: { cause?: unknown } = {}) {
    // Messages carry foreign values (media types, digests, paths): one safe line, whatever they hold.
    super(oneLine(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

export interface SigverifyErrorOptions {
  readonly cause?: unknown;
  readonly details?: ErrorDetails;
  /** For a verification that ran and found no passing signature: its result, every signature with its outcome. */
  readonly result?: VerificationResult;
}

export class SigverifyError extends BaseError<ErrorCode> {
  override readonly name = 'SigverifyError';
  readonly kind: ErrorKind;
  readonly details: ErrorDetails;
  /** The verification result when the image was examined and not verified (`verified: false`, per-signature reasons). */
  readonly result: VerificationResult | undefined;

  constructor(code: ErrorCode, message: string, options: SigverifyErrorOptions = {}) {
    super(code, message, options);
    this.kind = ERROR_CODES[code];
    this.details = options.details ?? {};
    this.result = options.result;
  }
}

export function isSigverifyError(error: unknown, code?: ErrorCode): error is SigverifyError {
  return error instanceof SigverifyError && (code === undefined || error.code === code);
}

/**
 * Why one signature candidate did not verify. Unlike {@link ErrorCode}, these do
 * not abort verification: they are recorded per signature in the result, and the
 * image fails with NO_MATCHING_SIGNATURE only when no candidate passes.
 */
export const REJECTION_CODES = [
  'LAYER_MEDIA_TYPE',
  'LAYER_TOO_LARGE',
  'LAYER_DIGEST_MISMATCH',
  'ANNOTATION_INVALID',
  'PAYLOAD_INVALID',
  'PAYLOAD_TYPE_MISMATCH',
  'PAYLOAD_DIGEST_MISMATCH',
  'TLOG_MISSING',
  'TLOG_ENTRY_INVALID',
  'TLOG_KEY_MISMATCH',
  'TLOG_SIGNATURE_MISMATCH',
  'TLOG_DUPLICATE',
  'NO_TRUSTED_TIME',
  'CERTIFICATE_MISSING',
  'CERTIFICATE_INVALID',
  'KEY_MISMATCH',
  'SIGNATURE_INVALID',
  'IDENTITY_MISMATCH',
  'ISSUER_MISMATCH',
  'ISSUER_AMBIGUOUS',
  'CLAIM_MISMATCH',
  'ANNOTATION_MISMATCH',
  'SIGSTORE_VERIFICATION_FAILED',
  'BUNDLE_INVALID',
  'BUNDLE_UNSUPPORTED',
  'PREDICATE_TYPE_MISMATCH',
  'VERIFICATION_MATERIAL_MISMATCH',
  /** Checking this signature threw something other than a typed refusal: it is not verified; the others still count. */
  'UNEXPECTED_ERROR',
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

/** A per-signature failure, raised inside the pipeline and caught into the result. */
export class SignatureRejected extends BaseError<RejectionCode> {
  override readonly name = 'SignatureRejected';
}
