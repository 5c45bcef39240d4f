/**
 * sigverify: verify cosign / Sigstore container image signatures natively.
 * This file is the public contract; everything else is internal.
 */
export { ERROR_CODES, type ErrorCode, type ErrorKind, REJECTION_CODES, type RejectionCode, SigverifyError, isSigverifyError } from './errors.ts';
export { DEFAULT_LIMITS, type Limits } from './limits.ts';
export type { GithubWorkflowClaims, PolicyInput, SanKind } from './policy/index.ts';
export { type Digest, type ImageReference, parseReference, pinnedReference } from './reference/index.ts';
export { type CredentialSource, dockerConfigCredentials, staticCredentials } from './registry/index.ts';
export { type CertificateAuthorityFiles, certificateAuthorityTrust, type TrustRoot, type TrustSource, type TufOptions, trustedRootFile, tufTrustRoot } from './trust-root/index.ts';
export {
  ImageVerifier,
  type MatcherSummary,
  type PolicySummary,
  RESULT_MEDIA_TYPE,
  type SignatureOutcome,
  type SignatureOutcomeKind,
  type VerificationResult,
  type VerifyOptions,
  type ArtifactInput,
  type BundleVerificationResult,
  verifyBundleFile,
  verifyImage,
} from './verify/index.ts';
export { VERSION } from './version.ts';
