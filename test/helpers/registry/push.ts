/**
 * A tiny push client for the test registry, on built-in fetch over plain HTTP
 * to loopback. It follows the distribution-spec push flow ("Pushing blobs",
 * POST-then-PUT monolithic upload; "Pushing Manifests") and fails loudly, with
 * status and body, on anything but the expected status. No retries, no auth.
 *
 * `base` is the registry's URL, e.g. `RunningRegistry.url` (`http://127.0.0.1:PORT`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Digest } from '../../../src/reference/index.ts';
import { digestHex, isDigest, sha256Digest } from '../../../src/reference/index.ts';

/** The OCI image-layout annotation that names a tag (image-spec `image-layout.md`). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface PushedManifest {
  /** The tag it was pushed under. */
  readonly tag: string;
  readonly digest: Digest;
  readonly mediaType: string;
}

function endpoint(base: string, repo: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/v2/${repo}/${path}`;
}

async function expectStatus(response: Response, expected: number, what: string): Promise<void> {
  if (response.status === expected) return;
  const body = (await response.text()).slice(0, 2_000);
  throw new Error(`${what}: expected HTTP ${expected}, got ${response.status} ${response.statusText}\n${body}`);
}

/** Pushes a blob unless the registry already has it; resolves its digest. */
export async function pushBlob(base: string, repo: string, bytes: Uint8Array): Promise<Digest> {
  const digest = sha256Digest(bytes);
  const what = `push blob ${digest} to ${repo}`;

  const head = await fetch(endpoint(base, repo, `blobs/${digest}`), { method: 'HEAD' });
  if (head.status === 200) return digest;
  await expectStatus(head, 404, `${what} (HEAD)`);

  const start = await fetch(endpoint(base, repo, 'blobs/uploads/'), { method: 'POST' });
  await expectStatus(start, 202, `${what} (POST upload)`);
  const location = start.headers.get('location');
  if (location === null) throw new Error(`${what}: POST upload answered 202 without a Location header`);

  // Location may be relative or absolute and may carry its own query (`_state=…`): keep it verbatim.
  const upload = new URL(location, base);
  upload.search = `${upload.search ? `${upload.search}&` : '?'}digest=${encodeURIComponent(digest)}`;
  const put = await fetch(upload, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  await expectStatus(put, 201, `${what} (PUT upload)`);
  return digest;
}

/** Pushes a manifest or index under a tag or digest; resolves the digest of `bytes`. */
export async function pushManifest(
  base: string,
  repo: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<Digest> {
  const digest = sha256Digest(bytes);
  const what = `push manifest ${digest} to ${repo}:${reference}`;
  const response = await fetch(endpoint(base, repo, `manifests/${reference}`), {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  await expectStatus(response, 201, what);
  const claimed = response.headers.get('docker-content-digest');
  if (claimed !== null && claimed !== digest) {
    throw new Error(`${what}: registry stored it as ${claimed}`);
  }
  return digest;
}

export async function deleteManifest(base: string, repo: string, digest: Digest): Promise<void> {
  const response = await fetch(endpoint(base, repo, `manifests/${digest}`), { method: 'DELETE' });
  await expectStatus(response, 202, `delete manifest ${digest} from ${repo}`);
}

// --- OCI image layout (image-spec `image-layout.md`) ---

const descriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: z.custom<Digest>(isDigest, 'expected a sha256 digest'),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
type Descriptor = z.infer<typeof descriptorSchema>;

const layoutIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  manifests: z.array(descriptorSchema),
});

/** Just what the push needs to find a manifest's children. */
const manifestSchema = z.looseObject({
  config: descriptorSchema.optional(),
  layers: z.array(descriptorSchema).optional(),
  manifests: z.array(descriptorSchema).optional(),
});

function parseJson<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new Error(`${what} is not JSON`, { cause: error });
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new Error(`${what} is malformed:\n${z.prettifyError(result.error)}`);
  return result.data;
}

async function readLayoutIndex(layoutDir: string): Promise<Descriptor[]> {
  const path = join(layoutDir, 'index.json');
  return parseJson(layoutIndexSchema, await readFile(path), path).manifests;
}

/** Reads a blob from the layout, checking it is the content its descriptor names. */
async function readLayoutBlob(layoutDir: string, descriptor: Descriptor): Promise<Uint8Array> {
  const path = join(layoutDir, 'blobs', 'sha256', digestHex(descriptor.digest));
  const bytes = await readFile(path);
  const digest = sha256Digest(bytes);
  if (digest !== descriptor.digest || bytes.length !== descriptor.size) {
    throw new Error(
      `${path}: descriptor says ${descriptor.digest} (${descriptor.size} bytes), file is ${digest} (${bytes.length} bytes)`,
    );
  }
  return bytes;
}

/**
 * Pushes the manifest or index `descriptor` names, after everything it refers
 * to: the registry refuses a manifest whose blobs or child manifests it lacks.
 * Children are pushed by digest, so only `reference` gets a tag.
 */
async function pushLayoutDescriptor(
  base: string,
  repo: string,
  layoutDir: string,
  descriptor: Descriptor,
  reference: string,
): Promise<Digest> {
  const bytes = await readLayoutBlob(layoutDir, descriptor);
  const manifest = parseJson(manifestSchema, bytes, `manifest ${descriptor.digest}`);
  for (const child of manifest.manifests ?? []) {
    await pushLayoutDescriptor(base, repo, layoutDir, child, child.digest);
  }
  for (const blob of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) {
    await pushBlob(base, repo, await readLayoutBlob(layoutDir, blob));
  }
  return pushManifest(base, repo, reference, bytes, descriptor.mediaType);
}

/**
 * Pushes the manifest or index tagged `tagInLayout` in an OCI image layout,
 * with all its blobs and child manifests, under `targetTag` (default: the same tag).
 */
export async function pushLayoutImage(
  base: string,
  repo: string,
  layoutDir: string,
  tagInLayout: string,
  targetTag: string = tagInLayout,
): Promise<PushedManifest> {
  const entries = await readLayoutIndex(layoutDir);
  const matches = entries.filter((entry) => entry.annotations?.[REF_NAME_ANNOTATION] === tagInLayout);
  if (matches.length !== 1) {
    const tags = entries.map((entry) => entry.annotations?.[REF_NAME_ANNOTATION]).filter((tag) => tag !== undefined);
    throw new Error(
      `${layoutDir}: ${matches.length} entries tagged ${JSON.stringify(tagInLayout)} (tags: ${tags.join(', ')})`,
    );
  }
  const [descriptor] = matches as [Descriptor];
  const digest = await pushLayoutDescriptor(base, repo, layoutDir, descriptor, targetTag);
  return { tag: targetTag, digest, mediaType: descriptor.mediaType };
}

/** Pushes every tagged entry of an OCI image layout under its own tag, in index order. */
export async function pushLayoutAll(base: string, repo: string, layoutDir: string): Promise<PushedManifest[]> {
  const pushed: PushedManifest[] = [];
  for (const descriptor of await readLayoutIndex(layoutDir)) {
    const tag = descriptor.annotations?.[REF_NAME_ANNOTATION];
    if (tag === undefined) continue;
    const digest = await pushLayoutDescriptor(base, repo, layoutDir, descriptor, tag);
    pushed.push({ tag, digest, mediaType: descriptor.mediaType });
  }
  return pushed;
}
