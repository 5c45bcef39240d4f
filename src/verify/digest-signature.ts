import { type KeyObject, constants, publicDecrypt } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';

/**
 * Signature verification over a digest the caller already holds, for
 * message-signature bundles verified by artifact digest (the
 * sigstore-conformance `sha256:<hex>` mode). Node's crypto always hashes its
 * input, so ECDSA goes through @noble/curves with prehash off; RSA PKCS#1
 * v1.5 is checked by recovering the DigestInfo with the public key.
 */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

export function verifyDigestSignature(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  if (digest.length !== 32) return false;
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const impl = curve === 'prime256v1' ? p256 : curve === 'secp384r1' ? p384 : undefined;
    if (impl === undefined) return false;
    // The uncompressed point is the BIT STRING at the end of the SPKI.
    const jwk = key.export({ format: 'jwk' });
    if (jwk.x === undefined || jwk.y === undefined) return false;
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    try {
      return impl.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
    } catch {
      return false;
    }
  }
  if (key.asymmetricKeyType === 'rsa') {
    try {
      const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.equals(Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]));
    } catch {
      return false;
    }
  }
  return false;
}
