import type { KeyObject } from 'node:crypto';
import { sha256Digest, type Digest } from '../../../src/reference/digest.ts';
import { IN_TOTO_PAYLOAD_TYPE, dsseEnvelopeJson, dsseRekorBody, signDsse } from './dsse.ts';
import { ecdsaSign, publicKeyPem, sha256 } from './keys.ts';
import type { Rekor } from './rekor.ts';

/**
 * Legacy cosign signatures (`sha256-<hex>.sig` layers), byte-compatible with
 * what cosign v2 writes: docs/formats.md §1.3 (layer and annotations), §1.4
 * (Rekor bundle annotation), §1.6 (simple-signing payload), §7 (hashedrekord);
 * and legacy attestations (`sha256-<hex>.att` layers, §3) as cosign v2.2+
 * writes them (DSSE envelope blob, Rekor `dsse` 0.0.1 entry).
 */

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The layer media type of a legacy `.att` attestation: the blob is a DSSE envelope. */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

export const COSIGN_ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
  /** `.att` layers only. */
  predicateType: 'predicateType',
} as const;

/** Go `encoding/json` string encoding: like JSON.stringify, plus HTML-safe escapes. */
export function goJsonString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface SimpleSigningOptions {
  readonly dockerReference: string;
  /** Usually a {@link Digest}; any string is written as is. */
  readonly digest: string;
  /** `null` (cosign without `-a`) or the `-a` claims; written with sorted keys like a Go map. */
  readonly optional?: Readonly<Record<string, string | number | boolean>> | null;
  /** Default `cosign container image signature`. */
  readonly type?: string;
}

/**
 * The exact bytes of `payload.Cosign.MarshalJSON` (sigstore/sigstore
 * `pkg/signature/payload/payload.go`): compact, keys in struct order.
 */
export function simpleSigningPayload(options: SimpleSigningOptions): Buffer {
  const optional =
    options.optional === undefined || options.optional === null
      ? 'null'
      : `{${Object.keys(options.optional)
          .sort()
          .map((key) => `${goJsonString(key)}:${goValue(options.optional?.[key])}`)
          .join(',')}}`;
  const text =
    `{"critical":{"identity":{"docker-reference":${goJsonString(options.dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goJsonString(options.digest)}},` +
    `"type":${goJsonString(options.type ?? SIMPLE_SIGNING_TYPE)}},` +
    `"optional":${optional}}`;
  return Buffer.from(text, 'utf8');
}

function goValue(value: string | number | boolean | undefined): string {
  return typeof value === 'string' ? goJsonString(value) : JSON.stringify(value);
}

/** Keyless / certificate mode: the leaf certificate and its private key. */
export interface KeylessSigner {
  readonly privateKey: KeyObject;
  readonly certPem: string;
  /** Written as the chain annotation when defined (cosign may write `""`). */
  readonly chainPem?: string;
}

/** Key mode (`cosign sign --key`). */
export interface KeySigner {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export type LegacySigner = KeylessSigner | KeySigner;

export function isKeylessSigner(signer: LegacySigner): signer is KeylessSigner {
  return 'certPem' in signer;
}

/** What a hashedrekord body records as the verifier: the certificate PEM, or the public key PEM. */
export function signerPublicKeyPem(signer: LegacySigner): string {
  return isKeylessSigner(signer) ? signer.certPem : publicKeyPem(signer.publicKey);
}

export interface SignatureLayer {
  readonly mediaType: string;
  /** The layer blob: the payload bytes (`.sig`), or the DSSE envelope JSON (`.att`). */
  readonly payload: Buffer;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface HashedRekordBody {
  readonly apiVersion: '0.0.1';
  readonly kind: 'hashedrekord';
  readonly spec: {
    readonly data: { readonly hash: { readonly algorithm: string; readonly value: string } };
    readonly signature: { readonly content: string; readonly publicKey: { readonly content: string } };
  };
}

/** hashedrekord 0.0.1 (docs/formats.md §7), as `cosign sign` submits it. */
export function hashedRekordBody(options: {
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly publicKeyPem: string;
}): HashedRekordBody {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: sha256(options.payload).toString('hex') } },
      signature: {
        content: Buffer.from(options.signature).toString('base64'),
        publicKey: { content: Buffer.from(options.publicKeyPem, 'utf8').toString('base64') },
      },
    },
  };
}

