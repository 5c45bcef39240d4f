/**
 * sigverify: verify cosign / Sigstore container image signatures natively.
 *
 * This file is the public contract for integrators: verify an image, gate a
 * processor module, keep the audit trail and the result cache, name the trust,
 * handle the errors. Trust administration (TUF caches, status, export) is
 * `sigverify/trust`; the qualification protocol is `sigverify/qualify`.
 * `test/api.test.ts` pins the runtime names of all three.
 */

// Errors: one base class, closed unions of codes.
export { BaseError, ERROR_CODES, type ErrorCode, type ErrorDetails, type ErrorKind, REJECTION_CODES, type RejectionCode, SigverifyError, isSigverifyError } from './errors.ts';
export { DEFAULT_LIMITS, type Limits } from './limits.ts';
export { quote } from './text/quote.ts';
export { VERSION } from './version.ts';

// References and content.
export { type Digest, type ImageReference, manifestReference, parseReference, pinnedReference } from './reference/index.ts';
export { type ConnectionOptions, ContentStores, type ContentStoresOptions, type CredentialSource, type Credentials, type StoreFactory, dockerConfigCredentials, staticCredentials } from './registry/index.ts';
export type { ContentStore, FetchedManifest, ReferrersListing } from './registry/index.ts';

// Trust: one vocabulary (TrustConfig), one way to a source.
export {
  type ExpiredMetadata,
  type TrustConfig,
  type TrustOrigin,
  type TrustRoot,
  type TrustSource,
  configuredTrustSource,
  parseTrustConfig,
  trustSourceFrom,
  trustedRootFile,
} from './trust-root/index.ts';

// Verification.
export type { GithubWorkflowClaims, PolicyInput, SanKind } from './policy/index.ts';
export {
  type ArtifactInput,
  type BundleVerificationResult,
  ImageVerifier,
  type MatcherSummary,
  type PolicySummary,
  RESULT_MEDIA_TYPE,
  type ResolvedReference,
  type ResolveOptions,
  type SignatureOutcome,
  type SignatureOutcomeKind,
  type VerificationResult,
  type VerifyOptions,
  resolveReference,
  verifyBundleFile,
  verifyImage,
} from './verify/index.ts';

// The processor gate.
export {
  CompiledModule,
  GATE_RESULT_MEDIA_TYPE,
  type GateDecision,
  type GateOptions,
  type GateResult,
  type ModuleCheck,
  ModuleGate,
  type ModuleLoadOptions,
  type ModulePolicy,
  type ModulePolicyInput,
  type ModuleTrust,
  type PolicyBytes,
  type ProcessorConfig,
  checkProcessorConfig,
  compileModulePolicy,
  gateModule,
  loadModulePolicyFile,
  loadProcessorConfigFile,
  parseModulePolicy,
  readPolicyFile,
} from './processor/index.ts';

// Result cache and audit trail.
export { type CacheKey, type CachedVerification, DEFAULT_CACHE_TTL_MS, ResultCache, type ResultCacheOptions } from './cache/index.ts';
export {
  AUDIT_DECISIONS,
  AUDIT_RECORD_MEDIA_TYPE,
  type AuditAttestation,
  type AuditDecision,
  type AuditEntry,
  AuditLog,
  type AuditLogOptions,
  type AuditProblem,
  type AuditRecord,
  type AuditSigner,
  type AuditSink,
  type AuditSummary,
  type AuditSummaryOptions,
  type AuditTlog,
  type AuditVerification,
  type AuditVerifyOptions,
  type DurationStats,
  type ModuleSummary,
  summarizeAuditLog,
  verifyAuditLog,
} from './audit/index.ts';
