import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import { DEFAULT_LIMITS, type Limits } from '../limits.ts';
import { type Digest, isDigest } from '../reference/index.ts';
import { quote } from '../text/quote.ts';

/**
 * OCI image manifests and indexes, and their Docker v2 schema 2 equivalents
 * (OCI image-spec `manifest.md`, `image-index.md`; Docker `manifest-v2-2.md`).
 * Pure: bytes in, typed value out. Unknown fields pass through: registries
 * and tools add their own.
 */
export const MEDIA_TYPE = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE.ociIndex, MEDIA_TYPE.dockerManifestList]);
const MANIFEST_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifest]);

const DescriptorSchema = z.looseObject({
  mediaType: z.string().max(255),
  digest: z.string().refine(isDigest, 'digest must be sha256:<64 lowercase hex>'),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  annotations: z.record(z.string(), z.string()).optional(),
  artifactType: z.string().max(255).optional(),
  platform: z
    .looseObject({ os: z.string(), architecture: z.string(), variant: z.string().optional() })
    .optional(),
});

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string };
}

const ManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const IndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type Manifest = ImageManifest | ImageIndex;

const ProbeSchema = z.looseObject({ schemaVersion: z.number(), mediaType: z.string().optional(), manifests: z.unknown().optional(), layers: z.unknown().optional() });

/**
 * Parses a manifest or index. The body's own `mediaType` decides the kind (a
 * Content-Type header is the server's claim); without one, the presence of
 * `manifests` or `layers` does. Docker schema 1 is refused: its digest is not
 * the sha256 of the bytes served (the interop case `manifest-digest-error`).
 */
export function parseManifest(bytes: Uint8Array, where: string, limits: Limits = DEFAULT_LIMITS): Manifest {
  const fail = (reason: string, cause?: unknown): SigverifyError =>
    new SigverifyError('MANIFEST_INVALID', `manifest ${where} is invalid: ${reason}`, { cause, details: { digest: where } });
  const probe = parseJson(ProbeSchema, bytes, fail);
  if (probe.schemaVersion !== 2) throw fail(`schemaVersion ${probe.schemaVersion} is not supported (only 2)`);
  const isIndex = probe.mediaType !== undefined ? INDEX_TYPES.has(probe.mediaType) : probe.manifests !== undefined;
  if (probe.mediaType !== undefined && !isIndex && !MANIFEST_TYPES.has(probe.mediaType)) {
    throw fail(`media type ${quote(probe.mediaType)} is not an image manifest or index`);
  }
  if (isIndex) {
    const index = parseJson(IndexSchema, bytes, fail);
    if (index.manifests.length > limits.maxIndexManifests) {
      throw new SigverifyError('LIMIT_EXCEEDED', `index ${where} lists ${index.manifests.length} manifests (limit ${limits.maxIndexManifests})`);
    }
    for (const d of index.manifests) checkAnnotationBytes(d, where, limits);
    return { ...(index as Omit<ImageIndex, 'kind' | 'mediaType'>), kind: 'index', mediaType: index.mediaType ?? MEDIA_TYPE.ociIndex };
  }
  const manifest = parseJson(ManifestSchema, bytes, fail);
  for (const d of manifest.layers) checkAnnotationBytes(d, where, limits);
  return { ...(manifest as Omit<ImageManifest, 'kind' | 'mediaType'>), kind: 'manifest', mediaType: manifest.mediaType ?? MEDIA_TYPE.ociManifest };
}

function checkAnnotationBytes(descriptor: Descriptor, where: string, limits: Limits): void {
  if (descriptor.annotations === undefined) return;
  let total = 0;
  for (const [k, v] of Object.entries(descriptor.annotations)) total += k.length + v.length;
  if (total > limits.maxAnnotationBytes) {
    throw new SigverifyError('LIMIT_EXCEEDED', `manifest ${where}: descriptor ${descriptor.digest} has ${total} bytes of annotations (limit ${limits.maxAnnotationBytes})`);
  }
}
