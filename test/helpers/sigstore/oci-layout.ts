import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex, sha256Digest, type Digest } from '../../../src/reference/digest.ts';
import { DSSE_ENVELOPE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE, signatureLayerDescriptor, type SignatureLayer } from './cosign-legacy.ts';

/**
 * Tiny deterministic OCI images, image indexes and cosign signature
 * manifests, plus a writer for the OCI image-layout directory format
 * (image-spec `image-layout.md`). Every object carries the blobs and child
 * manifests it references, so a test can write it to a layout or push the
 * same bytes to a registry.
 */

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** index.json annotation naming a tag (image-spec `annotations.md`). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface OciDescriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A manifest or index together with everything it references. */
export interface OciObject {
  readonly mediaType: string;
  readonly manifestBytes: Buffer;
  readonly digest: Digest;
  /** Config and layer blobs, including those of child manifests. */
  readonly blobs: ReadonlyMap<Digest, Buffer>;
  /** Child manifests of an index, to store (or push by digest) before the index. */
  readonly manifests: readonly OciObject[];
  readonly platform?: Platform;
}

export function descriptorOf(object: OciObject, annotations?: Readonly<Record<string, string>>): OciDescriptor {
  return {
    mediaType: object.mediaType,
    digest: object.digest,
    size: object.manifestBytes.length,
    ...(object.platform === undefined ? {} : { platform: object.platform }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

/** The legacy signature tag of a digest: `sha256-<hex>.sig` (docs/formats.md §1.1). */
export function signatureTag(digest: Digest): string {
  return `sha256-${digestHex(digest)}.sig`;
}

/** The legacy attestation tag of a digest: `sha256-<hex>.att` (docs/formats.md §3). */
export function attestationTag(digest: Digest): string {
  return `sha256-${digestHex(digest)}.att`;
}

function blob(bytes: Buffer): [Digest, Buffer] {
  return [sha256Digest(bytes), bytes];
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Go map order: annotations marshal with sorted keys. */
function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key] ?? '']));
}

// ---------------------------------------------------------------------------
// Images

export interface MakeImageOptions {
  /** Default linux/amd64. */
  readonly platform?: Platform;
}

/**
 * A one-layer image whose bytes depend only on `seed` and the platform: an
 * uncompressed tar holding `seed.txt`, its config, and an OCI manifest.
 */
export function makeImage(seed: string, options: MakeImageOptions = {}): OciObject {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const [layerDigest, layer] = blob(tarFile('seed.txt', Buffer.from(`${seed}\n`, 'utf8')));
  const [configDigest, config] = blob(
    json({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      config: { Labels: { 'test.sigverify.seed': seed } },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: `sigverify fixture ${seed}` }],
    }),
  );
  const manifestBytes = json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: config.length },
    layers: [{ mediaType: MEDIA_TYPES.ociLayerTar, digest: layerDigest, size: layer.length }],
  });
  return {
    mediaType: MEDIA_TYPES.ociManifest,
    manifestBytes,
    digest: sha256Digest(manifestBytes),
    blobs: new Map([
      [configDigest, config],
      [layerDigest, layer],
    ]),
    manifests: [],
    platform,
  };
}

/** An OCI image index over `children`; each child must carry its platform. */
export function makeIndex(children: readonly OciObject[]): OciObject {
  const manifestBytes = json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: children.map((childObject) => {
      if (childObject.platform === undefined) throw new Error(`index child ${childObject.digest} has no platform`);
      return descriptorOf(childObject);
    }),
  });
  const blobs = new Map<Digest, Buffer>();
  for (const childObject of children) for (const [digest, bytes] of childObject.blobs) blobs.set(digest, bytes);
  return {
    mediaType: MEDIA_TYPES.ociIndex,
    manifestBytes,
    digest: sha256Digest(manifestBytes),
    blobs,
    manifests: [...children],
  };
}

export interface SignatureManifestOptions {
  /** `COSIGN_DOCKER_MEDIA_TYPES=1`: Docker v2 schema 2 manifest and config media types. */
  readonly dockerMediaTypes?: boolean;
}

/**
 * The cosign `.sig` manifest (cosign `pkg/oci/empty`, `pkg/oci/mutate`):
 * one layer per signature, and the go-containerregistry config cosign writes
 * (zero `created`, one history entry and one diff_id per layer).
 */
