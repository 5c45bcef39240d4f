import { X509Certificate, verify as verifySignature } from 'node:crypto';
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
  const usages = new X509Certificate(leafDer).keyUsage as readonly string[] | undefined;
  if (usages !== undefined && !usages.includes(EKU_CODE_SIGNING) && !usages.includes(EKU_ANY)) {
    throw new SignatureRejected('CERTIFICATE_INVALID', 'signing certificate is not valid for code signing (extended key usage)');
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
 * checks every signature, CA flag and validity period at `at`.
 */
export function verifyChainAt(leafDer: Buffer, root: TrustedRoot, at: Date): void {
  const leaf = new X509Certificate(leafDer);
  if (!validAt(leaf, at)) {
    throw new SignatureRejected('CERTIFICATE_INVALID', `signing certificate is not valid at ${at.toISOString()} (valid ${leaf.validFrom} to ${leaf.validTo}) and no trusted timestamp says when it signed`);
  }
  for (const ca of caChains(root)) {
    if (ca.start > at || (ca.end !== undefined && ca.end < at)) continue;
    if (chainsTo(leaf, ca.certificates, at)) return;
  }
  throw new SignatureRejected('CERTIFICATE_INVALID', 'signing certificate does not chain to a certificate authority of the trust root');
}

function issuedBy(child: X509Certificate, parent: X509Certificate, at: Date): boolean {
  return parent.ca && validAt(parent, at) && child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** CA chains are ordered leafmost first; the last certificate is the root, and must be self-signed. */
function chainsTo(leaf: X509Certificate, chain: readonly X509Certificate[], at: Date): boolean {
  const root = chain.at(-1);
  if (root === undefined || !root.checkIssued(root) || !root.verify(root.publicKey)) return false;
  const issuer = chain.findIndex((c) => issuedBy(leaf, c, at));
  if (issuer === -1) return false;
  for (let i = issuer; i < chain.length - 1; i++) {
    if (!issuedBy(chain[i] as X509Certificate, chain[i + 1] as X509Certificate, at)) return false;
  }
  return true;
}

/** The signature over the payload, with the leaf's key (ECDSA: SHA-256 over DER; RSA: PKCS#1 v1.5 SHA-256). */
export function verifyPayloadSignature(leafDer: Buffer, payload: Buffer, signatureBase64: string): void {
  const key = new X509Certificate(leafDer).publicKey;
  if (!verifySignature('sha256', payload, key, Buffer.from(signatureBase64, 'base64'))) {
    throw new SignatureRejected('SIGNATURE_INVALID', 'signature does not verify with the signing certificate');
  }
}
