export type { SignatureCandidate } from './candidate.ts';
export { discoverLegacySignatures, legacySignatureTag } from './legacy.ts';
