import type { Verifier } from '@sigstore/verify';
import { z } from 'zod';
import { type LegacyBundle, legacyCertificateDer, legacyLayerToBundle } from '../bundle/legacy.ts';
import {
  DSSE_ENVELOPE_MEDIA_TYPE,
  type LegacyLayerAnnotations,
  SIMPLE_SIGNING_MEDIA_TYPE,
  assertCosignSignatureType,
  parseLegacyAnnotations,
  parseSimpleSigningPayload,
  parseStatement,
  subjectFor,
} from '../cosign/index.ts';
import type { LegacyCandidate } from '../discovery/index.ts';
import { SignatureRejected, SigverifyError } from '../errors.ts';
import { yieldToEventLoop } from '../io/concurrency.ts';
import { outcomeOfError } from './outcome.ts';
import { parseJson } from '../json/parse.ts';
import type { Limits } from '../limits.ts';
import { type Policy, checkAnnotations } from '../policy/index.ts';
import { type Digest, digestHex } from '../reference/index.ts';
import type { ContentStore } from '../registry/types.ts';
import type { TrustRoot } from '../trust-root/index.ts';
import type { Purpose } from './bundle-signature.ts';
import { verifyChainAt, verifyEmbeddedSct, verifyPayloadSignature } from './chain.ts';
import { type SignatureOutcome, tlogSummary } from './result.ts';
import { type SigningMaterial, checkMaterialMatchesPolicy, checkSigner, checkTlogSigner } from './signer.ts';
import { runSigstore } from './sigstore.ts';
import { quote } from '../text/quote.ts';

export interface LegacyContext {
  readonly store: ContentStore;
  readonly imageDigest: Digest;
  readonly policy: Policy;
  readonly purpose: Purpose;
  readonly verifier: Verifier;
  readonly trust: TrustRoot;
  readonly limits: Limits;
}

type Verified = Omit<SignatureOutcome, 'format' | 'origin' | 'payloadDigest' | 'outcome'>;

/**
 * Verifies one legacy layer, in the order cosign-formats §8.2 lays out: fetch
 * (hash first), parse, bind to the image digest, compare the Rekor entry with
 * the signing key, let sigstore-js check the cryptography, then apply the
 * identity policy and the annotation claims. `.sig` layers hold simple-signing
 * payloads, `.att` layers DSSE envelopes (§3). Returns the outcome; a refusal
 * is an outcome too, never an exception, so every layer is reported.
 */
export async function verifyLegacySignature(candidate: LegacyCandidate, ctx: LegacyContext): Promise<SignatureOutcome> {
  const base = { format: candidate.format, origin: candidate.origin, payloadDigest: candidate.layer.digest } as const;
  // Only layers of the expected media type are signatures (containers/image
  // does the same); anything else is reported and skipped (cosign-formats §1.3).
  const expected = ctx.purpose.kind === 'signature' ? SIMPLE_SIGNING_MEDIA_TYPE : DSSE_ENVELOPE_MEDIA_TYPE;
  if (candidate.layer.mediaType !== expected) {
    return { ...base, outcome: 'skipped', reason: { code: 'LAYER_MEDIA_TYPE', message: `layer media type ${quote(candidate.layer.mediaType)} is not ${expected}` } };
  }
  try {
    const verified = ctx.purpose.kind === 'signature' ? await checkSignatureLayer(candidate, ctx) : await checkAttestationLayer(candidate, ctx);
    return { ...base, outcome: 'verified', ...verified };
  } catch (error) {
    return { ...base, ...outcomeOfError(error) };
  }
}

/** A `.sig` layer: the simple-signing payload must name this digest (cosign `--check-claims`, pkg/cosign/verifiers.go). */
async function checkSignatureLayer(candidate: LegacyCandidate, ctx: LegacyContext): Promise<Verified> {
  const annotations = parseLegacyAnnotations(candidate.layer.annotations);
  const payload = await fetchLayer(candidate, ctx, ctx.limits.maxSignatureBlobBytes);
  const claims = parseSimpleSigningPayload(payload);
  if (claims.imageDigest !== ctx.imageDigest) {
    throw new SignatureRejected('PAYLOAD_DIGEST_MISMATCH', `signature is for ${claims.imageDigest}, not for ${ctx.imageDigest}`);
  }
  assertCosignSignatureType(claims);
  const content = { kind: 'message', signature: annotations.signature, payloadSha256: Buffer.from(digestHex(candidate.layer.digest), 'hex') } as const;
  const verified = verifyConverted(annotations, content, ctx, payload);
  checkAnnotations(ctx.policy.annotations, claims.optional);
  return verified;
}

const EnvelopeSchema = z.object({
  payloadType: z.string(),
  payload: z.base64(),
  // A DSSE envelope in a bundle holds exactly one signature (sigstore-go, @sigstore/bundle).
  signatures: z.array(z.looseObject({ sig: z.base64().min(1), keyid: z.string().optional() })).length(1),
});

