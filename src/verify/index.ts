export { ImageVerifier, type ResolveOptions, type ResolvedReference, type VerifyOptions, resolveReference, verifyImage } from './verify-image.ts';
export { type MatcherSummary, type PolicySummary, RESULT_MEDIA_TYPE, type SignatureOutcome, type SignatureOutcomeKind, type VerificationResult } from './result.ts';
export { type ArtifactInput, type BundleVerificationResult, verifyBundleFile } from './verify-bundle.ts';
