/**
 * Manifest media types a registry may serve for an image or its signatures
 * (OCI image-spec `media-types.md`; Docker image manifest v2 schema 2).
 * Docker schema 1 is not accepted: cosign never writes it and it cannot be
 * addressed by a stable digest.
 */
export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

/**
 * The Accept header for `GET /v2/<name>/manifests/<reference>`. A registry
 * negotiates the returned type from this list (distribution-spec "Pulling
 * manifests"); without it some registries convert or fall back to schema 1.
 */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerManifestList,
].join(', ');

/**
 * The media type of a Content-Type header value, without parameters and in
 * lower case (media types are case-insensitive, RFC 9110 §8.3.1); undefined
 * when absent.
 */
export function mediaTypeOf(contentType: string | null | undefined): string | undefined {
  if (contentType === null || contentType === undefined) return undefined;
  const type = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  return type === '' ? undefined : type;
}
