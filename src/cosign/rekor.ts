import * as z from 'zod';
import { SignatureRejected } from '../errors.ts';
import { parseJson } from '../json/parse.ts';

/**
 * The Rekor bundle annotation `dev.sigstore.cosign/bundle` (docs/formats.md §1.4,
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
