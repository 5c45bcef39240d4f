import { SignatureRejected } from '../errors.ts';
import type { CertificateIdentity, GithubWorkflowClaims } from './certificate.ts';
import { describeMatcher, matches } from './matcher.ts';
import type { KeylessPolicy } from './policy.ts';
import { quote } from '../text/quote.ts';

/**
 * Identity policy on a verified certificate (cosign `CheckCertificatePolicy`,
 * cosign-formats §5.4): any SAN may match the identity; the issuer comes from
 * `.1.8`, else `.1.1`, and two disagreeing issuer extensions are refused;
 * GitHub workflow claims compare the raw `.1.2`–`.1.6` values exactly.
 */
export function checkIdentity(policy: KeylessPolicy, identity: CertificateIdentity): void {
  if (!identity.sans.some((san) => matches(policy.identity, san.value))) {
    const got = identity.sans.slice(0, 5).map((s) => `${s.kind}:${quote(s.value)}`).join(', ') || 'none';
    throw new SignatureRejected('IDENTITY_MISMATCH', `certificate identity ${got} does not match ${describeMatcher(policy.identity)}`);
  }
  if (identity.issuerConflict) {
    throw new SignatureRejected('ISSUER_AMBIGUOUS', 'certificate issuer extensions 1.3.6.1.4.1.57264.1.1 and .1.8 disagree');
  }
  // A certificate without issuer extensions (a BYO PKI) has the empty issuer,
  // which only a regexp such as `.*` can match, as in cosign.
  if (!matches(policy.issuer, identity.issuer ?? '')) {
    throw new SignatureRejected('ISSUER_MISMATCH', `certificate OIDC issuer ${identity.issuer === undefined ? 'none' : quote(identity.issuer)} does not match ${describeMatcher(policy.issuer)}`);
  }
  for (const [claim, expected] of Object.entries(policy.githubWorkflow) as [keyof GithubWorkflowClaims, string][]) {
    const actual = identity.githubWorkflow[claim];
    if (actual !== expected) {
      throw new SignatureRejected('CLAIM_MISMATCH', `certificate GitHub workflow ${claim} ${actual === undefined ? 'none' : quote(actual)} is not ${quote(expected)}`);
    }
  }
}

/** `-a key=value`: each must equal the signed claim as a JSON string (cosign `pkg/cosign/verifiers.go`). */
export function checkAnnotations(expected: Readonly<Record<string, string>>, signed: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(expected)) {
    if (signed[key] !== value) {
      throw new SignatureRejected('ANNOTATION_MISMATCH', `signed annotation ${quote(key)} is ${quote(signed[key] ?? null)}, expected ${quote(value)}`);
    }
  }
}
