import type { Bundle } from '@sigstore/bundle';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { isBundleV03OrLater, parseBundle } from '../../bundle/sigstore-bundle.ts';
import { type InTotoStatement, parseStatement, subjectFor } from '../../cosign/index.ts';
import { type BundleCandidate, discoverBundles } from '../../discovery/index.ts';
import { SignatureRejected } from '../../errors.ts';
import { checkAnnotations } from '../../policy/index.ts';
import { digestHex } from '../../reference/index.ts';
import { quote } from '../../text/quote.ts';
import { verifyBundleContent } from '../bundle-core.ts';
import { type FormatContext, type SignatureFormat, type Verified, checkPredicateType, fetchCandidateBlob } from './format.ts';

/**
 * cosign v3 storage (docs/formats.md §2.3–2.5, §4.5, with the stricter rules
 * of §4.6): Sigstore bundles attached to the image as OCI 1.1 referrers,
 * listed by the referrers API or the fallback tag. A candidate counts when it
 * is a v0.3+ bundle; for DSSE, an in-toto statement whose subject is this
 * digest and whose predicate type is the one asked for (cosign counts any
 * attestation as a signature; we do not); for a message signature, a digest
 * equal to this image's; log entries made by the signing certificate or key;
 * sigstore-js for the cryptography; then the identity policy and the
 * subject's annotations.
 */
export const bundleFormat: SignatureFormat<BundleCandidate> = {
  format: 'sigstore-bundle',

  async discover(store, imageDigest, _purpose, limits) {
    const found = await discoverBundles(store, imageDigest, limits);
    return {
      candidates: found.candidates,
      summary: { referrers: found.source, skippedReferrers: found.skipped.map((r) => ({ origin: r.origin, code: r.code, reason: r.reason })) },
    };
  },

  verify: checkBundle,
};

async function checkBundle(candidate: BundleCandidate, ctx: FormatContext): Promise<Verified> {
  const bytes = await fetchCandidateBlob(candidate, ctx, ctx.limits.maxBundleBytes);
  const { bundle, json } = parseBundle(bytes);
  // cosign reads only v0.3+ bundles from referrers (pkg/oci/remote/signatures.go).
  if (!isBundleV03OrLater(bundle.mediaType)) {
    throw new SignatureRejected('BUNDLE_UNSUPPORTED', `bundle media type ${quote(bundle.mediaType)} is older than v0.3`);
  }

  // Bind to this image before any cryptography: what does the bundle say it signed?
  const bound = bindToImage(bundle, ctx);
  // A message signature signs the manifest bytes themselves.
  const artifactBytes = bound.needsManifest ? await ctx.imageManifest() : undefined;
  if (bound.needsManifest && artifactBytes === undefined) {
    throw new SignatureRejected('PAYLOAD_INVALID', `the image manifest ${ctx.imageDigest} is not available to check a message signature`);
  }

  const artifact = artifactBytes === undefined ? { kind: 'envelope' as const } : { kind: 'bytes' as const, bytes: Buffer.from(artifactBytes) };
  const verified = verifyBundleContent(bundle, json, artifact, ctx.policy, ctx.verifier, ctx.trust.trustedRoot);
  checkAnnotations(ctx.policy.annotations, bound.annotations);
  return {
    ...verified,
    ...(bound.statement === undefined ? {} : { predicateType: bound.statement.predicateType }),
    ...(ctx.purpose.kind === 'attestation' && bound.statement !== undefined ? { statement: bound.statement } : {}),
  };
}

interface Bound {
  /** A message signature over the image manifest: its bytes are the artifact. */
  readonly needsManifest: boolean;
  readonly annotations: Readonly<Record<string, unknown>>;
  readonly statement?: InTotoStatement;
}

function bindToImage(bundle: Bundle, ctx: FormatContext): Bound {
  const content = bundle.content;
  if (content.$case === 'dsseEnvelope') {
    const statement = parseStatement(content.dsseEnvelope.payloadType, content.dsseEnvelope.payload);
    const subject = subjectFor(statement, ctx.imageDigest);
    checkPredicateType(statement, ctx.purpose);
    // The DSSE signature covers the statement itself; no artifact is needed.
    return { needsManifest: false, annotations: subject.annotations ?? {}, statement };
  }
  // A message signature over the image manifest: its digest must be this image's.
  const { messageDigest } = content.messageSignature;
  if (messageDigest.algorithm !== HashAlgorithm.SHA2_256 || !messageDigest.digest.equals(Buffer.from(digestHex(ctx.imageDigest), 'hex'))) {
    throw new SignatureRejected('PAYLOAD_DIGEST_MISMATCH', `bundle message digest is not ${ctx.imageDigest}`);
  }
  if (ctx.purpose.kind === 'attestation') {
    throw new SignatureRejected('PREDICATE_TYPE_MISMATCH', 'a message signature is not an attestation');
  }
  return { needsManifest: true, annotations: {} };
}
