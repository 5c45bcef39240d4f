export { PUBLIC_GOOD_MIRROR, type TrustSource, type TufOptions, defaultTufCachePath, trustedRootFile, tufTrustRoot } from './sources.ts';
export { type CertificateAuthorityFiles, certificateAuthorityTrust } from './assembled.ts';
export { type TrustRoot, emptyTrustRoot, parseTrustedRoot } from './trusted-root.ts';
