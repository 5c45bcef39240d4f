import { X509Certificate, createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { ByteStream, EXTENSION_OID_SCT, X509Certificate as SigstoreCertificate, X509SCTExtension } from '@sigstore/core';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { SignatureRejected } from '../errors.ts';

/**
 * Certificate checks sigstore-js does not make, or cannot make:
 *
 * - EKU: Fulcio leaves carry codeSigning; cosign and sigstore-go require it,
 *   sigstore-js does not look (cosign-formats pitfall 15).
 * - Certificates with no trusted time at all (BYO PKI signed without Rekor or
 *   TSA): sigstore-js cannot verify them (pitfall 9), so the chain is built
 *   here, to a CA of the trust root, and checked at the current time, as
 *   cosign does when it has no signed timestamp (cosign-formats §4.3 step 6).
 */
const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const EKU_ANY = '2.5.29.37.0';

/** A leaf with an EKU extension must allow code signing; one without is unrestricted (RFC 5280 §4.2.1.12, as Go's x509 treats it). */
export function checkCodeSigningEku(leafDer: Buffer): void {
  // Node's typings say string[], but it is undefined when the extension is absent.
  const usages = leafCertificate(leafDer).keyUsage as readonly string[] | undefined;
  if (usages !== undefined && !usages.includes(EKU_CODE_SIGNING) && !usages.includes(EKU_ANY)) {
    throw new SignatureRejected('CERTIFICATE_INVALID', 'signing certificate is not valid for code signing (extended key usage)');
  }
}

/** The signing certificate, parsed by node:crypto; bytes it cannot parse are this signature's refusal, not a crash. */
function leafCertificate(der: Buffer): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (cause) {
    throw new SignatureRejected('CERTIFICATE_INVALID', 'signing certificate cannot be parsed', { cause });
  }
}

function validAt(cert: X509Certificate, at: Date): boolean {
  return new Date(cert.validFrom) <= at && at <= new Date(cert.validTo);
}

interface CaChain {
  readonly certificates: readonly X509Certificate[];
  readonly start: Date;
  readonly end: Date | undefined;
}

function caChains(root: TrustedRoot): CaChain[] {
  return root.certificateAuthorities.map((ca) => ({
    certificates: (ca.certChain?.certificates ?? []).map((c) => new X509Certificate(c.rawBytes)),
    start: ca.validFor?.start ?? new Date(Number.POSITIVE_INFINITY),
    end: ca.validFor?.end,
  }));
}

/**
 * Builds leaf → intermediates → root using only the trust root's CA chains
 * (the chain annotation is ignored, as cosign does with a trusted root) and
 * checks every signature, CA flag and validity period at `at`. Returns the
 * leaf's issuer (for the SCT check).
 */
export function verifyChainAt(leafDer: Buffer, root: TrustedRoot, at: Date): X509Certificate {
  const leaf = leafCertificate(leafDer);
  if (!validAt(leaf, at)) {
    throw new SignatureRejected('CERTIFICATE_INVALID', `signing certificate is not valid at ${at.toISOString()} (valid ${leaf.validFrom} to ${leaf.validTo}) and no trusted timestamp says when it signed`);
  }
  for (const ca of caChains(root)) {
    if (ca.start > at || (ca.end !== undefined && ca.end < at)) continue;
    const issuer = chainsTo(leaf, ca.certificates, at);
    if (issuer !== undefined) return issuer;
  }
  throw new SignatureRejected('CERTIFICATE_INVALID', 'signing certificate does not chain to a certificate authority of the trust root');
}

function issuedBy(child: X509Certificate, parent: X509Certificate, at: Date): boolean {
  return parent.ca && validAt(parent, at) && child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** CA chains are ordered leafmost first; the last certificate is the root, and must be self-signed. The leaf's issuer, if the chain holds. */
function chainsTo(leaf: X509Certificate, chain: readonly X509Certificate[], at: Date): X509Certificate | undefined {
  const root = chain.at(-1);
  if (root === undefined || !root.checkIssued(root) || !root.verify(root.publicKey)) return undefined;
  const issuer = chain.findIndex((c) => issuedBy(leaf, c, at));
  if (issuer === -1) return undefined;
  for (let i = issuer; i < chain.length - 1; i++) {
    if (!issuedBy(chain[i] as X509Certificate, chain[i + 1] as X509Certificate, at)) return undefined;
  }
  return chain[issuer];
}

/**
 * At least one embedded SCT from a CT log of the trust root (RFC 6962 §3.2),
 * for certificates whose chain sigverify checks itself (no trusted time):
 * every other path has sigstore-js check SCTs, and cosign requires one
 * unless `--insecure-ignore-sct`. The signed data is the precertificate: the
 * issuer's key hash and the TBSCertificate without the SCT list extension.
 */
export function verifyEmbeddedSct(leafDer: Buffer, issuer: X509Certificate, root: TrustedRoot): void {
  const clone = SigstoreCertificate.parse(Buffer.from(leafDer)).clone();
  const index = clone.extensions.findIndex((ext) => ext.subs[0]?.toOID() === EXTENSION_OID_SCT);
  const extension = index === -1 ? undefined : new X509SCTExtension(clone.extensions[index] as ConstructorParameters<typeof X509SCTExtension>[0]);
  if (extension === undefined || extension.signedCertificateTimestamps.length === 0) {
    throw new SignatureRejected('CERTIFICATE_INVALID', 'signing certificate has no signed certificate timestamp (SCT) from a CT log; pass --insecure-ignore-sct only for a CA without a CT log');
  }
  clone.extensions.splice(index, 1);
  const tbs = clone.tbsCertificate.toDER();
  const preCert = new ByteStream();
  preCert.appendView(createHash('sha256').update(issuer.publicKey.export({ type: 'spki', format: 'der' })).digest());
  preCert.appendUint24(tbs.length);
  preCert.appendView(tbs);
  const signed = preCert.buffer;
  const verified = extension.signedCertificateTimestamps.some((sct) => root.ctlogs.some((log) => {
    const key = log.publicKey?.rawBytes;
    if (key === undefined || log.logId?.keyId === undefined || !log.logId.keyId.equals(sct.logID)) return false;
    const start = log.publicKey?.validFor?.start;
    const end = log.publicKey?.validFor?.end;
    if ((start !== undefined && sct.datetime < start) || (end !== undefined && sct.datetime > end)) return false;
    try {
      return sct.verify(signed, createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' }));
    } catch {
      return false; // a key node:crypto cannot use verifies nothing
    }
  }));
  if (!verified) {
    throw new SignatureRejected('CERTIFICATE_INVALID', 'no signed certificate timestamp (SCT) of the signing certificate verifies with a CT log of the trust root');
  }
}

/** The signature over the payload, with the leaf's key (ECDSA: SHA-256 over DER; RSA: PKCS#1 v1.5 SHA-256). */
export function verifyPayloadSignature(leafDer: Buffer, payload: Buffer, signatureBase64: string): void {
  const key = leafCertificate(leafDer).publicKey;
  if (!verifySignature('sha256', payload, key, Buffer.from(signatureBase64, 'base64'))) {
    throw new SignatureRejected('SIGNATURE_INVALID', 'signature does not verify with the signing certificate');
  }
}
