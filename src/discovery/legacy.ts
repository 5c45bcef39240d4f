import { ATTESTATION_TAG_SUFFIX, SIGNATURE_TAG_SUFFIX } from '../cosign/index.ts';
import { SigverifyError } from '../errors.ts';
import type { Limits } from '../limits.ts';
import { type Descriptor, parseManifest } from '../oci/index.ts';
import { type Digest, digestHex } from '../reference/index.ts';
import type { ContentStore } from '../registry/types.ts';
import type { LegacyCandidate } from './candidate.ts';

/** `.sig` holds signatures, `.att` attestations (docs/formats.md §1.1, §3). */
export type LegacySuffix = typeof SIGNATURE_TAG_SUFFIX | typeof ATTESTATION_TAG_SUFFIX;

/**
 * The legacy tag of an image digest: `sha256-<hex>.sig` or `.att`
 * (docs/formats.md §1.1, sigstore/cosign `pkg/oci/remote/remote.go`).
 */
export function legacySignatureTag(imageDigest: Digest, suffix: LegacySuffix = SIGNATURE_TAG_SUFFIX): string {
  return `sha256-${digestHex(imageDigest)}${suffix}`;
}

/**
 * Finds the legacy signatures of an image: every layer of the manifest at the
 * `.sig` tag is one candidate (docs/formats.md §1.2). A missing tag means "no
 * signatures", not an error. No crypto here; layers are fetched and checked
 * by the verifier, one by one.
 */
export async function discoverLegacySignatures(
  store: ContentStore,
  imageDigest: Digest,
  limits: Limits,
  suffix: LegacySuffix = SIGNATURE_TAG_SUFFIX,
): Promise<LegacyCandidate[]> {
  const tag = legacySignatureTag(imageDigest, suffix);
  const fetched = await store.getManifest(tag);
  if (fetched === undefined) return [];
  const where = `${store.description}:${tag}`;
  const manifest = parseManifest(fetched.bytes, where, limits);
  if (manifest.kind !== 'manifest') {
    throw new SigverifyError('MANIFEST_INVALID', `${where} is an index, not a cosign signature manifest`, { details: { digest: fetched.digest } });
  }
  // cosign reads at most 1000 layers (pkg/oci/remote/signatures.go). Beyond the
  // cap we refuse rather than silently evaluate a subset.
  if (manifest.layers.length > limits.maxSignatureLayers) {
    throw new SigverifyError('LIMIT_EXCEEDED', `${where} has ${manifest.layers.length} signature layers (limit ${limits.maxSignatureLayers})`, {
      details: { digest: fetched.digest },
    });
  }
  return manifest.layers.map((layer: Descriptor, index: number) => ({
    format: 'cosign-legacy',
    origin: `${where} layer ${index}`,
    manifestDigest: fetched.digest,
    layer,
  }));
}
