import type { Descriptor } from '../oci/index.ts';
import type { Digest } from '../reference/index.ts';

/**
 * One signature found for an image, before any verification. Every storage
 * format yields candidates of this one type, so the verifier evaluates them
 * uniformly and the result lists each with its outcome.
 */
export interface SignatureCandidate {
  /** `cosign-legacy`: one layer of the `.sig` manifest (cosign-formats §1). */
  readonly format: 'cosign-legacy';
  /** Where it was found, for people: `<repo>:sha256-….sig layer 0`. */
  readonly origin: string;
  /** Digest of the manifest that holds it. */
  readonly manifestDigest: Digest;
  /** The descriptor of the blob that holds the signed payload. */
  readonly layer: Descriptor;
}
