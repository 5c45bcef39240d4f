export type { BundleCandidate, LegacyCandidate, SignatureCandidate } from './candidate.ts';
export { discoverLegacySignatures, legacySignatureTag } from './legacy.ts';
export {
  type BundleDiscovery,
  discoverBundles,
  type ReferrerSkipCode,
  type ReferrersSource,
  referrersTag,
  type SkippedReferrer,
} from './referrers.ts';
