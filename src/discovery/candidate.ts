import type { Descriptor } from '../oci/index.ts';
import type { Digest } from '../reference/index.ts';

/**
 * One signature found for an image, before any verification. Every storage
 * format yields candidates of this one type, so the verifier evaluates them
 * uniformly and the result lists each with its outcome.
 */
export type SignatureCandidate = LegacyCandidate | BundleCandidate;

/** One layer of a legacy `.sig` (or `.att`) manifest (docs/formats.md §1, §3). */
export interface LegacyCandidate {
  readonly format: 'cosign-legacy';
  /** Where it was found, for people: `<repo>:sha256-….sig layer 0`. */
  readonly origin: string;
  /** Digest of the manifest that holds it. */
  readonly manifestDigest: Digest;
  /** The descriptor of the blob that holds the signed payload. */
  readonly layer: Descriptor;
}

/**
 * A Sigstore bundle attached to the image as an OCI 1.1 referrer
 * (docs/formats.md §2.3–2.5): the referrer manifest's single layer.
 */
export interface BundleCandidate {
  readonly format: 'sigstore-bundle';
  /** Where it was found, for people: `<repo>@sha256:… (referrer)`. */
  readonly origin: string;
  /** Digest of the referrer manifest. */
  readonly manifestDigest: Digest;
  /** The bundle blob's descriptor (media type `application/vnd.dev.sigstore.bundle…`). */
  readonly layer: Descriptor;
  /** Referrer `artifactType` and `dev.sigstore.bundle.predicateType` annotation: hints only, never trusted. */
  readonly artifactType?: string;
  readonly predicateTypeHint?: string;
}
