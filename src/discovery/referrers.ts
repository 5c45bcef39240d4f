import { isSigverifyError, SigverifyError } from '../errors.ts';
import type { Limits } from '../limits.ts';
import { type Descriptor, type ImageManifest, MEDIA_TYPE, type Manifest, parseManifest } from '../oci/index.ts';
import { type Digest, digestHex } from '../reference/index.ts';
import type { ContentStore } from '../registry/types.ts';
import type { BundleCandidate } from './candidate.ts';
import { quote } from '../text/quote.ts';

/**
 * Finds the Sigstore bundles attached to an image as OCI 1.1 referrers
 * (cosign-formats §2.3–2.4, "Our discovery algorithm"). No crypto and no
 * bundle parsing here: each candidate names a referrer manifest, fetched by
 * digest and checked for shape; the verifier fetches and verifies the bundle.
 */

/** Layer media type prefix of a bundle referrer (sigstore/cosign `pkg/oci/remote/signatures.go`). */
const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
/** Annotation cosign and @sigstore/oci put on a bundle referrer (cosign-formats §2.3, §2.5). */
const PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

/** Referrer manifests fetched at once. */
const REFERRER_CONCURRENCY = 8;

/** Where the list of referrers came from. */
export type ReferrersSource =
  /** The registry's referrers API (distribution-spec v1.1 "Listing Referrers"). */
  | 'referrers-api'
  /** No API; the referrers tag schema index at `sha256-<hex>`. */
  | 'fallback-tag'
  /** No API and no referrers index at the fallback tag. */
  | 'none';

/** Why a listed referrer (or the fallback tag) yields no candidate. */
export type ReferrerSkipCode =
  /** The fallback tag holds something other than an OCI image index. */
  | 'FALLBACK_NOT_INDEX'
  /** The listing names a manifest the store does not have. */
  | 'MANIFEST_NOT_FOUND'
  /** The listing declares a manifest larger than `maxManifestBytes`; it is not downloaded. */
  | 'MANIFEST_TOO_LARGE'
  /** The referrer is not an image manifest (an index, an artifact manifest, or invalid). */
  | 'NOT_IMAGE_MANIFEST'
  /** The referrer does not hold exactly one `application/vnd.dev.sigstore.bundle…` layer. */
  | 'NOT_SIGSTORE_BUNDLE'
  /** The referrer's `subject` is another image. */
  | 'SUBJECT_MISMATCH';

export interface SkippedReferrer {
  readonly origin: string;
  readonly code: ReferrerSkipCode;
  /** For people. */
  readonly reason: string;
}

export interface BundleDiscovery {
  readonly candidates: BundleCandidate[];
  readonly source: ReferrersSource;
  readonly skipped: SkippedReferrer[];
}

/**
 * The referrers tag schema tag of an image digest: `sha256-<hex>`, no suffix
 * (distribution-spec "Referrers Tag Schema"; google/go-containerregistry
 * `pkg/v1/remote/referrers.go`). Not the legacy `.sig` tag.
 */
export function referrersTag(imageDigest: Digest): string {
  return `sha256-${digestHex(imageDigest)}`;
}

/**
 * cosign-formats §2.4: the referrers API; if the source has none, the
 * referrers tag index. A missing API never means "unsigned" on its own: only
 * an absent fallback tag does. Then, for each listed descriptor (§4.5 step 2,
 * cosign `pkg/oci/remote/signatures.go`): fetch the manifest by digest (the
 * store checks the hash), require an image manifest with exactly one layer
 * whose media type starts with `application/vnd.dev.sigstore.bundle`, and a
 * `subject`, when present, naming this image. Listing annotations and
 * artifactType are the registry's claims and only fill in hints.
 */
export async function discoverBundles(store: ContentStore, imageDigest: Digest, limits: Limits): Promise<BundleDiscovery> {
  const listing = await listReferrers(store, imageDigest, limits);
  const skipped: SkippedReferrer[] = listing.unusable === undefined ? [] : [listing.unusable];
  const candidates: BundleCandidate[] = [];
  // The same manifest listed twice (a repeated page, a sloppy fallback index) is one piece of evidence.
  const unique = [...new Map(listing.entries.map((e) => [e.digest, e])).values()];
  // Referrer manifests are independent fetches: examine a batch at a time,
  // keep the listing's order, and stop at the cap instead of fetching on.
  for (let start = 0; start < unique.length; start += REFERRER_CONCURRENCY) {
    const batch = unique.slice(start, start + REFERRER_CONCURRENCY);
    for (const result of await Promise.all(batch.map((entry) => examineReferrer(store, imageDigest, entry, limits)))) {
      if ('code' in result) {
        skipped.push(result);
        continue;
      }
      // Beyond the cap we refuse rather than silently evaluate a subset.
      if (candidates.length >= limits.maxReferrers) {
        throw new SigverifyError('LIMIT_EXCEEDED', `${store.description}@${imageDigest} has more than ${limits.maxReferrers} Sigstore bundle referrers`, {
          details: { digest: imageDigest, limit: limits.maxReferrers },
        });
      }
      candidates.push(result);
    }
  }
  return { candidates, source: listing.source, skipped };
}

