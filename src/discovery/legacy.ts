import { SIGNATURE_TAG_SUFFIX } from '../cosign/index.ts';
import { SigverifyError } from '../errors.ts';
import type { Limits } from '../limits.ts';
import { type Descriptor, parseManifest } from '../oci/index.ts';
import { type Digest, digestHex } from '../reference/index.ts';
import type { ContentStore } from '../registry/types.ts';
import type { SignatureCandidate } from './candidate.ts';

/**
 * The legacy signature tag of an image digest: `sha256-<hex>.sig`
 * (cosign-formats §1.1, sigstore/cosign `pkg/oci/remote/remote.go`).
 */
export function legacySignatureTag(imageDigest: Digest): string {
  return `sha256-${digestHex(imageDigest)}${SIGNATURE_TAG_SUFFIX}`;
}

/**
 * Finds the legacy signatures of an image: every layer of the manifest at the
 * `.sig` tag is one candidate (cosign-formats §1.2). A missing tag means "no
 * signatures", not an error. No crypto here; layers are fetched and checked
 * by the verifier, one by one.
 */
export async function discoverLegacySignatures(store: ContentStore, imageDigest: Digest, limits: Limits): Promise<SignatureCandidate[]> {
  const tag = legacySignatureTag(imageDigest);
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
