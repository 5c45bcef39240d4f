import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * EC key pairs for the test PKI, and the encodings Sigstore uses for them:
 * DER SubjectPublicKeyInfo (log IDs, trusted-root `rawBytes`), PEM `PUBLIC KEY`
 * (cosign.pub, Rekor bodies) and PKCS#8 PEM for private keys on disk.
 */

export type Curve = 'P-256' | 'P-384';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateKeyPair(curve: Curve = 'P-256'): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: curve });
}

/** A key pair from a PKCS#8 (or SEC1) PEM private key. */
export function keyPairFromPem(privateKeyPem: string): KeyPair {
  const privateKey = createPrivateKey(privateKeyPem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

export function privateKeyPem(keyPair: KeyPair): string {
  return keyPair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

export function spkiDer(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}

export function curveOf(key: KeyObject): Curve {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'prime256v1') return 'P-256';
  if (curve === 'secp384r1') return 'P-384';
  throw new Error(`unsupported key: ${key.asymmetricKeyType} ${curve}`);
}

export function sha256(bytes: Uint8Array | string): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/**
 * ECDSA, ASN.1 DER signature. The hash follows the curve as Fulcio and Go do
 * (P-256 → SHA-256, P-384 → SHA-384) unless given.
 */
export function ecdsaSign(privateKey: KeyObject, data: Uint8Array, hash?: 'sha256' | 'sha384'): Buffer {
  const algorithm = hash ?? (curveOf(privateKey) === 'P-384' ? 'sha384' : 'sha256');
  return sign(algorithm, data, { key: privateKey, dsaEncoding: 'der' });
}
