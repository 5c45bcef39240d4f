import type { SerializedBundle } from '@sigstore/bundle';
import { SignatureRejected } from '../errors.ts';
import {
  type LegacyLayerAnnotations,
  type RekorBundle,
  type RekorEntryBody,
  parseRekorBundle,
  parseRekorEntryBody,
  parseRfc3161Annotation,
} from '../cosign/index.ts';
import { pemToDer } from './pem.ts';

/**
 * A legacy `.sig` layer expressed as a Sigstore bundle v0.1, following
 * cosign-formats §8.2 (the same approach as sigstore-go
 * `examples/oci-image-verification`). v0.1 is the only version that accepts a
 * tlog entry with an inclusion promise (SET) and no inclusion proof
 * (pitfall 2); the artifact is the payload bytes.
 */
export const BUNDLE_V01_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

/** The key hint used for key-mode verification material (matched by our key finder). */
export const KEY_HINT = 'sigverify-policy-key';

export interface LegacyTlogEntry {
  readonly bundle: RekorBundle;
  readonly body: RekorEntryBody;
}

export interface LegacyBundle {
  readonly bundle: SerializedBundle;
  /** DER of the leaf certificate, when the layer carries one. */
  readonly certificateDer: Buffer<ArrayBuffer> | undefined;
  readonly tlog: LegacyTlogEntry | undefined;
}

export type VerificationMaterialKind = 'certificate' | 'public-key';

export function legacyLayerToBundle(
  annotations: LegacyLayerAnnotations,
  material: VerificationMaterialKind,
  /** sha256 of the payload: the layer digest, already checked against the bytes received. */
  payloadSha256: Buffer,
): LegacyBundle {
  const certificateDer = annotations.certificatePem === undefined ? undefined : firstCertificateDer(annotations.certificatePem);
  if (material === 'certificate' && certificateDer === undefined) {
    throw new SignatureRejected('CERTIFICATE_MISSING', 'signature layer carries no certificate, but keyless verification needs one');
  }
  const tlog = annotations.rekorBundle === undefined ? undefined : parseTlog(annotations.rekorBundle);
  const timestamps = annotations.rfc3161 === undefined ? [] : [{ signedTimestamp: parseRfc3161Annotation(annotations.rfc3161) }];

  const bundle: SerializedBundle = {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      ...(material === 'certificate'
        ? { x509CertificateChain: { certificates: [{ rawBytes: (certificateDer as Buffer).toString('base64') }] } }
        : { publicKey: { hint: KEY_HINT } }),
      tlogEntries: tlog === undefined ? [] : [toTlogEntry(tlog)],
      timestampVerificationData: { rfc3161Timestamps: timestamps },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: payloadSha256.toString('base64') },
      signature: annotations.signature,
    },
  } as SerializedBundle;
  return { bundle, certificateDer, tlog };
}

function parseTlog(annotation: string): LegacyTlogEntry {
  const bundle = parseRekorBundle(annotation);
  return { bundle, body: parseRekorEntryBody(bundle.body) };
}

function toTlogEntry({ bundle, body }: LegacyTlogEntry): NonNullable<SerializedBundle['verificationMaterial']['tlogEntries']>[number] {
  return {
    logIndex: String(bundle.logIndex),
    // The annotation's logID is hex; the bundle's keyId is bytes (pitfall 1).
    logId: { keyId: Buffer.from(bundle.logIdHex, 'hex').toString('base64') },
    // sigstore-js rejects a kind/version that differs from the body itself.
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: String(bundle.integratedTime),
    inclusionPromise: { signedEntryTimestamp: bundle.signedEntryTimestamp },
    // Never re-encode: the SET covers the annotated base64 exactly (pitfall 3).
    canonicalizedBody: bundle.body,
  } as NonNullable<SerializedBundle['verificationMaterial']['tlogEntries']>[number];
}

/** cosign uses the first PEM block of the certificate annotation. */
function firstCertificateDer(pem: string): Buffer<ArrayBuffer> {
  const der = pemToDer(pem, 'CERTIFICATE');
  if (der === undefined) {
    throw new SignatureRejected('CERTIFICATE_INVALID', 'certificate annotation holds no PEM certificate');
  }
  return der;
}