/** An `.att` layer: a DSSE envelope whose in-toto statement names this digest and the predicate type asked for. */
async function checkAttestationLayer(candidate: LegacyCandidate, ctx: LegacyContext): Promise<Verified> {
  const annotations = parseLegacyAnnotations(candidate.layer.annotations, 'attestation');
  const bytes = await fetchLayer(candidate, ctx, ctx.limits.maxBundleBytes);
  const envelope = parseJson(EnvelopeSchema, bytes, (reason, cause) => new SignatureRejected('PAYLOAD_INVALID', `attestation layer is not a DSSE envelope: ${reason}`, { cause }));
  const statement = parseStatement(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
  const subject = subjectFor(statement, ctx.imageDigest);
  if (statement.predicateType !== ctx.purpose.predicateType) {
    throw new SignatureRejected('PREDICATE_TYPE_MISMATCH', `statement predicate type is ${quote(statement.predicateType)}, not ${quote(ctx.purpose.predicateType)}`);
  }
  const signature = (envelope.signatures[0] as { sig: string }).sig;
  const content = { kind: 'dsse', payload: envelope.payload, payloadType: envelope.payloadType, signature } as const;
  const verified = verifyConverted(annotations, content, ctx, undefined);
  checkAnnotations(ctx.policy.annotations, subject.annotations ?? {});
  return { ...verified, predicateType: statement.predicateType, statement };
}

/** The checks every legacy layer shares once its content is known. */
function verifyConverted(
  annotations: LegacyLayerAnnotations,
  content: Parameters<typeof legacyLayerToBundle>[2],
  ctx: LegacyContext,
  artifact: Buffer | undefined,
): Verified {
  const material: SigningMaterial = { certificateDer: legacyCertificateDer(annotations) };
  checkMaterialMatchesPolicy(material, ctx.policy);
  const converted: LegacyBundle = legacyLayerToBundle(annotations, ctx.policy.mode === 'keyless' ? material.certificateDer : undefined, content);

  if (converted.tlog === undefined && ctx.policy.requireTlog) {
    throw new SignatureRejected('TLOG_MISSING', 'signature has no transparency-log entry (Rekor bundle annotation); pass --insecure-ignore-tlog only if signatures are made without Rekor');
  }
  if (converted.tlog !== undefined) {
    checkTlogSigner(converted.tlog.body, material, ctx.policy);
    if (!converted.tlog.body.signatures.some((s) => Buffer.from(s, 'base64').equals(Buffer.from(content.signature, 'base64')))) {
      throw new SignatureRejected('TLOG_SIGNATURE_MISMATCH', 'the Rekor entry records a different signature');
    }
  }

  const timestamps = converted.bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  if (ctx.policy.mode === 'keyless' && converted.tlog === undefined && timestamps === 0) {
    // No trusted time at all: only possible with --insecure-ignore-tlog.
    // sigstore-js cannot verify a certificate without a timestamp (pitfall 9);
    // check the chain at the current time ourselves, as cosign does.
    if (content.kind !== 'message' || artifact === undefined) {
      throw new SignatureRejected('NO_TRUSTED_TIME', 'attestation has neither a transparency-log entry nor a timestamp');
    }
    const leaf = material.certificateDer as Buffer;
    const issuer = verifyChainAt(leaf, ctx.trust.trustedRoot, new Date());
    // cosign requires an SCT here too (unless --insecure-ignore-sct); the trust root says whether CT is part of trust.
    if (ctx.policy.requireSct && ctx.trust.trustedRoot.ctlogs.length > 0) verifyEmbeddedSct(leaf, issuer, ctx.trust.trustedRoot);
    verifyPayloadSignature(leaf, artifact, content.signature);
  } else {
    runSigstore(ctx.verifier, converted.bundle, artifact);
  }
  return { ...checkSigner(material, ctx.policy), ...(converted.tlog === undefined ? {} : { tlog: tlogSummary(converted.tlog.bundle) }) };
}

async function fetchLayer(candidate: LegacyCandidate, ctx: LegacyContext, maxBytes: number): Promise<Buffer> {
  const { digest, size } = candidate.layer;
  if (size > maxBytes) throw new SignatureRejected('LAYER_TOO_LARGE', `signature layer declares ${size} bytes (limit ${maxBytes})`);
  try {
    const bytes = Buffer.from(await ctx.store.getBlob(digest, size, maxBytes));
    await yieldToEventLoop();
    return bytes;
  } catch (error) {
    if (error instanceof SigverifyError && error.code === 'DIGEST_MISMATCH') {
      throw new SignatureRejected('LAYER_DIGEST_MISMATCH', `signature layer does not match its digest ${digest}`, { cause: error });
    }
    throw error;
  }
}
