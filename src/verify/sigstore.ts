import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { PolicyError, type SignedEntity, type TrustMaterial, Verifier, VerificationError, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { memoizeCertificate } from './memo-certificates.ts';
import type { KeyObject } from 'node:crypto';
import { type RejectionCode, SignatureRejected } from '../errors.ts';
import type { Policy } from '../policy/index.ts';
import type { TrustRoot } from '../trust-root/index.ts';

/**
 * The sigstore-js verifier for one (trust root, policy) pair, built once and
 * reused for every signature: trust material is parsed a single time.
 *
 * Thresholds follow cosign (docs/formats.md §4.3–4.5): keyless needs one
 * transparency-log entry, one SCT and one trusted timestamp; key mode needs
 * the log entry only. `ignoreTlogUnsafe` drops the log threshold, never the
 * timestamp threshold of keyless mode: a certificate bundle verified with
 * zero timestamps crashes sigstore-js (docs/formats.md pitfall 9) and has no trusted time.
 */
export function createSigstoreVerifier(trust: TrustRoot, policy: Policy): Verifier {
  const tlogThreshold = policy.requireTlog ? 1 : 0;
  if (policy.mode === 'key') {
    const material = memoized(toTrustMaterial(trust.trustedRoot, keyFinder(policy.publicKey)));
    return new Verifier(material, { tlogThreshold, ctlogThreshold: 0, timestampThreshold: 0 });
  }
  // A private CA without a CT log (a BYO PKI, a small private Fulcio) cannot
  // produce SCTs (docs/formats.md pitfall 5); the trust root says whether CT is part of trust.
  const ctlogThreshold = policy.requireSct && trust.trustedRoot.ctlogs.length > 0 ? 1 : 0;
  return new Verifier(memoized(toTrustMaterial(trust.trustedRoot)), { tlogThreshold, ctlogThreshold, timestampThreshold: 1 });
}

/** The CA and TSA certificates are checked against each other for every signature: remember the answers. */
function memoized(material: TrustMaterial): TrustMaterial {
  for (const authority of [...material.certificateAuthorities, ...material.timestampAuthorities]) authority.certChain.forEach(memoizeCertificate);
  return material;
}

/**
 * A bundle's key hint only says which key its signer meant; in key mode the
 * one key that can verify is the caller's, whatever the hint.
 */
function keyFinder(publicKey: KeyObject) {
  return () => ({ publicKey, validFor: () => true });
}

const SIGSTORE_CODES: Readonly<Record<string, RejectionCode>> = {
  TIMESTAMP_ERROR: 'NO_TRUSTED_TIME',
  CERTIFICATE_ERROR: 'CERTIFICATE_INVALID',
  PUBLIC_KEY_ERROR: 'KEY_MISMATCH',
  SIGNATURE_ERROR: 'SIGNATURE_INVALID',
  TLOG_ERROR: 'TLOG_ENTRY_INVALID',
  TLOG_INCLUSION_PROMISE_ERROR: 'TLOG_ENTRY_INVALID',
  TLOG_INCLUSION_PROOF_ERROR: 'TLOG_ENTRY_INVALID',
  TLOG_BODY_ERROR: 'TLOG_ENTRY_INVALID',
};

/** Thrown for a sigstore-js refusal; keeps its code for the result. */
export class SigstoreRejected extends SignatureRejected {
  readonly sigstoreCode: string;
  constructor(code: RejectionCode, sigstoreCode: string, message: string, cause: unknown) {
    super(code, message, { cause });
    this.sigstoreCode = sigstoreCode;
  }
}

/**
 * Runs sigstore-js: timestamps, certificate chain and SCTs, tlog entries
 * (SET / inclusion proof, body vs content), signature. Identity policy is NOT
 * passed: sigstore-js matches SANs as unanchored regexps (docs/formats.md pitfall 6), so
 * identity is checked by our own policy code afterwards. Returns the signing
 * certificate as sigstore-js parsed it (undefined for a key), so that the
 * identity check reads it without parsing it again.
 */
export function verifyEntity(verifier: Verifier, entity: () => SignedEntity): X509Certificate | undefined {
  let built: SignedEntity;
  try {
    built = withoutStackTraces(entity);
    if (built.key.$case === 'certificate') memoizeCertificate(built.key.certificate);
  } catch (cause) {
    throw new SigstoreRejected('BUNDLE_INVALID', 'BUNDLE_INVALID', `signature does not form a valid Sigstore bundle: ${(cause as Error).message}`, cause);
  }
  try {
    verifier.verify(built);
    return built.key.$case === 'certificate' ? built.key.certificate : undefined;
  } catch (cause) {
    if (cause instanceof SignatureRejected) throw cause;
    if (cause instanceof VerificationError || cause instanceof PolicyError) {
      const code = SIGSTORE_CODES[cause.code] ?? 'SIGSTORE_VERIFICATION_FAILED';
      throw new SigstoreRejected(code, cause.code, `${cause.message}${cause.cause instanceof Error ? `: ${cause.cause.message}` : ''}`, cause);
    }
    // Anything else (a TypeError deep in a library) is still a refusal, never a pass.
    throw new SigstoreRejected('SIGSTORE_VERIFICATION_FAILED', 'UNEXPECTED', `verification failed unexpectedly: ${(cause as Error).message}`, cause);
  }
}

/**
 * Runs `build` with V8's stack traces off. @sigstore/core's ASN.1 parser
 * probes every OCTET STRING for nested DER and throws (and swallows) an
 * error when it is not, several times per certificate and timestamp;
 * capturing those stack traces was about 4 % of the CPU of a whole
 * verification. Synchronous code only: no other JavaScript runs before the
 * limit is restored, and an error that escapes keeps its message and code
 * (only its stack is empty; the refusal we throw for it has its own).
 */
function withoutStackTraces<T>(build: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** {@link verifyEntity} for a serialized bundle and its artifact (legacy layers converted to v0.1). */
export function runSigstore(verifier: Verifier, bundle: SerializedBundle, artifact: Buffer | undefined): X509Certificate | undefined {
  return verifyEntity(verifier, () => toSignedEntity(bundleFromJSON(bundle), artifact));
}