export interface SignLegacyLayerOptions {
  readonly payload: Uint8Array;
  readonly signer: LegacySigner;
  /** When given, the signature is logged and the bundle annotation added. */
  readonly rekor?: Rekor;
  /** Seconds since the epoch; default now. */
  readonly integratedTime?: number;
}

/** Signs a payload the way `cosign sign` does and returns the `.sig` layer. */
export function signLegacyLayer(options: SignLegacyLayerOptions): SignatureLayer {
  const payload = Buffer.from(options.payload);
  const signature = ecdsaSign(options.signer.privateKey, payload, 'sha256');
  const annotations: Record<string, string> = {
    [COSIGN_ANNOTATIONS.signature]: signature.toString('base64'),
  };
  if (isKeylessSigner(options.signer)) {
    annotations[COSIGN_ANNOTATIONS.certificate] = options.signer.certPem;
    if (options.signer.chainPem !== undefined) annotations[COSIGN_ANNOTATIONS.chain] = options.signer.chainPem;
  }
  if (options.rekor) {
    const body = hashedRekordBody({ payload, signature, publicKeyPem: signerPublicKeyPem(options.signer) });
    const integratedTime = options.integratedTime ?? Math.floor(Date.now() / 1000);
    annotations[COSIGN_ANNOTATIONS.bundle] = JSON.stringify(options.rekor.logEntry(body, integratedTime));
  }
  return { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, payload, annotations };
}

export interface SignLegacyAttestationOptions {
  /** The in-toto statement (see `inTotoStatement`). */
  readonly statement: Uint8Array;
  readonly predicateType: string;
  readonly signer: LegacySigner;
  /** When given, the envelope is logged as `dsse` 0.0.1 and the bundle annotation (SET only) added. */
  readonly rekor?: Rekor;
  /** Seconds since the epoch; default now. */
  readonly integratedTime?: number;
}

/**
 * Attests the way `cosign attest` (v2.2+) does and returns the `.att` layer
 * (cmd/cosign/cli/attest/attest.go): the DSSE envelope JSON as the blob, an
 * empty signature annotation, the predicate type, certificate and chain, and
 * the Rekor bundle of a `dsse` entry.
 */
export function signLegacyAttestationLayer(options: SignLegacyAttestationOptions): SignatureLayer {
  const envelope = signDsse(options.statement, IN_TOTO_PAYLOAD_TYPE, options.signer);
  const annotations: Record<string, string> = {
    [COSIGN_ANNOTATIONS.signature]: '',
    [COSIGN_ANNOTATIONS.predicateType]: options.predicateType,
  };
  if (isKeylessSigner(options.signer)) {
    annotations[COSIGN_ANNOTATIONS.certificate] = options.signer.certPem;
    if (options.signer.chainPem !== undefined) annotations[COSIGN_ANNOTATIONS.chain] = options.signer.chainPem;
  }
  if (options.rekor) {
    const body = dsseRekorBody(envelope, signerPublicKeyPem(options.signer));
    const integratedTime = options.integratedTime ?? Math.floor(Date.now() / 1000);
    annotations[COSIGN_ANNOTATIONS.bundle] = JSON.stringify(options.rekor.logEntry(body, integratedTime));
  }
  return { mediaType: DSSE_ENVELOPE_MEDIA_TYPE, payload: dsseEnvelopeJson(envelope), annotations };
}

/** The layer's descriptor in the signature manifest. */
export function signatureLayerDescriptor(layer: SignatureLayer): {
  mediaType: string;
  size: number;
  digest: Digest;
  annotations: Record<string, string>;
} {
  return {
    mediaType: layer.mediaType,
    size: layer.payload.length,
    digest: sha256Digest(layer.payload),
    annotations: { ...layer.annotations },
  };
}
