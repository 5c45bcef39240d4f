import { type Bundle, type SerializedBundle, bundleFromJSON } from '@sigstore/bundle';
import { SignatureRejected } from '../errors.ts';

/**
 * Sigstore bundles as stored by cosign v3 and actions/attest
 * (docs/formats.md §2.2, §2.5). Parsing is @sigstore/bundle's (it validates
 * the protobuf-specs shape per version); we add what it does not decide.
 */

/** Media types of bundle v0.3 and later; cosign only reads these from referrers (`pkg/oci/remote/signatures.go`). */
const V03_OR_LATER = /^application\/vnd\.dev\.sigstore\.bundle(?:\.v0\.([3-9]|[1-9]\d+)\+json|\+json;version=0\.([3-9]|[1-9]\d+))$/;

export function isBundleV03OrLater(mediaType: string): boolean {
  return V03_OR_LATER.test(mediaType);
}

/** Parses bundle JSON bytes; any shape error is a refusal of this signature, never a crash. */
export function parseBundle(bytes: Uint8Array): { bundle: Bundle; json: SerializedBundle } {
  let json: SerializedBundle;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as SerializedBundle;
  } catch (cause) {
    throw new SignatureRejected('BUNDLE_INVALID', 'Sigstore bundle is not JSON', { cause });
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (cause) {
    throw new SignatureRejected('BUNDLE_INVALID', `not a valid Sigstore bundle: ${(cause as Error).message}`, { cause });
  }
  // bundleFromJSON reads a missing or non-array `tlogEntries` as none; the
  // JSON we keep must say the same. protobuf JSON omits an empty repeated
  // field (Go's protojson does), so absent is none; anything else but an array
  // is malformed. Found by the fuzz suite (test/fuzz/bundle.test.ts): either
  // made dedupeTlogEntries throw a TypeError instead of a typed refusal.
  const tlogEntries: unknown = json.verificationMaterial.tlogEntries;
  if (tlogEntries === undefined) json = { ...json, verificationMaterial: { ...json.verificationMaterial, tlogEntries: [] } };
  else if (!Array.isArray(tlogEntries)) throw new SignatureRejected('BUNDLE_INVALID', 'not a valid Sigstore bundle: verificationMaterial.tlogEntries is not an array');
  return { bundle, json };
}

/** The leaf certificate of a bundle (v0.3 `certificate`, or the first of an older `x509CertificateChain`). */
export function bundleCertificateDer(bundle: Bundle): Buffer | undefined {
  const content = bundle.verificationMaterial.content;
  if (content.$case === 'certificate') return content.certificate.rawBytes;
  if (content.$case === 'x509CertificateChain') return content.x509CertificateChain.certificates[0]?.rawBytes;
  return undefined;
}

/**
 * The same log entry twice is one piece of evidence (docs/formats.md pitfall 8): @sigstore/verify
 * 4.1.1+ rejects duplicates, older lines counted them toward the threshold.
 * Keeping the first of each (log ID, log index) makes both behave alike.
 */
export function dedupeTlogEntries(json: SerializedBundle): SerializedBundle {
  const entries = json.verificationMaterial.tlogEntries;
  const seen = new Set<string>();
  const unique = entries.filter((e) => {
    const key = `${e.logId.keyId}/${e.logIndex}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.length === entries.length ? json : { ...json, verificationMaterial: { ...json.verificationMaterial, tlogEntries: unique } };
}
