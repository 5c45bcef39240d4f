import * as z from 'zod';
import { SignatureRejected } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import { type Digest, isDigest } from '../reference/index.ts';
import { COSIGN_SIGNATURE_TYPE } from './constants.ts';
import { quote } from '../text/quote.ts';

/**
 * The simple-signing payload of a legacy cosign signature (docs/formats.md §1.6,
 * sigstore/sigstore `pkg/signature/payload/payload.go`). The signature covers
 * these exact bytes; we parse them only to check claims and never re-serialise.
 */
const SimpleSigningSchema = z.looseObject({
  critical: z.looseObject({
    identity: z.looseObject({ 'docker-reference': z.string().optional() }).optional(),
    image: z.looseObject({ 'docker-manifest-digest': z.string() }),
    type: z.string(),
  }),
  // cosign writes null or an object of strings; containers/image adds
  // `creator` and a numeric `timestamp`, so values are not all strings.
  optional: z.record(z.string(), z.unknown()).nullable().optional(),
});

export interface SimpleSigningPayload {
  readonly dockerReference: string | undefined;
  /** `critical.image.docker-manifest-digest`: the binding between signature and image. */
  readonly imageDigest: Digest;
  readonly type: string;
  readonly optional: Readonly<Record<string, unknown>>;
}

export function parseSimpleSigningPayload(bytes: Uint8Array): SimpleSigningPayload {
  const parsed = parseJson(SimpleSigningSchema, bytes, (reason, cause) =>
    new SignatureRejected('PAYLOAD_INVALID', `signature payload is not a cosign simple-signing document: ${reason}`, { cause }),
  );
  const digest = parsed.critical.image['docker-manifest-digest'];
  // cosign compares the claim string-exactly with `sha256:<hex>` of the image
  // (pkg/cosign/verifiers.go); a digest in any other spelling can never match.
  if (!isDigest(digest)) {
    throw new SignatureRejected('PAYLOAD_INVALID', `signature payload names an invalid image digest ${quote(digest, 80)}`);
  }
  return {
    dockerReference: parsed.critical.identity?.['docker-reference'],
    imageDigest: digest,
    type: parsed.critical.type,
    optional: parsed.optional ?? {},
  };
}

/**
 * cosign never checks `critical.type`; containers/image writes the same value.
 * We require it: a payload of another type was not made as an image signature.
 */
export function assertCosignSignatureType(payload: SimpleSigningPayload): void {
  if (payload.type !== COSIGN_SIGNATURE_TYPE) {
    throw new SignatureRejected(
      'PAYLOAD_TYPE_MISMATCH',
      `signature payload type is ${quote(payload.type)}, expected "${COSIGN_SIGNATURE_TYPE}"`,
    );
  }
}
