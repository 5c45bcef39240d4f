import type { Element } from './der.ts';
import { child, children, decodeOid, explicit, octetString, readElement, sequence, tlv } from './der.ts';
import { ecdsaSign, generateKeyPair, sha256, spkiDer, type KeyPair } from './keys.ts';

/**
 * A certificate-transparency log that issues SCTs for precertificates, as the
 * CT log behind Fulcio does (RFC 6962 §3.1–3.3). Fulcio embeds the SCT in the
 * final certificate; verifiers (sigstore-js `verify/src/key/sct.ts`) rebuild
 * the precertificate TBS by removing the SCT-list extension and check the
 * log's signature over it.
 */

/** RFC 6962 §3.1 precertificate poison (critical, value ASN.1 NULL). */
export const OID_CT_POISON = '1.3.6.1.4.1.11129.2.4.3';
/** RFC 6962 §3.3 embedded SCT list. */
export const OID_CT_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';

export interface CtLog {
  readonly keyPair: KeyPair;
  readonly spkiDer: Buffer;
  /** RFC 6962 §3.2 LogID: sha256 of the DER SubjectPublicKeyInfo. */
  readonly logId: Buffer;
}

export function createCtLog(keyPair: KeyPair = generateKeyPair('P-256')): CtLog {
  const spki = spkiDer(keyPair.publicKey);
  return { keyPair, spkiDer: spki, logId: sha256(spki) };
}

export interface LogPrecertificateOptions {
  /** DER of the precertificate (TBS carries the poison extension). */
  readonly precertificate: Uint8Array;
  /** DER SubjectPublicKeyInfo of the certificate that issues the final certificate. */
  readonly issuerSpki: Uint8Array;
  /** SCT timestamp (ms precision). */
  readonly timestamp: Date;
}

/** Logs a precertificate and returns the serialised SCT (RFC 6962 §3.2, `SignedCertificateTimestamp`). */
export function logPrecertificate(log: CtLog, options: LogPrecertificateOptions): Buffer {
  const certificate = readElement(options.precertificate);
  const tbs = removeExtension(child(certificate, 0, 'tbsCertificate'), OID_CT_POISON);
  const timestamp = uint(BigInt(options.timestamp.getTime()), 8);
  const noExtensions = uint(0n, 2);
  // digitally-signed struct { version v1, certificate_timestamp, timestamp,
  //   precert_entry, PreCert { issuer_key_hash, TBSCertificate<1..2^24-1> }, CtExtensions }
  const signed = Buffer.concat([
    Buffer.from([0, 0]),
    timestamp,
    uint(1n, 2),
    sha256(options.issuerSpki),
    uint(BigInt(tbs.length), 3),
    tbs,
    noExtensions,
  ]);
  const signature = ecdsaSign(log.keyPair.privateKey, signed, 'sha256');
  return Buffer.concat([
    Buffer.from([0]), // v1
    log.logId,
    timestamp,
    noExtensions,
    Buffer.from([4, 3]), // SHA-256, ECDSA
    uint(BigInt(signature.length), 2),
    signature,
  ]);
}

/** The extnValue of the SCT-list extension: an OCTET STRING holding the TLS-encoded list. */
export function sctListExtensionValue(scts: readonly Uint8Array[]): Buffer {
  const entries = Buffer.concat(scts.map((sct) => Buffer.concat([uint(BigInt(sct.length), 2), sct])));
  return octetString(Buffer.concat([uint(BigInt(entries.length), 2), entries]));
}

/** Re-encodes a TBSCertificate without the extension(s) with the given OID. */
function removeExtension(tbs: Element, extensionOid: string): Buffer {
  const fields = children(tbs).map((field) => {
    if (field.tag !== 0xa3) return field.bytes;
    const list = child(field, 0, 'extensions');
    const kept = children(list).filter((extension) => oidOf(extension) !== extensionOid);
    return explicit(3, sequence(...kept.map((extension) => extension.bytes)));
  });
  return tlv(tbs.tag, Buffer.concat(fields));
}

function oidOf(extension: Element): string {
  return decodeOid(child(extension, 0, 'extnID').content);
}

function uint(value: bigint, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = bytes - 1, n = value; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}
