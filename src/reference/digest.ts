import { createHash } from 'node:crypto';

/**
 * Content digests. sigverify only accepts sha256 digests: that is what cosign
 * signs (`docker-manifest-digest`) and what every registry in use computes.
 * A digest is always `sha256:` followed by 64 lowercase hex characters
 * (OCI image-spec `descriptor.md`, "Digests"); anything else is refused, so
 * string comparison of digests is exact comparison.
 */
export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

export function sha256Digest(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The hex part of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}
