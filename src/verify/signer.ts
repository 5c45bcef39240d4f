import type { X509Certificate } from '@sigstore/core';
import { SignatureRejected } from '../errors.ts';
import type { TlogVerifier } from '../bundle/tlog-body.ts';
import { type Policy, certificateIdentity, checkIdentity, parseCertificate } from '../policy/index.ts';
import { checkCodeSigningEku } from './chain.ts';
import type { SignatureOutcome } from './result.ts';
import { quote } from '../text/quote.ts';

/**
 * Checks shared by every signature format once its material is known: the
 * key or certificate that signed, the log entries that recorded it, and the
 * identity policy.
 */
export interface SigningMaterial {
  /** DER of the leaf certificate, when the signature carries one. */
  readonly certificateDer: Buffer | undefined;
}

export function spkiOfCertificate(der: Buffer): Buffer {
  try {
    return parseCertificate(der as Buffer<ArrayBuffer>).publicKey;
  } catch (cause) {
    throw new SignatureRejected('CERTIFICATE_INVALID', 'signature certificate cannot be parsed', { cause });
  }
}

/**
 * Keyless needs a certificate; in key mode a certificate, if present, must
 * carry the caller's key (docs/formats.md §4.4).
 */
export function checkMaterialMatchesPolicy(material: SigningMaterial, policy: Policy): void {
  if (policy.mode === 'keyless') {
    if (material.certificateDer === undefined) {
      throw new SignatureRejected('CERTIFICATE_MISSING', 'signature carries no certificate, but keyless verification needs one');
    }
    return;
  }
  if (material.certificateDer !== undefined && !spkiOfCertificate(material.certificateDer).equals(policy.publicKeyDer)) {
    throw new SignatureRejected('KEY_MISMATCH', 'the signature certificate carries a different key than the one given');
  }
}

/**
 * cosign's `comparePublicKey` (pkg/cosign/verify.go), for every log entry:
 * keyless, the entry must hold the signing certificate itself (DER-equal);
 * key mode, the caller's key, whether as a bare key or in a certificate.
 */
export function checkTlogSigner(entry: TlogVerifier, material: SigningMaterial, policy: Policy): void {
  const matches = policy.mode === 'keyless'
    ? entry.certificateDer !== undefined && material.certificateDer !== undefined && entry.certificateDer.equals(material.certificateDer)
    : (entry.publicKeyDer ?? (entry.certificateDer === undefined ? undefined : spkiOfCertificate(entry.certificateDer)))?.equals(policy.publicKeyDer) === true;
  if (!matches) {
    throw new SignatureRejected('TLOG_KEY_MISMATCH', `the ${quote(entry.kind, 64)} ${quote(entry.apiVersion, 64)} log entry was made with a different key or certificate than this signature`);
  }
}

type SignerFields = Pick<SignatureOutcome, 'identity' | 'identityKind' | 'issuer' | 'githubWorkflow' | 'publicKey'>;

/**
 * The identity policy (keyless) on a certificate whose chain sigstore-js or
 * our chain check verified. `parsed` is that certificate as sigstore-js
 * parsed it, if it did: read instead of parsing the DER once more, when it
 * re-encodes to exactly these bytes.
 */
export function checkSigner(material: SigningMaterial, policy: Policy, parsed?: X509Certificate): SignerFields {
  if (policy.mode === 'key') return { publicKey: true };
  const der = material.certificateDer as Buffer;
  // sigstore-js does not check the leaf's extended key usage (docs/formats.md pitfall 15).
  checkCodeSigningEku(der);
  const certificate = parsed !== undefined && parsed.root.toDER().equals(der) ? parsed : parseCertificate(der as Buffer<ArrayBuffer>);
  const identity = certificateIdentity(certificate);
  checkIdentity(policy, identity);
  return {
    ...(identity.primarySan === undefined ? {} : { identity: identity.primarySan.value, identityKind: identity.primarySan.kind }),
    ...(identity.issuer === undefined ? {} : { issuer: identity.issuer }),
    ...(Object.keys(identity.githubWorkflow).length === 0 ? {} : { githubWorkflow: identity.githubWorkflow }),
  };
}
