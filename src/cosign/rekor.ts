import { z } from 'zod';
import { SignatureRejected } from '../errors.ts';
import { parseJson } from '../json/parse.ts';

/**
 * The Rekor bundle annotation `dev.sigstore.cosign/bundle` (cosign-formats §1.4,
 * sigstore/cosign `pkg/cosign/bundle/rekor.go`): Go's json.Marshal of
 * RekorBundle, capitalised at the top level, lower camel case inside Payload.
 */
const RekorBundleSchema = z.object({
  SignedEntryTimestamp: z.base64().min(1),
  Payload: z.object({
    // cosign rejects a body of any JSON type other than string (pkg/cosign/verify.go).
    body: z.base64().min(1),
    integratedTime: z.number().int().nonnegative(),
    logIndex: z.number().int().nonnegative(),
    logID: z.string().regex(/^[0-9a-f]{64}$/, 'logID must be 64 lowercase hex characters'),
  }),
});

export interface RekorBundle {
  /** base64 SET, exactly as annotated. */
  readonly signedEntryTimestamp: string;
  /** base64 canonicalized entry body, exactly as annotated: the SET covers it byte for byte. */
  readonly body: string;
  readonly integratedTime: number;
  /** The global ("virtual") log index that Rekor signs. */
  readonly logIndex: number;
  /** hex sha256 of the log's DER public key. */
  readonly logIdHex: string;
}

export function parseRekorBundle(annotation: string): RekorBundle {
  const parsed = parseJson(RekorBundleSchema, annotation, (reason, cause) =>
    new SignatureRejected('TLOG_ENTRY_INVALID', `Rekor bundle annotation is malformed: ${reason}`, { cause }),
  );
  return {
    signedEntryTimestamp: parsed.SignedEntryTimestamp,
    body: parsed.Payload.body,
    integratedTime: parsed.Payload.integratedTime,
    logIndex: parsed.Payload.logIndex,
    logIdHex: parsed.Payload.logID,
  };
}

/**
 * The parts of a Rekor entry body we check ourselves (cosign-formats §7).
 * sigstore-js compares signature and digest of a hashedrekord body but not the
 * key (pitfall 7), so we extract the key to compare with the signing
 * certificate or key, as cosign's `comparePublicKey` does.
 */
const HashedRekordV001Schema = z.object({
  apiVersion: z.literal('0.0.1'),
  kind: z.literal('hashedrekord'),
  spec: z.object({
    data: z.object({ hash: z.object({ algorithm: z.string(), value: z.string() }) }),
    signature: z.object({
      content: z.base64(),
      publicKey: z.object({ content: z.base64() }),
    }),
  }),
});

const EntryKindSchema = z.looseObject({ apiVersion: z.string(), kind: z.string() });

export interface RekorEntryBody {
  readonly kind: string;
  readonly apiVersion: string;
  /** PEM of the certificate or public key the entry was made with. */
  readonly verifierPem: string;
  /** base64 signature recorded in the entry. */
  readonly signature: string;
}

function invalidBody(reason: string, cause?: unknown): SignatureRejected {
  return new SignatureRejected('TLOG_ENTRY_INVALID', `Rekor entry body is malformed: ${reason}`, { cause });
}

export function parseRekorEntryBody(bodyBase64: string): RekorEntryBody {
  const bytes = Buffer.from(bodyBase64, 'base64');
  const { kind, apiVersion } = parseJson(EntryKindSchema, bytes, invalidBody);
  if (kind !== 'hashedrekord' || apiVersion !== '0.0.1') {
    // Legacy `.sig` layers are logged as hashedrekord 0.0.1 by every cosign
    // release that writes them; other kinds belong to attestations.
    throw new SignatureRejected('TLOG_ENTRY_INVALID', `Rekor entry kind ${kind} ${apiVersion} is not supported for image signatures`);
  }
  const body = parseJson(HashedRekordV001Schema, bytes, invalidBody);
  return {
    kind,
    apiVersion,
    verifierPem: Buffer.from(body.spec.signature.publicKey.content, 'base64').toString('utf8'),
    signature: body.spec.signature.content,
  };
}
