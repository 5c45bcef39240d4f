import * as z from 'zod';
import { SignatureRejected } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import type { Digest } from '../reference/index.ts';
import { quote } from '../text/quote.ts';

/**
 * in-toto Statements inside DSSE envelopes (in-toto attestation spec
 * `v1/statement.md`; docs/formats.md §2.2, §3). cosign v3 `sign` serialises
 * with protojson, which inserts random whitespace: we parse, never compare
 * bytes.
 */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** The predicate type of a cosign v3 image *signature* (sigstore/cosign `pkg/types/predicate.go`). */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

const StatementSchema = z.looseObject({
  _type: z.enum(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']),
  subject: z
    .array(
      z.looseObject({
        name: z.string().optional(),
        digest: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1),
  predicateType: z.string().min(1),
  predicate: z.unknown().optional(),
});

export type InTotoStatement = z.output<typeof StatementSchema>;

export function parseStatement(payloadType: string, payload: Uint8Array): InTotoStatement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SignatureRejected('PAYLOAD_TYPE_MISMATCH', `DSSE payload type is ${quote(payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  return parseJson(StatementSchema, payload, (reason, cause) =>
    new SignatureRejected('PAYLOAD_INVALID', `DSSE payload is not an in-toto statement: ${reason}`, { cause }),
  );
}

/**
 * The subject naming this image: its sha256 digest must equal the image
 * digest (sigstore-go `WithArtifactDigest`; cosign `IntotoSubjectClaimVerifier`).
 * Hex is compared lowercase-exact: an image digest is always lowercase.
 */
export function subjectFor(statement: InTotoStatement, imageDigest: Digest): InTotoStatement['subject'][number] {
  const hex = imageDigest.slice('sha256:'.length);
  const subject = statement.subject.find((s) => s.digest['sha256'] === hex);
  if (subject === undefined) {
    const named = statement.subject.slice(0, 5).map((s) => (s.digest['sha256'] === undefined ? '(no sha256)' : quote(`sha256:${s.digest['sha256']}`, 80))).join(', ');
    throw new SignatureRejected('PAYLOAD_DIGEST_MISMATCH', `statement subjects ${named} do not include ${imageDigest}`);
  }
  return subject;
}