export function makeSignatureManifest(
  layers: readonly SignatureLayer[],
  options: SignatureManifestOptions = {},
): OciObject {
  const descriptors = layers.map(signatureLayerDescriptor);
  const zeroTime = '0001-01-01T00:00:00Z';
  // Field order follows go-containerregistry's ConfigFile struct.
  const [configDigest, config] = blob(
    json({
      architecture: '',
      created: zeroTime,
      history: descriptors.map(() => ({ created: zeroTime })),
      os: '',
      rootfs: { type: 'layers', diff_ids: descriptors.map((descriptor) => descriptor.digest) },
      config: {},
    }),
  );
  const docker = options.dockerMediaTypes === true;
  const mediaType = docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  const manifestBytes = json({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig, size: config.length, digest: configDigest },
    layers: descriptors.map((descriptor) => ({
      mediaType: descriptor.mediaType,
      size: descriptor.size,
      digest: descriptor.digest,
      annotations: sortedRecord(descriptor.annotations),
    })),
  });
  const blobs = new Map<Digest, Buffer>([[configDigest, config]]);
  for (const layer of layers) blobs.set(sha256Digest(layer.payload), layer.payload);
  return { mediaType, manifestBytes, digest: sha256Digest(manifestBytes), blobs, manifests: [] };
}

// ---------------------------------------------------------------------------
// OCI image layout

export interface LayoutEntry {
  readonly object: OciObject;
  /** Written as the `org.opencontainers.image.ref.name` annotation. */
  readonly tag?: string;
}

/** Every blob file of an object: its manifest, child manifests, configs and layers. */
export function layoutBlobs(object: OciObject): Map<Digest, Buffer> {
  const out = new Map<Digest, Buffer>(object.blobs);
  out.set(object.digest, object.manifestBytes);
  for (const childObject of object.manifests) for (const [digest, bytes] of layoutBlobs(childObject)) out.set(digest, bytes);
  return out;
}

/** The `index.json` of a layout holding `entries`, in order. */
export function layoutIndex(entries: readonly LayoutEntry[]): Buffer {
  const manifests = entries.map(({ object, tag }) => ({
    mediaType: object.mediaType,
    digest: object.digest,
    size: object.manifestBytes.length,
    ...(tag === undefined ? {} : { annotations: { [REF_NAME_ANNOTATION]: tag } }),
  }));
  return Buffer.from(`${JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }, null, 2)}\n`, 'utf8');
}

/** Writes an OCI image layout into `dir` (created if missing; existing blobs are overwritten). */
export async function writeOciLayout(dir: string, entries: readonly LayoutEntry[]): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const blobs = new Map<Digest, Buffer>();
  for (const entry of entries) for (const [digest, bytes] of layoutBlobs(entry.object)) blobs.set(digest, bytes);
  for (const [digest, bytes] of [...blobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    await writeFile(join(blobDir, digestHex(digest)), bytes);
  }
  await writeFile(join(dir, 'index.json'), layoutIndex(entries));
}

/** Reads an OCI layout back: tag → descriptor, and blobs by digest (digest checked). */
export async function readOciLayout(dir: string): Promise<{
  readonly tags: ReadonlyMap<string, OciDescriptor>;
  blob(digest: Digest): Promise<Buffer>;
}> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: OciDescriptor[] };
  const tags = new Map<string, OciDescriptor>();
  for (const descriptor of index.manifests) {
    const tag = descriptor.annotations?.[REF_NAME_ANNOTATION];
    if (tag !== undefined) tags.set(tag, descriptor);
  }
  return {
    tags,
    async blob(digest) {
      const bytes = await readFile(join(dir, 'blobs', 'sha256', digestHex(digest)));
      if (sha256Digest(bytes) !== digest) throw new Error(`layout blob ${digest} does not match its digest`);
      return bytes;
    },
  };
}

/** The legacy signature layers stored for `digest` in a layout (`[]` when there is no `.sig` tag). */
export async function readLegacySignatureLayers(dir: string, digest: Digest): Promise<SignatureLayer[]> {
  return readLegacyLayers(dir, signatureTag(digest), SIMPLE_SIGNING_MEDIA_TYPE);
}

/** The legacy attestation layers stored for `digest` in a layout (`[]` when there is no `.att` tag). */
export async function readLegacyAttestationLayers(dir: string, digest: Digest): Promise<SignatureLayer[]> {
  return readLegacyLayers(dir, attestationTag(digest), DSSE_ENVELOPE_MEDIA_TYPE);
}

async function readLegacyLayers(dir: string, tag: string, mediaType: string): Promise<SignatureLayer[]> {
  const layout = await readOciLayout(dir);
  const descriptor = layout.tags.get(tag);
  if (!descriptor) return [];
  const manifest = JSON.parse((await layout.blob(descriptor.digest)).toString('utf8')) as {
    layers: Array<{ mediaType: string; digest: Digest; annotations?: Record<string, string> }>;
  };
  return Promise.all(
    manifest.layers
      .filter((layer) => layer.mediaType === mediaType)
      .map(async (layer) => ({
        mediaType: layer.mediaType,
        payload: await layout.blob(layer.digest),
        annotations: layer.annotations ?? {},
      })),
  );
}

// ---------------------------------------------------------------------------
// A minimal ustar writer (POSIX.1-1988), deterministic: mode 0644, uid/gid 0, mtime 0.

function tarFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, '0')}\0`;
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(content.length, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, '        '); // checksum placeholder: spaces
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}
