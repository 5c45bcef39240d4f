import { readFileSync } from 'node:fs';
import { ASN1Obj, EXTENSION_OID_SCT, X509Certificate } from '@sigstore/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeDer, memoizeCertificate } from '../../src/verify/memo-certificates.ts';
import { OTHER_TRUSTED_ROOT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { createMinter } from '../../bench/lib/mint.ts';
import { COSIGN_ANNOTATIONS, der } from '../helpers/sigstore/index.ts';

/**
 * The one-pass DER encoder and tree copy behind memoizeCertificate must give
 * what @sigstore/core gives: `ASN1Obj#toDER`'s bytes for every node, and a
 * clone that re-encodes like `X509Certificate#clone`'s, also after the SCT
 * extension is spliced out of it (what sigstore-js does to verify an SCT).
 */
const original = (node: ASN1Obj): Buffer => ASN1Obj.prototype.toDER.call(node);

function nodes(root: ASN1Obj): ASN1Obj[] {
  return [root, ...root.subs.flatMap(nodes)];
}

function trustRootCertificates(path: string): Buffer[] {
  const root = JSON.parse(readFileSync(path, 'utf8')) as { certificateAuthorities: Array<{ certChain: { certificates: Array<{ rawBytes: string }> } }> };
  return root.certificateAuthorities.flatMap((ca) => ca.certChain.certificates.map((c) => Buffer.from(c.rawBytes, 'base64')));
}

async function fulcioLeaves(): Promise<Buffer[]> {
  const minter = await createMinter('127.0.0.1:5000/memo/test');
  return [0, 1, 2].map((i) => {
    const layer = minter.mint('legacy', i).layer;
    const [leaf] = der.fromPem(layer?.annotations[COSIGN_ANNOTATIONS.certificate] ?? '');
    if (leaf === undefined) throw new Error('no leaf');
    return Buffer.from(leaf);
  });
}

const withoutSct = (cert: X509Certificate): X509Certificate => {
  const index = cert.extensions.findIndex((e) => e.subs[0]?.toOID() === EXTENSION_OID_SCT);
  if (index >= 0) cert.extensions.splice(index, 1);
  return cert;
};

describe('memo-certificates re-encoding', () => {
  it('encodes every node of real certificates as ASN1Obj#toDER does', async () => {
    const certificates = [...trustRootCertificates(TEST_TRUSTED_ROOT), ...trustRootCertificates(OTHER_TRUSTED_ROOT), ...(await fulcioLeaves())];
    expect(certificates.length).toBeGreaterThan(4);
    for (const bytes of certificates) {
      const cert = X509Certificate.parse(Buffer.from(bytes));
      for (const node of nodes(cert.root)) expect(encodeDer(node)).toEqual(original(node));
      expect(encodeDer(cert.root)).toEqual(bytes);
    }
  });

  it('clones like X509Certificate#clone, before and after the SCT extension is removed, leaving the original intact', async () => {
    for (const bytes of await fulcioLeaves()) {
      const ours = memoizeCertificate(X509Certificate.parse(Buffer.from(bytes)));
      const theirs = X509Certificate.parse(Buffer.from(bytes));
      expect(ours.clone().root.toDER()).toEqual(original(theirs.clone().root));
      const ourClone = withoutSct(ours.clone());
      const theirClone = withoutSct(theirs.clone());
      expect(ourClone.tbsCertificate.toDER()).toEqual(original(theirClone.tbsCertificate));
      expect(ourClone.tbsCertificate.toDER().length).toBeLessThan(ours.tbsCertificate.toDER().length);
      expect(ours.root.toDER()).toEqual(bytes);
      expect(ours.publicKey).toEqual(theirs.publicKey);
    }
  });

  it('encodes arbitrary trees (short and long lengths, empty values) as ASN1Obj#toDER does', () => {
    const tlv = (tag: number, content: Uint8Array): Buffer<ArrayBuffer> => Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
    // DER bytes of a random tree: primitive leaves, SEQUENCEs of one to four subtrees.
    const tree = fc.letrec<{ node: Buffer }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.tuple(fc.integer({ min: 1, max: 0x1e }), fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 250, maxLength: 70_000 }))).map(([tag, value]) => tlv(tag, value)),
        fc.array(tie('node'), { minLength: 1, maxLength: 4 }).map((subs) => tlv(0x30, Buffer.concat(subs))),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (bytes) => {
        const root = ASN1Obj.parseBuffer(bytes as Buffer<ArrayBuffer>);
        return encodeDer(root).equals(bytes) && nodes(root).every((node) => encodeDer(node).equals(original(node)));
      }),
      { numRuns: 200 },
    );
  });
});

function lengthBytes(length: number): Buffer {
  if (length < 128) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
