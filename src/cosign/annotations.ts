import * as z from 'zod';
import { SignatureRejected } from '../errors.ts';
import { parseValue } from '../json/parse.ts';
import {
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_REKOR_BUNDLE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
} from './constants.ts';

/**
 * The annotations of one legacy signature layer (docs/formats.md §1.3). The
 * signature is required; a layer without it is an error in cosign too.
 */
const LayerAnnotationsSchema = z.looseObject({
  // Go's base64 decoder skips CR and LF, so cosign accepts wrapped base64
  // (containers/image's BYO-PKI fixture has it); we strip them, then validate.
  [ANNOTATION_SIGNATURE]: z.string().transform((v) => v.replace(/[\r\n]/g, '')).pipe(z.base64().min(1, 'signature annotation is empty')),
  [ANNOTATION_CERTIFICATE]: z.string().optional(),
  [ANNOTATION_CHAIN]: z.string().optional(),
  [ANNOTATION_REKOR_BUNDLE]: z.string().optional(),
  [ANNOTATION_RFC3161]: z.string().optional(),
});

export interface LegacyLayerAnnotations {
  /** Standard base64 of the raw signature over the payload bytes (`""` on `.att` layers, whose envelope holds it). */
  readonly signature: string;
  /** PEM of the leaf certificate (keyless / certificate mode), when present and non-empty. */
  readonly certificatePem: string | undefined;
  /** The Rekor bundle annotation JSON, when the signature was uploaded to Rekor. */
  readonly rekorBundle: string | undefined;
  /** The RFC 3161 annotation JSON, when a TSA timestamp was requested. */
  readonly rfc3161: string | undefined;
}

/** `.att` layers carry the signature in the envelope and `""` in the annotation (docs/formats.md §3). */
const AttestationAnnotationsSchema = LayerAnnotationsSchema.extend({ [ANNOTATION_SIGNATURE]: z.string().optional().transform(() => '') });

export function parseLegacyAnnotations(annotations: Readonly<Record<string, string>> | undefined, kind: 'signature' | 'attestation' = 'signature'): LegacyLayerAnnotations {
  const schema = kind === 'signature' ? LayerAnnotationsSchema : AttestationAnnotationsSchema;
  const parsed = parseValue(schema, annotations ?? {}, (reason, cause) =>
    new SignatureRejected('ANNOTATION_INVALID', `signature layer annotations are invalid: ${reason}`, { cause }),
  );
  const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value);
  return {
    signature: parsed[ANNOTATION_SIGNATURE],
    certificatePem: nonEmpty(parsed[ANNOTATION_CERTIFICATE]),
    rekorBundle: nonEmpty(parsed[ANNOTATION_REKOR_BUNDLE]),
    rfc3161: nonEmpty(parsed[ANNOTATION_RFC3161]),
  };
}

const Rfc3161Schema = z.object({ SignedRFC3161Timestamp: z.base64().min(1) });

/** `{"SignedRFC3161Timestamp":"<base64 DER TimeStampResp>"}` (cosign `pkg/cosign/bundle/tsa.go`). */
export function parseRfc3161Annotation(json: string): string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new SignatureRejected('ANNOTATION_INVALID', 'RFC 3161 timestamp annotation is not JSON', { cause });
  }
  return parseValue(Rfc3161Schema, value, (reason, cause) =>
    new SignatureRejected('ANNOTATION_INVALID', `RFC 3161 timestamp annotation is invalid: ${reason}`, { cause }),
  ).SignedRFC3161Timestamp;
}
