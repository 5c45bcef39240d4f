export * from './constants.ts';
export { type SimpleSigningPayload, assertCosignSignatureType, parseSimpleSigningPayload } from './payload.ts';
export { type LegacyLayerAnnotations, parseLegacyAnnotations, parseRfc3161Annotation } from './annotations.ts';
export { type RekorBundle, type RekorEntryBody, parseRekorBundle, parseRekorEntryBody } from './rekor.ts';
