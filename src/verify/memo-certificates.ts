import { type KeyObject, createPublicKey } from 'node:crypto';
import { type X509Certificate, crypto } from '@sigstore/core';

/**
 * Remembering what sigstore-js recomputes. Its certificate-path building
 * (`@sigstore/verify` `key/certificate.js`) calls `equals` and `verify` on the
 * same certificates again and again, and each call re-encodes ASN.1
 * (`X509Certificate#equals` serialises both whole certificates; `#verify`
 * re-encodes the TBS part and the issuer's key): about 40 % of its CPU time per
 * keyless signature, and the intermediate-by-root check is the same for every
 * Fulcio signature.
 *
 * These instance-level replacements compute exactly what the originals compute
 * (@sigstore/core 4, `x509/cert.js`): the same re-encoded bytes, the same key,
 * the same `crypto.verify` call; each result is computed once per certificate
 * (and issuer) and kept. Certificates are immutable once parsed, and only
 * objects sigverify owns are patched (the trust material it built, the leaf
 * of an entity it built), never the library's prototypes.
 * test/verify/memo-equivalence.test.ts checks the verdicts equal bare
 * sigstore-js on every fixture, interop signature and conformance case.
 */
const encoded = new WeakMap<X509Certificate, Buffer>();
const tbs = new WeakMap<X509Certificate, Buffer>();
const keys = new WeakMap<X509Certificate, KeyObject>();
const verdicts = new WeakMap<X509Certificate, WeakMap<X509Certificate, boolean>>();
const patched = new WeakSet<X509Certificate>();

function remember<K extends object, V>(map: WeakMap<K, V>, key: K, compute: () => V): V {
  const known = map.get(key);
  if (known !== undefined) return known;
  const value = compute();
  map.set(key, value);
  return value;
}

/** `X509Certificate#equals`: `this.root.toDER().equals(other.root.toDER())`. */
const derOf = (cert: X509Certificate): Buffer => remember(encoded, cert, () => cert.root.toDER());

/** `X509Certificate#verify(issuer?)`: the issuer's (else own) key over the re-encoded TBS. */
function verifyWith(cert: X509Certificate, issuer: X509Certificate): boolean {
  const byIssuer = remember(verdicts, cert, () => new WeakMap<X509Certificate, boolean>());
  return remember(byIssuer, issuer, () => {
    // @sigstore/core `createPublicKey(buffer)`: a DER SubjectPublicKeyInfo.
    const key = remember(keys, issuer, () => createPublicKey({ key: issuer.publicKey, format: 'der', type: 'spki' }));
    return crypto.verify(remember(tbs, cert, () => cert.tbsCertificate.toDER()), key, cert.signatureValue, cert.signatureAlgorithm);
  });
}

export function memoizeCertificate(cert: X509Certificate): X509Certificate {
  if (patched.has(cert)) return cert;
  patched.add(cert);
  Object.defineProperties(cert, {
    equals: { value: (other: X509Certificate): boolean => derOf(cert).equals(derOf(other)) },
    verify: { value: (issuer?: X509Certificate): boolean => verifyWith(cert, issuer ?? cert) },
  });
  return cert;
}
