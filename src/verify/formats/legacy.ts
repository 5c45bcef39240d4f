import type { X509Certificate } from '@sigstore/core';
import * as z from 'zod';
import { type LegacyBundle, legacyCertificateDer, legacyLayerToBundle } from '../../bundle/legacy.ts';
import {
  ATTESTATION_TAG_SUFFIX,
  DSSE_ENVELOPE_MEDIA_TYPE,
  type LegacyLayerAnnotations,
  SIGNATURE_TAG_SUFFIX,
  SIMPLE_SIGNING_MEDIA_TYPE,
  assertCosignSignatureType,
  parseLegacyAnnotations,
  parseSimpleSigningPayload,
  parseStatement,
  subjectFor,
} from '../../cosign/index.ts';
import { type LegacyCandidate, discoverLegacySignatures, legacySignatureTag } from '../../discovery/index.ts';
import { SignatureRejected } from '../../errors.ts';
import { parseJson } from '../../json/parse.ts';
import { checkAnnotations } from '../../policy/index.ts';
import { digestHex } from '../../reference/index.ts';
import { quote } from '../../text/quote.ts';
import { verifyChainAt, verifyEmbeddedSct, verifyPayloadSignature } from '../chain.ts';
import { tlogSummary } from '../result.ts';
import { type SigningMaterial, checkMaterialMatchesPolicy, checkSigner, checkTlogSigner } from '../signer.ts';
import { runSigstore } from '../sigstore.ts';
import { type FormatContext, type SignatureFormat, type Verified, checkPredicateType, fetchCandidateBlob } from './format.ts';

/**
 * Legacy cosign storage (docs/formats.md §1, §3): the layers of the manifest
 * at the image's `sha256-<hex>.sig` tag (signatures: simple-signing payloads)
 * or `.att` tag (attestations: DSSE envelopes). Each layer is checked in the
 * order docs/formats.md §8.2 lays out: fetch (hash first), parse, bind to the
 * image digest, compare the Rekor entry with the signing key, let sigstore-js
 * check the cryptography, then the identity policy and the annotation claims.
 */
export const legacyFormat: SignatureFormat<LegacyCandidate> = {
  format: 'cosign-legacy',

  async discover(store, imageDigest, purpose, limits) {
    const suffix = purpose.kind === 'signature' ? SIGNATURE_TAG_SUFFIX : ATTESTATION_TAG_SUFFIX;
    const candidates = await discoverLegacySignatures(store, imageDigest, limits, suffix);
    return { candidates, summary: { legacyTag: legacySignatureTag(imageDigest, suffix), legacySignatures: candidates.length } };
  },

  verify(candidate, ctx) {
    // Only layers of the expected media type are signatures (containers/image does the same);
    // anything else is reported and skipped (docs/formats.md §1.3).
    const expected = ctx.purpose.kind === 'signature' ? SIMPLE_SIGNING_MEDIA_TYPE : DSSE_ENVELOPE_MEDIA_TYPE;
    if (candidate.layer.mediaType !== expected) {
      throw new SignatureRejected('LAYER_MEDIA_TYPE', `layer media type ${quote(candidate.layer.mediaType)} is not ${expected}`);
    }
    return ctx.purpose.kind === 'signature' ? checkSignatureLayer(candidate, ctx) : checkAttestationLayer(candidate, ctx);
  },
};

/** A `.sig` layer: the simple-signing payload must name this digest (cosign `--check-claims`, pkg/cosign/verifiers.go). */
async function checkSignatureLayer(candidate: LegacyCandidate, ctx: FormatContext): Promise<Verified> {
  const annotations = parseLegacyAnnotations(candidate.layer.annotations);
  const payload = await fetchCandidateBlob(candidate, ctx, ctx.limits.maxSignatureBlobBytes);
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
async function checkAttestationLayer(candidate: LegacyCandidate, ctx: FormatContext): Promise<Verified> {
  const annotations = parseLegacyAnnotations(candidate.layer.annotations, 'attestation');
  const bytes = await fetchCandidateBlob(candidate, ctx, ctx.limits.maxBundleBytes);
  const envelope = parseJson(EnvelopeSchema, bytes, (reason, cause) => new SignatureRejected('PAYLOAD_INVALID', `attestation layer is not a DSSE envelope: ${reason}`, { cause }));
  const statement = parseStatement(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
  const subject = subjectFor(statement, ctx.imageDigest);
  checkPredicateType(statement, ctx.purpose);
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
  ctx: FormatContext,
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
  let parsed: X509Certificate | undefined;
  if (ctx.policy.mode === 'keyless' && converted.tlog === undefined && timestamps === 0) {
    // No trusted time at all: only possible with --insecure-ignore-tlog.
    // sigstore-js cannot verify a certificate without a timestamp (docs/formats.md pitfall 9);
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
    parsed = runSigstore(ctx.verifier, converted.bundle, artifact);
  }
  return { ...checkSigner(material, ctx.policy, parsed), ...(converted.tlog === undefined ? {} : { tlog: tlogSummary(converted.tlog.bundle) }) };
}
