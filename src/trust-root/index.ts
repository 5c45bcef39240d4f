export { PUBLIC_GOOD_MIRROR, PUBLIC_GOOD_ROOT, type TrustSource, defaultTufCachePath, trustedRootFile } from './sources.ts';
export {
  type AssembledTrustFiles,
  type CertificateAuthorityFiles,
  type ValidityWindow,
  assembledTrust,
  certificateAuthorityTrust,
} from './assembled.ts';
export {
  type ConfiguredTrustOptions,
  TRUST_CONFIG_MEDIA_TYPE,
  type TrustConfig,
  TrustConfigSchema,
  type TrustSourceKind,
  type TrustSourceOptions,
  type TufTrustConfig,
  configuredTrustSource,
  isTufConfig,
  parseTrustConfig,
  readTrustConfig,
  recordTrustConfig,
  resolveConfiguredTrust,
  trustSourceFrom,
  trustSourceFromCache,
  tufSourceId,
  tufTrustSource,
} from './config.ts';
export { type KeyStatus, type RoleStatus, TRUST_STATUS_MEDIA_TYPE, type TrustStatus, type TrustStatusOptions, trustStatus } from './status.ts';
export { type ExpiredMetadata, type TrustOrigin, type TrustRoot, type TufRole, emptyTrustRoot, parseTrustedRoot } from './trusted-root.ts';
export { type CachedMetadata, type ExportedRepository, type TufSourceOptions, type TufTrustSource, isTufTrustSource, tufSource } from './tuf/source.ts';
export type { TufRepositoryLocation } from './tuf/source.ts';
export type { RoleState } from './tuf/metadata.ts';
export { TEST_TRUST_ROOT_WARNING, isTestTrustRoot } from './test-roots.ts';
export { LiveTrustRoot, type LiveTrustRootOptions } from './live.ts';