interface Listing {
  readonly source: ReferrersSource;
  readonly entries: readonly Descriptor[];
  /** A fallback tag that holds no referrers index: reported, not silently ignored. */
  readonly unusable?: SkippedReferrer;
}

async function listReferrers(store: ContentStore, imageDigest: Digest, limits: Limits): Promise<Listing> {
  const api = await store.getReferrers(imageDigest);
  if (api.kind === 'api') return { source: 'referrers-api', entries: api.manifests };

  // distribution-spec "Unavailable Referrers API": clients read the index at the referrers tag.
  const tag = referrersTag(imageDigest);
  const origin = `${store.description}:${tag} (referrers tag)`;
  const fetched = await store.getManifest(tag);
  if (fetched === undefined) return { source: 'none', entries: [] };
  const notIndex = (what: string): Listing => ({
    source: 'none',
    entries: [],
    unusable: { origin, code: 'FALLBACK_NOT_INDEX', reason: `${what}, not an OCI image index of referrers` },
  });
  let index: Manifest;
  try {
    index = parseManifest(fetched.bytes, origin, limits);
  } catch (error) {
    // Too many entries is a cap, not a shape problem: it stays an error.
    if (!isSigverifyError(error, 'MANIFEST_INVALID')) throw error;
    return notIndex(`the tag holds an unreadable manifest (${error.message})`);
  }
  if (index.kind !== 'index' || index.mediaType !== MEDIA_TYPE.ociIndex) return notIndex(`the tag holds a ${quote(index.mediaType)}`);
  return { source: 'fallback-tag', entries: index.manifests };
}

/** One listed referrer: a candidate, or why it is not one. */
async function examineReferrer(
  store: ContentStore,
  imageDigest: Digest,
  entry: Descriptor,
  limits: Limits,
): Promise<BundleCandidate | SkippedReferrer> {
  const origin = `${store.description}@${entry.digest} (referrer)`;
  const skip = (code: ReferrerSkipCode, reason: string): SkippedReferrer => ({ origin, code, reason });
  if (entry.size > limits.maxManifestBytes) {
    return skip('MANIFEST_TOO_LARGE', `listed as ${entry.size} bytes, more than the ${limits.maxManifestBytes}-byte manifest limit`);
  }
  const fetched = await store.getManifest(entry.digest);
  if (fetched === undefined) return skip('MANIFEST_NOT_FOUND', 'listed, but the manifest does not exist');

  let manifest: Manifest;
  try {
    manifest = parseManifest(fetched.bytes, origin, limits);
  } catch (error) {
    // Other artifact shapes (e.g. the OCI 1.1-rc artifact manifest) are not ours to reject the image over.
    if (!isSigverifyError(error, 'MANIFEST_INVALID')) throw error;
    return skip('NOT_IMAGE_MANIFEST', error.message);
  }
  if (manifest.kind !== 'manifest') return skip('NOT_IMAGE_MANIFEST', `it is a ${quote(manifest.mediaType)}, not an image manifest`);

  const layer = bundleLayer(manifest);
  if (layer === undefined) {
    const types = manifest.layers.slice(0, 5).map((l) => quote(l.mediaType, 80)).join(', ');
    return skip('NOT_SIGSTORE_BUNDLE', `${manifest.layers.length} layer(s) [${types}]; a bundle referrer has exactly one ${BUNDLE_MEDIA_TYPE_PREFIX}… layer`);
  }
  // A registry (or whoever wrote the fallback index) may list a referrer of another image.
  if (manifest.subject !== undefined && manifest.subject.digest !== imageDigest) {
    return skip('SUBJECT_MISMATCH', `its subject is ${manifest.subject.digest}, not ${imageDigest}`);
  }
  // Hints only: the fetched manifest is hash-checked, the listing entry is not, so the manifest's own word comes first.
  const predicateTypeHint = nonEmpty(manifest.annotations?.[PREDICATE_TYPE_ANNOTATION]) ?? nonEmpty(entry.annotations?.[PREDICATE_TYPE_ANNOTATION]);
  const artifactType = nonEmpty(manifest.artifactType) ?? nonEmpty(entry.artifactType);
  return {
    format: 'sigstore-bundle',
    origin,
    manifestDigest: fetched.digest,
    layer,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(predicateTypeHint === undefined ? {} : { predicateTypeHint }),
  };
}

/** The single bundle layer, as cosign requires it (`pkg/oci/remote/signatures.go`); undefined otherwise. */
function bundleLayer(manifest: ImageManifest): Descriptor | undefined {
  const [layer, ...others] = manifest.layers;
  if (layer === undefined || others.length > 0) return undefined;
  return layer.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX) ? layer : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}
