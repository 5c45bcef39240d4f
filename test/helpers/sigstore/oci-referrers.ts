import { digestHex, sha256Digest, type Digest } from '../../../src/reference/digest.ts';
import { BUNDLE_V03_MEDIA_TYPE } from './bundle-v03.ts';
import { MEDIA_TYPES, readOciLayout, type OciDescriptor, type OciObject } from './oci-layout.ts';

/**
 * Sigstore bundles stored as OCI 1.1 referrers of an image (docs/formats.md
 * §2.3–2.5): the referrer manifest in cosign's and in @sigstore/oci's
 * (actions/attest) byte forms, and the referrers tag-schema index
 * (`sha256-<hex>`) that stands in for the Referrers API where there is none —
 * including in an OCI image layout.
 */

export const OCI_EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
/** The empty config blob `{}` (image-spec `manifest.md`, "Guidance for an Empty Descriptor"). */
export const EMPTY_JSON_BLOB = Buffer.from('{}', 'utf8');

export const BUNDLE_ANNOTATIONS = {
  content: 'dev.sigstore.bundle.content',
  predicateType: 'dev.sigstore.bundle.predicateType',
  created: 'org.opencontainers.image.created',
} as const;

/** The referrers tag-schema tag of a digest: `sha256-<hex>` (distribution-spec "Referrers Tag Schema"). */
export function referrersTag(digest: Digest): string {
  return `sha256-${digestHex(digest)}`;
}

/**
 * Who wrote the referrer: `cosign` (v3 `WriteReferrer`, go-containerregistry
 * struct order, `artifactType` also inside the config descriptor, `created` to
 * the second) or `sigstore-oci` (@sigstore/oci `addArtifact` as actions/attest
 * calls it: JSON.stringify order, plain empty config, `created` with
 * milliseconds).
 */
export type ReferrerStyle = 'cosign' | 'sigstore-oci';

export interface ReferrerManifestOptions {
  readonly bundleBytes: Buffer;
  /** The image the bundle is about (its platform, if any, is not copied). */
  readonly subject: OciDescriptor;
  /** Written as the `dev.sigstore.bundle.predicateType` annotation (a hint: the verified statement decides). */
  readonly predicateType: string;
  readonly style: ReferrerStyle;
  readonly created: Date;
  /** Layer media type and artifactType; default the v0.3 bundle media type. */
  readonly bundleMediaType?: string;
}

/** A referrer manifest holding one bundle; its blobs are `{}` and the bundle. */
export function makeReferrerManifest(options: ReferrerManifestOptions): OciObject {
  const bundleMediaType = options.bundleMediaType ?? BUNDLE_V03_MEDIA_TYPE;
  const emptyDigest = sha256Digest(EMPTY_JSON_BLOB);
  const bundleDigest = sha256Digest(options.bundleBytes);
  const { subject } = options;
  let manifest: unknown;
  if (options.style === 'cosign') {
    manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: OCI_EMPTY_MEDIA_TYPE, size: EMPTY_JSON_BLOB.length, digest: emptyDigest, artifactType: bundleMediaType },
      layers: [{ mediaType: bundleMediaType, size: options.bundleBytes.length, digest: bundleDigest }],
      annotations: {
        [BUNDLE_ANNOTATIONS.content]: 'dsse-envelope',
        [BUNDLE_ANNOTATIONS.predicateType]: options.predicateType,
        [BUNDLE_ANNOTATIONS.created]: `${options.created.toISOString().slice(0, 19)}Z`,
      },
      subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
      artifactType: bundleMediaType,
    };
  } else {
    manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      artifactType: bundleMediaType,
      config: { mediaType: OCI_EMPTY_MEDIA_TYPE, digest: emptyDigest, size: EMPTY_JSON_BLOB.length },
      layers: [{ mediaType: bundleMediaType, digest: bundleDigest, size: options.bundleBytes.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: {
        [BUNDLE_ANNOTATIONS.created]: options.created.toISOString(),
        [BUNDLE_ANNOTATIONS.content]: 'dsse-envelope',
        [BUNDLE_ANNOTATIONS.predicateType]: options.predicateType,
      },
    };
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  return {
    mediaType: MEDIA_TYPES.ociManifest,
    manifestBytes,
    digest: sha256Digest(manifestBytes),
    blobs: new Map([
      [emptyDigest, EMPTY_JSON_BLOB],
      [bundleDigest, options.bundleBytes],
    ]),
    manifests: [],
  };
}

interface ReferrerManifestJson {
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly config: { readonly mediaType: string };
  readonly layers: ReadonlyArray<{ readonly mediaType: string; readonly digest: Digest; readonly size: number }>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ReferrersIndexOptions {
  /**
   * `false`: go-containerregistry's fallback index (cosign): entries
   * `{mediaType, size, digest, artifactType}` sorted by digest, no annotations.
   * `true`: @sigstore/oci's: `{mediaType, digest, size, artifactType,
   * annotations}` in push order.
   */
  readonly withAnnotations: boolean;
}

/** The referrers tag-schema index listing `referrers` (tag it with {@link referrersTag}). */
export function makeReferrersIndex(referrers: readonly OciObject[], options: ReferrersIndexOptions): OciObject {
  const entries = referrers.map((referrer) => {
    const manifest = JSON.parse(referrer.manifestBytes.toString('utf8')) as ReferrerManifestJson;
    const artifactType = manifest.artifactType ?? manifest.config.mediaType;
    const size = referrer.manifestBytes.length;
    return options.withAnnotations
      ? { mediaType: referrer.mediaType, digest: referrer.digest, size, artifactType, annotations: { ...manifest.annotations } }
      : { mediaType: referrer.mediaType, size, digest: referrer.digest, artifactType };
  });
  const index = options.withAnnotations
    ? { mediaType: MEDIA_TYPES.ociIndex, schemaVersion: 2, manifests: entries }
    : { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: entries.sort((a, b) => (a.digest < b.digest ? -1 : 1)) };
  const manifestBytes = Buffer.from(JSON.stringify(index), 'utf8');
  const blobs = new Map<Digest, Buffer>();
  for (const referrer of referrers) for (const [digest, bytes] of referrer.blobs) blobs.set(digest, bytes);
  return { mediaType: MEDIA_TYPES.ociIndex, manifestBytes, digest: sha256Digest(manifestBytes), blobs, manifests: [...referrers] };
}

export interface StoredReferrer {
  /** The fallback index's entry for it. */
  readonly descriptor: OciDescriptor & { readonly artifactType?: string };
  readonly manifest: ReferrerManifestJson;
  /** The bundle blob (digest checked). */
  readonly bundle: Buffer;
}

/** The bundle referrers of `digest` in a layout, found through its `sha256-<hex>` index (`[]` without one). */
export async function readReferrers(dir: string, digest: Digest): Promise<StoredReferrer[]> {
  const layout = await readOciLayout(dir);
  const indexDescriptor = layout.tags.get(referrersTag(digest));
  if (!indexDescriptor) return [];
  const index = JSON.parse((await layout.blob(indexDescriptor.digest)).toString('utf8')) as {
    manifests: Array<OciDescriptor & { artifactType?: string }>;
  };
  return Promise.all(
    index.manifests.map(async (descriptor) => {
      const manifest = JSON.parse((await layout.blob(descriptor.digest)).toString('utf8')) as ReferrerManifestJson;
      const [layer] = manifest.layers;
      if (manifest.layers.length !== 1 || !layer) throw new Error(`referrer ${descriptor.digest} has ${manifest.layers.length} layers`);
      return { descriptor, manifest, bundle: await layout.blob(layer.digest) };
    }),
  );
}
