import type { SerializedBundle } from '@sigstore/bundle';
import { SignatureRejected } from '../errors.ts';
import { type LegacyLayerAnnotations, type RekorBundle, parseRekorBundle, parseRfc3161Annotation } from '../cosign/index.ts';
import { pemToDer } from './pem.ts';
import { type TlogVerifier, tlogVerifier } from './tlog-body.ts';

/**
 * A legacy `.sig` or `.att` layer expressed as a Sigstore bundle v0.1,
 * following docs/formats.md §8.2 (the approach of sigstore-go
 * `examples/oci-image-verification`). v0.1 is the only version that accepts a
 * tlog entry with an inclusion promise (SET) and no inclusion proof
 * (docs/formats.md pitfall 2).
 */
export const BUNDLE_V01_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

/** The key hint of key-mode material; the key finder answers every hint with the caller's key. */
const KEY_HINT = 'sigverify-policy-key';

type SerializedTlogEntry = SerializedBundle['verificationMaterial']['tlogEntries'][number];

export interface LegacyTlogEntry {
  readonly bundle: RekorBundle;
  readonly body: TlogVerifier;
}

/** What the layer signed: a simple-signing payload (`.sig`) or a DSSE envelope (`.att`). */
export type LegacyContent =
  | { readonly kind: 'message'; readonly signature: string; readonly payloadSha256: Buffer }
  | { readonly kind: 'dsse'; readonly payload: string; readonly payloadType: string; readonly signature: string };

export interface LegacyBundle {
  readonly bundle: SerializedBundle;
  readonly tlog: LegacyTlogEntry | undefined;
}

/** The first PEM certificate of the certificate annotation (cosign uses the first block). */
export function legacyCertificateDer(annotations: LegacyLayerAnnotations): Buffer<ArrayBuffer> | undefined {
  if (annotations.certificatePem === undefined) return undefined;
  const der = pemToDer(annotations.certificatePem, 'CERTIFICATE');
  if (der === undefined) throw new SignatureRejected('CERTIFICATE_INVALID', 'certificate annotation holds no PEM certificate');
  return der;
}

/**
 * @param certificateDer the leaf, for certificate material; `undefined` for
 *   key material (key mode verifies with the caller's key even when the layer
 *   also carries a certificate for it).
 * @param rfc3161 whether the RFC 3161 annotation covers what sigstore-js
 *   checks (the signature bytes: true for `.sig`; for `.att` cosign stamps the
 *   envelope, which sigstore-js would not match).
 */
export function legacyLayerToBundle(
  annotations: LegacyLayerAnnotations,
  certificateDer: Buffer | undefined,
  content: LegacyContent,
  rfc3161 = content.kind === 'message',
): LegacyBundle {
  const tlog = annotations.rekorBundle === undefined ? undefined : parseTlog(annotations.rekorBundle);
  const timestamps = rfc3161 && annotations.rfc3161 !== undefined ? [{ signedTimestamp: parseRfc3161Annotation(annotations.rfc3161) }] : [];
  const verificationMaterial = {
    ...(certificateDer === undefined
      ? { publicKey: { hint: KEY_HINT } }
      : { x509CertificateChain: { certificates: [{ rawBytes: certificateDer.toString('base64') }] } }),
    tlogEntries: tlog === undefined ? [] : [toTlogEntry(tlog)],
    timestampVerificationData: { rfc3161Timestamps: timestamps },
  };
  const signed = content.kind === 'message'
    ? { messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: content.payloadSha256.toString('base64') }, signature: content.signature } }
    : { dsseEnvelope: { payload: content.payload, payloadType: content.payloadType, signatures: [{ sig: content.signature, keyid: '' }] } };
  return { bundle: { mediaType: BUNDLE_V01_MEDIA_TYPE, verificationMaterial, ...signed } as SerializedBundle, tlog };
}

function parseTlog(annotation: string): LegacyTlogEntry {
  const bundle = parseRekorBundle(annotation);
  return { bundle, body: tlogVerifier(bundle.body) };
}

function toTlogEntry({ bundle, body }: LegacyTlogEntry): SerializedTlogEntry {
  return {
    logIndex: String(bundle.logIndex),
    // The annotation's logID is hex; the bundle's keyId is bytes (docs/formats.md pitfall 1).
    logId: { keyId: Buffer.from(bundle.logIdHex, 'hex').toString('base64') },
    // sigstore-js rejects a kind/version that differs from the body itself.
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: String(bundle.integratedTime),
    inclusionPromise: { signedEntryTimestamp: bundle.signedEntryTimestamp },
    // Never re-encode: the SET covers the annotated base64 exactly (docs/formats.md pitfall 3).
    canonicalizedBody: bundle.body,
  } as SerializedTlogEntry;
}
