import type { Bundle } from '@sigstore/bundle';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import type { Verifier } from '@sigstore/verify';
import { isBundleV03OrLater, parseBundle } from '../bundle/sigstore-bundle.ts';
import { type InTotoStatement, parseStatement, subjectFor } from '../cosign/index.ts';
import type { BundleCandidate } from '../discovery/index.ts';
import { SignatureRejected, SigverifyError } from '../errors.ts';
import { yieldToEventLoop } from '../io/concurrency.ts';
import { outcomeOfError } from './outcome.ts';
import type { Limits } from '../limits.ts';
import { type Policy, checkAnnotations } from '../policy/index.ts';
import { type Digest, digestHex } from '../reference/index.ts';
import type { ContentStore } from '../registry/types.ts';
import type { TrustRoot } from '../trust-root/index.ts';
import type { SignatureOutcome } from './result.ts';
import { verifyBundleContent } from './bundle-core.ts';
import { quote } from '../text/quote.ts';

/** What a verified statement must be to count: a cosign signature, or an attestation of one predicate type. */
export type Purpose = { readonly kind: 'signature'; readonly predicateType: string } | { readonly kind: 'attestation'; readonly predicateType: string };

export interface BundleContext {
  readonly store: ContentStore;
  readonly imageDigest: Digest;
  /** The image manifest bytes (hash-checked): the artifact of a message-signature bundle. */
  readonly imageManifest: () => Promise<Uint8Array | undefined>;
  readonly policy: Policy;
  readonly purpose: Purpose;
  readonly verifier: Verifier;
  readonly trust: TrustRoot;
  readonly limits: Limits;
}

/**
 * Verifies one Sigstore bundle attached as a referrer (cosign-formats §4.5,
 * with our stricter rules of §4.6): a v0.3+ bundle; for DSSE an in-toto
 * statement whose subject is this digest and whose predicate type is the one
 * asked for (cosign counts any attestation as a signature; we do not); for a
 * message signature, a digest equal to this image's; log entries made by the
 * signing certificate or key; sigstore-js for the cryptography; then the
 * identity policy and the subject's annotations.
 */
export async function verifyBundleSignature(candidate: BundleCandidate, ctx: BundleContext): Promise<SignatureOutcome> {
  const base = { format: candidate.format, origin: candidate.origin, payloadDigest: candidate.layer.digest } as const;
  try {
    return { ...base, outcome: 'verified', ...(await checkBundle(candidate, ctx)) };
  } catch (error) {
    return { ...base, ...outcomeOfError(error) };
  }
}

type Verified = Omit<SignatureOutcome, 'format' | 'origin' | 'payloadDigest' | 'outcome'>;

async function checkBundle(candidate: BundleCandidate, ctx: BundleContext): Promise<Verified> {
  const { layer } = candidate;
  if (layer.size > ctx.limits.maxBundleBytes) {
    throw new SignatureRejected('LAYER_TOO_LARGE', `bundle declares ${layer.size} bytes (limit ${ctx.limits.maxBundleBytes})`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await ctx.store.getBlob(layer.digest, layer.size, ctx.limits.maxBundleBytes);
  } catch (error) {
    if (error instanceof SigverifyError && error.code === 'DIGEST_MISMATCH') {
      throw new SignatureRejected('LAYER_DIGEST_MISMATCH', `bundle does not match its digest ${layer.digest}`, { cause: error });
    }
    throw error;
  }
  await yieldToEventLoop();
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

function bindToImage(bundle: Bundle, ctx: BundleContext): Bound {
  const content = bundle.content;
  if (content.$case === 'dsseEnvelope') {
    const statement = parseStatement(content.dsseEnvelope.payloadType, content.dsseEnvelope.payload);
    const subject = subjectFor(statement, ctx.imageDigest);
    if (statement.predicateType !== ctx.purpose.predicateType) {
      throw new SignatureRejected(
        'PREDICATE_TYPE_MISMATCH',
        `statement predicate type is ${quote(statement.predicateType)}, ${ctx.purpose.kind === 'signature' ? 'not a cosign signature' : 'not the one asked for'} (${quote(ctx.purpose.predicateType)})`,
      );
    }
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
