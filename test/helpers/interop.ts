import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { z } from 'zod';
import type { SignatureLayer } from './sigstore/cosign-legacy.ts';
import { type OciObject, makeSignatureManifest, signatureTag, writeOciLayout } from './sigstore/oci-layout.ts';
import { type Digest, sha256Digest } from '../../src/reference/index.ts';

/**
 * Real-world signatures live in `../shared/interop/` (never copied into the
 * repository). Interop suites skip, loudly, when it is absent.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INTEROP_DIR = process.env['SIGVERIFY_INTEROP_DIR'] ?? resolve(repoRoot, '..', 'shared', 'interop');
export const interopAvailable = existsSync(join(INTEROP_DIR, 'README.md'));

export function describeInterop(name: string, fn: () => void): void {
  if (!interopAvailable) {
    console.warn(`SKIPPED interop suite "${name}": ${INTEROP_DIR} not found (clone the shared/ data beside the repository)`);
  }
  describe.skipIf(!interopAvailable)(name, fn);
}

export function interopPath(...parts: string[]): string {
  return join(INTEROP_DIR, ...parts);
}

export function interopBytes(...parts: string[]): Buffer {
  return readFileSync(interopPath(...parts));
}

export function interopText(...parts: string[]): string {
  return readFileSync(interopPath(...parts), 'utf8');
}

/** The public-good trusted root as of 2026-08 (interop README §4). */
export const PG_TRUSTED_ROOT = (): string => interopPath('root-signing', 'targets', 'trusted_root.json');

const DirSignatureSchema = z.object({
  mimeType: z.string(),
  payload: z.base64(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/**
 * containers/image's `dir:` signature file (interop README §2.1): 0x00,
 * "sigstore-json\n", then {mimeType, payload, annotations}: one `.sig` layer.
 */
export function readDirSignature(...parts: string[]): SignatureLayer {
  const bytes = interopBytes(...parts);
  const prefix = Buffer.from('\0sigstore-json\n');
  if (!bytes.subarray(0, prefix.length).equals(prefix)) throw new Error(`${parts.join('/')} is not a sigstore-json dir signature`);
  const parsed = DirSignatureSchema.parse(JSON.parse(bytes.subarray(prefix.length).toString('utf8')));
  return { mediaType: parsed.mimeType, payload: Buffer.from(parsed.payload, 'base64'), annotations: parsed.annotations ?? {} };
}

/** A manifest given as raw bytes, with none of its blobs (verification never reads them). */
export function rawManifest(bytes: Buffer, mediaType = 'application/vnd.oci.image.manifest.v1+json'): OciObject {
  return { mediaType, manifestBytes: bytes, digest: sha256Digest(bytes), blobs: new Map(), manifests: [] };
}

export interface ReplayedLayout {
  readonly dir: string;
  cleanup(): Promise<void>;
}

/**
 * Writes an OCI layout holding `image` (tagged `image`, when given) and the
 * `.sig` manifest of `imageDigest` built from `layers`.
 */
export async function replayLegacy(imageDigest: Digest, layers: readonly SignatureLayer[], image?: OciObject): Promise<ReplayedLayout> {
  const dir = await mkdtemp(join(tmpdir(), 'sigverify-interop-'));
  const entries = [
    ...(image === undefined ? [] : [{ object: image, tag: 'image' }]),
    ...(layers.length === 0 ? [] : [{ object: makeSignatureManifest(layers), tag: signatureTag(imageDigest) }]),
  ];
  await writeOciLayout(dir, entries);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
