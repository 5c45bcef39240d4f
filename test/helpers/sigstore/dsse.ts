import type { KeyObject } from 'node:crypto';
import { ecdsaSign, sha256 } from './keys.ts';

/**
 * DSSE envelopes over in-toto Statements (docs/formats.md §2.2, §3), and the
 * Rekor `dsse` 0.0.1 entry body that logs them (§7).
 */

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** cosign v3's image-signature predicate (sigstore/cosign `pkg/types/predicate.go`, `CosignSignPredicateType`). */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const SLSA_PROVENANCE_V1_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';

export interface InTotoStatementOptions {
  /** Hex sha256 of the subject, or `sha256:<hex>`. */
  readonly subjectDigest: string;
  readonly predicateType: string;
  /** Default `{}` (cosign sign/v1). */
  readonly predicate?: unknown;
  /** Subject annotations (cosign `-a key=value`); cosign v3 writes `{}` when there are none. Omitted: no field. */
  readonly subjectAnnotations?: Readonly<Record<string, string>>;
  /** Subject name; cosign leaves it out, actions/attest writes the image name. */
  readonly subjectName?: string;
  /**
   * `protojson`: separators with a space after the comma, as Go protojson
   * randomly emits (cosign v3 statements: `{"_type":"…", "subject":…`);
   * default compact, as JSON.stringify (actions/attest).
   */
  readonly format?: 'compact' | 'protojson';
}

/**
 * An in-toto Statement v1 (in-toto attestation `spec/v1/statement.md`), with
 * fields in the proto order (`_type`, `subject`, `predicateType`,
 * `predicate`; subject `name`, `digest`, `annotations`).
 */
export function inTotoStatement(options: InTotoStatementOptions): Buffer {
  const hex = options.subjectDigest.replace(/^sha256:/, '');
  const subject = {
    ...(options.subjectName === undefined ? {} : { name: options.subjectName }),
    digest: { sha256: hex },
    ...(options.subjectAnnotations === undefined ? {} : { annotations: { ...options.subjectAnnotations } }),
  };
  const statement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [subject],
    predicateType: options.predicateType,
    predicate: options.predicate ?? {},
  };
  return Buffer.from(options.format === 'protojson' ? spacedJson(statement) : JSON.stringify(statement), 'utf8');
}

/** JSON with `", "` between members and elements: valid JSON whose bytes differ from JSON.stringify. */
function spacedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spacedJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${JSON.stringify(key)}:${spacedJson(item)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(payload) SP payload` (byte lengths). */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    Buffer.from(payload),
  ]);
}

/** A DSSE envelope as a bundle's `dsseEnvelope` holds it (protobuf JSON: an empty `keyid` is left out). */
export interface DsseEnvelope {
  /** base64 */
  readonly payload: string;
  readonly payloadType: string;
  /** base64 signatures */
  readonly signatures: ReadonlyArray<{ readonly sig: string; readonly keyid?: string }>;
}

/** Signs `payload`: one ECDSA-SHA256 (DER) signature over the PAE. */
export function signDsse(payload: Uint8Array, payloadType: string, signer: { readonly privateKey: KeyObject }): DsseEnvelope {
  const signature = ecdsaSign(signer.privateKey, pae(payloadType, payload), 'sha256');
  return {
    payload: Buffer.from(payload).toString('base64'),
    payloadType,
    signatures: [{ sig: signature.toString('base64') }],
  };
}

/**
 * The envelope JSON as go-securesystemslib marshals it (`payloadType`,
 * `payload`, `signatures[{keyid, sig}]`, keyid `""` when unset): the blob of a
 * legacy `.att` layer and what cosign submits to Rekor.
 */
export function dsseEnvelopeJson(envelope: DsseEnvelope): Buffer {
  return Buffer.from(
    JSON.stringify({
      payloadType: envelope.payloadType,
      payload: envelope.payload,
      signatures: envelope.signatures.map((signature) => ({ keyid: signature.keyid ?? '', sig: signature.sig })),
    }),
    'utf8',
  );
}

export function parseDsseEnvelope(json: Uint8Array): DsseEnvelope {
  const parsed = JSON.parse(Buffer.from(json).toString('utf8')) as DsseEnvelope;
  return {
    payload: parsed.payload,
    payloadType: parsed.payloadType,
    signatures: parsed.signatures.map((signature) => ({
      sig: signature.sig,
      ...(signature.keyid === undefined || signature.keyid === '' ? {} : { keyid: signature.keyid }),
    })),
  };
}

export interface DsseRekorBody {
  readonly apiVersion: '0.0.1';
  readonly kind: 'dsse';
  readonly spec: {
    readonly envelopeHash: { readonly algorithm: 'sha256'; readonly value: string };
    readonly payloadHash: { readonly algorithm: 'sha256'; readonly value: string };
    readonly signatures: ReadonlyArray<{ readonly signature: string; readonly verifier: string }>;
  };
}

/**
 * Rekor `dsse` 0.0.1 (sigstore/rekor `pkg/types/dsse/v0.0.1`): the envelope
 * itself is not stored, only its hash (over the submitted JSON), the payload
 * hash and each signature with its verifier (base64 of the PEM certificate or
 * public key).
 */
export function dsseRekorBody(envelope: DsseEnvelope, verifierPem: string): DsseRekorBody {
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(dsseEnvelopeJson(envelope)).toString('hex') },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex') },
      signatures: envelope.signatures.map((signature) => ({
        signature: signature.sig,
        verifier: Buffer.from(verifierPem, 'utf8').toString('base64'),
      })),
    },
  };
}
