/**
 * `sigverify/trust`: administering where trust comes from. TUF sources
 * (public good, a private mirror, a repository directory for air-gapped
 * sites) with their caches, the source recorded for the CLI, status and
 * export, assembled roots and BYO-PKI CAs. Verifying needs only the root
 * entry's `trustSourceFrom`; this is for tools that manage trust.
 */
export {
  type AssembledTrustFiles,
  LiveTrustRoot,
  type LiveTrustRootOptions,
  type CachedMetadata,
  type CertificateAuthorityFiles,
  type ConfiguredTrustOptions,
  type ExportedRepository,
  type KeyStatus,
  PUBLIC_GOOD_MIRROR,
  type RoleState,
  type RoleStatus,
  TEST_TRUST_ROOT_WARNING,
  TRUST_CONFIG_MEDIA_TYPE,
  TRUST_STATUS_MEDIA_TYPE,
  type TrustSourceKind,
  type TrustSourceOptions,
  type TrustStatus,
  type TrustStatusOptions,
  type TufRepositoryLocation,
  type TufRole,
  type TufTrustConfig,
  type TufTrustSource,
  type ValidityWindow,
  assembledTrust,
  certificateAuthorityTrust,
  defaultTufCachePath,
  isTestTrustRoot,
  isTufConfig,
  isTufTrustSource,
  readTrustConfig,
  recordTrustConfig,
  resolveConfiguredTrust,
  trustSourceFromCache,
  trustStatus,
  tufTrustSource,
} from './trust-root/index.ts';
