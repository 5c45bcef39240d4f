import { type KeyObject, createPublicKey } from 'node:crypto';
import { ASN1Obj, X509Certificate, crypto } from '@sigstore/core';

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
 *
 * Re-encoding itself is the other half of the cost: `ASN1Obj#toDER` builds two
 * growing 1 KiB streams per node, about 0.3–0.4 ms for a Fulcio leaf, and
 * sigstore-js re-encodes each leaf three times (its TBS for the chain, the
 * whole certificate to clone it for the SCT, the clone's TBS without the SCT
 * extension). {@link encodeDer} writes the same bytes in one pass into one
 * buffer; `clone` copies the parsed tree instead of re-encoding and parsing
 * it again (parsing the re-encoding of a tree parsed from strict DER yields
 * that same tree). test/verify/memo-certificates.test.ts compares the bytes
 * with `ASN1Obj#toDER`.
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
  fastReencoding(cert);
  Object.defineProperties(cert, {
    equals: { value: (other: X509Certificate): boolean => derOf(cert).equals(derOf(other)) },
    verify: { value: (issuer?: X509Certificate): boolean => verifyWith(cert, issuer ?? cert) },
    clone: { value: (): X509Certificate => fastReencoding(new X509Certificate(copyTree(cert.root))) },
  });
  return cert;
}

/**
 * The nodes sigstore-js re-encodes (the whole certificate, its TBS, its
 * public key) encode with {@link encodeDer}, from their current contents each
 * time: nothing is cached, so a clone whose extension list sigstore-js
 * splices re-encodes without the removed extension, as the original would.
 */
function fastReencoding(cert: X509Certificate): X509Certificate {
  // root, tbsCertificate, and subjectPublicKeyInfo as @sigstore/core locates it (the TBS's seventh element).
  for (const node of [cert.root, cert.root.subs[0], cert.root.subs[0]?.subs[6]]) {
    if (node !== undefined) Object.defineProperty(node, 'toDER', { value: (): Buffer => encodeDer(node) });
  }
  return cert;
}

/** A structural copy: new nodes and child arrays (what `clone` callers mutate), the same immutable tags and value bytes. */
function copyTree(node: ASN1Obj): ASN1Obj {
  return new ASN1Obj(node.tag, node.value, node.subs.map(copyTree));
}

/**
 * `ASN1Obj#toDER` (@sigstore/core 4, `asn1/obj.js`), byte for byte: the tag
 * byte, the DER length of the content, and the content, which is the
 * children's encodings when there are children, else the node's value.
 */
export function encodeDer(node: ASN1Obj): Buffer {
  const lengths = new Map<ASN1Obj, number>();
  const contentLength = (n: ASN1Obj): number => {
    let length = 0;
    if (n.subs.length === 0) length = n.value.length;
    else for (const sub of n.subs) length += encodedLength(sub);
    lengths.set(n, length);
    return length;
  };
  const encodedLength = (n: ASN1Obj): number => {
    const length = contentLength(n);
    return 1 + lengthOfLength(length) + length;
  };
  const out = Buffer.alloc(encodedLength(node));
  let at = 0;
  const write = (n: ASN1Obj): void => {
    out[at++] = n.tag.toDER() & 0xff;
    const length = lengths.get(n) as number;
    if (length < 128) {
      out[at++] = length;
    } else {
      const bytes = lengthOfLength(length) - 1;
      out[at++] = 0x80 | bytes;
      for (let i = bytes - 1; i >= 0; i--) out[at++] = Math.floor(length / 256 ** i) % 256;
    }
    if (n.subs.length === 0) {
      out.set(n.value, at);
      at += n.value.length;
    } else {
      for (const sub of n.subs) write(sub);
    }
  };
  write(node);
  return out;
}

/** Bytes of a DER length field (`encodeLength`): one below 128, else one plus the big-endian bytes of the length. */
function lengthOfLength(length: number): number {
  if (length < 128) return 1;
  let bytes = 0;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes++;
  return 1 + bytes;
}
