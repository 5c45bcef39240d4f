export { type CertificateIdentity, type GithubWorkflowClaims, type SanKind, type SubjectAlternativeName, OID, certificateIdentity, parseCertificate } from './certificate.ts';
export { checkAnnotations, checkIdentity } from './evaluate.ts';
export { type Matcher, describeMatcher, exactMatcher, matches, regexpMatcher } from './matcher.ts';
export { type KeyPolicy, type KeylessPolicy, type Policy, type PolicyInput, compilePolicy, parsePublicKey } from './policy.ts';
