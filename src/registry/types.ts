import type { Descriptor } from '../oci/index.ts';
import type { Digest } from '../reference/index.ts';

/**
 * Where OCI content comes from: a remote registry (the distribution API) or a
 * local OCI image-layout directory. Discovery and verification only see this
 * interface, so both sources behave alike.
 *
 * Hash first, parse second: every implementation returns bytes whose digest it
 * computed itself; a manifest fetched by digest is checked against that digest
 * before it is returned (DIGEST_MISMATCH otherwise), and nothing a server
 * claims (Docker-Content-Digest, Content-Length) is trusted.
 */
export interface FetchedManifest {
  /** sha256 of exactly the bytes received. */
  readonly digest: Digest;
  /** The Content-Type the source declared (a hint; the parsed body decides). */
  readonly contentType: string | undefined;
  readonly bytes: Uint8Array;
}

export interface ContentStore {
  /** Human-readable origin for messages: `ghcr.io/org/app` or `oci:/path/to/layout`. */
  readonly description: string;
  /**
   * Fetches a manifest or index by tag or by digest (`sha256:…`).
   * Resolves `undefined` when the source says it does not exist (HTTP 404), so a
   * missing `.sig` tag can mean "no signatures" rather than an error.
   */
  getManifest(reference: string): Promise<FetchedManifest | undefined>;
  /**
   * Fetches a blob, refusing before download when `expectedSize > maxBytes`,
   * and failing when the bytes received differ in size or digest.
   */
  getBlob(digest: Digest, expectedSize: number, maxBytes: number): Promise<Uint8Array>;
  /**
   * Lists the manifests whose `subject` is `subject` (distribution-spec v1.1
   * "Listing Referrers"), all pages, unfiltered. `unsupported` when the source
   * has no referrers API: the caller then falls back to the referrers tag
   * schema (`sha256-<hex>`), never to "no referrers".
   */
  getReferrers(subject: Digest): Promise<ReferrersListing>;
}

/**
 * The answer of a referrers API. The entries are the registry's claims (its
 * copy of each referrer's artifactType and annotations): hints, until the
 * manifest they name is fetched by digest.
 */
export type ReferrersListing =
  | { readonly kind: 'api'; readonly manifests: readonly Descriptor[] }
  | { readonly kind: 'unsupported' };
