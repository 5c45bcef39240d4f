import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial, type Signer, type VerificationPolicy } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import { COSIGN_ANNOTATIONS, DSSE_ENVELOPE_MEDIA_TYPE, type SignatureLayer } from './cosign-legacy.ts';
import { fromPem } from './der.ts';
import { parseDsseEnvelope } from './dsse.ts';
import { sha256 } from './keys.ts';
import type { RekorBundleAnnotation } from './rekor.ts';
import type { TrustedRootJson } from './trusted-root.ts';

/**
 * An independent test oracle for legacy layers: the docs/formats.md §8.2
 * recipe (legacy `.sig` layer → Sigstore bundle v0.1, artifact = payload
 * bytes; a `.att` layer → a v0.1 DSSE bundle) and a call into
 * @sigstore/verify. It proves the minted material is valid Sigstore
 * material; it is deliberately written apart from the verifier's own
 * converter in `src/bundle/`.
 */

export const BUNDLE_V01_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

/** Key-mode hint used in converted bundles; any string the key finder accepts. */
export const PUBLIC_KEY_HINT = 'cosign-key';

export function isAttestationLayer(layer: SignatureLayer): boolean {
  return layer.mediaType === DSSE_ENVELOPE_MEDIA_TYPE;
}

/**
 * A v0.1 bundle: v0.1 is the only version whose tlog entries may carry a SET
 * without an inclusion proof (docs/formats.md pitfall 2). A `.sig` layer becomes a message
 * signature over the payload; a `.att` layer's blob is the DSSE envelope.
 */
export function legacyLayerToBundleV01(layer: SignatureLayer): Record<string, unknown> {
  const annotations = layer.annotations;
  const signature = annotations[COSIGN_ANNOTATIONS.signature];
  if (signature === undefined) throw new Error('layer has no signature annotation');
  const certificatePem = annotations[COSIGN_ANNOTATIONS.certificate];
  const [leaf] = certificatePem === undefined ? [] : fromPem(certificatePem);

  const tlogEntries: unknown[] = [];
  const bundleAnnotation = annotations[COSIGN_ANNOTATIONS.bundle];
  if (bundleAnnotation !== undefined) {
    const rekor = JSON.parse(bundleAnnotation) as RekorBundleAnnotation;
    const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString('utf8')) as {
      kind: string;
      apiVersion: string;
    };
    tlogEntries.push({
      logIndex: String(rekor.Payload.logIndex),
      logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
      kindVersion: { kind: body.kind, version: body.apiVersion },
      integratedTime: String(rekor.Payload.integratedTime),
      inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
      canonicalizedBody: rekor.Payload.body,
    });
  }
  const timestampAnnotation = annotations[COSIGN_ANNOTATIONS.rfc3161Timestamp];
  const rfc3161Timestamps =
    timestampAnnotation === undefined
      ? []
      : [{ signedTimestamp: (JSON.parse(timestampAnnotation) as { SignedRFC3161Timestamp: string }).SignedRFC3161Timestamp }];

  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      ...(leaf === undefined
        ? { publicKey: { hint: PUBLIC_KEY_HINT } }
        : { x509CertificateChain: { certificates: [{ rawBytes: leaf.toString('base64') }] } }),
      tlogEntries,
      timestampVerificationData: { rfc3161Timestamps },
    },
    ...(isAttestationLayer(layer)
      ? { dsseEnvelope: parseDsseEnvelope(layer.payload) }
      : {
          messageSignature: {
            messageDigest: { algorithm: 'SHA2_256', digest: sha256(layer.payload).toString('base64') },
            signature,
          },
        }),
  };
}

export interface SigstoreJsVerifyOptions {
  /** Key mode: the trusted public key (a certificate annotation is then ignored by the oracle). */
  readonly publicKey?: KeyObject;
  /**
   * Key mode only (`--insecure-ignore-tlog`): drop the Rekor entry and run with
   * every threshold at 0 (docs/formats.md pitfall 9). Otherwise a tlog entry is required.
   */
  readonly ignoreTlog?: boolean;
  readonly policy?: VerificationPolicy;
}

/** Verifies a legacy `.sig` or `.att` layer with @sigstore/verify against a trusted root. Throws what sigstore-js throws. */
export function verifyLayerWithSigstoreJs(
  layer: SignatureLayer,
  trustedRoot: TrustedRootJson,
  options: SigstoreJsVerifyOptions = {},
): Signer {
  const { publicKey } = options;
  const keyFinder = publicKey === undefined ? undefined : () => ({ publicKey, validFor: () => true });
  const trustMaterial = toTrustMaterial(TrustedRoot.fromJSON(trustedRoot), keyFinder);
  const ignoreTlog = options.ignoreTlog === true;
  if (ignoreTlog && publicKey === undefined) throw new Error('ignoreTlog needs key mode (docs/formats.md pitfall 9)');
  let annotations = layer.annotations;
  if (publicKey !== undefined) annotations = withoutKey(annotations, COSIGN_ANNOTATIONS.certificate);
  if (ignoreTlog) annotations = withoutKey(annotations, COSIGN_ANNOTATIONS.bundle);
  const bundleJson = legacyLayerToBundleV01({ ...layer, annotations });
  const verifier = new Verifier(
    trustMaterial,
    ignoreTlog ? { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 } : {},
  );
  const artifact = isAttestationLayer(layer) ? undefined : layer.payload;
  return verifier.verify(toSignedEntity(bundleFromJSON(bundleJson), artifact), options.policy);
}

function withoutKey(record: Readonly<Record<string, string>>, key: string): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter(([name]) => name !== key));
}
