export * from './constants.ts';
export { type SimpleSigningPayload, assertCosignSignatureType, parseSimpleSigningPayload } from './payload.ts';
export { type LegacyLayerAnnotations, parseLegacyAnnotations, parseRfc3161Annotation } from './annotations.ts';
export { type RekorBundle, parseRekorBundle } from './rekor.ts';
export { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, type InTotoStatement, parseStatement, subjectFor } from './statement.ts';
export { PREDICATE_TYPE_ALIASES, predicateTypeOf } from './predicate-types.ts';
