import type { Verifier } from '@sigstore/verify';
import { legacyLayerToBundle } from '../bundle/legacy.ts';
import { pemBlocks } from '../bundle/pem.ts';
import { SIMPLE_SIGNING_MEDIA_TYPE, assertCosignSignatureType, parseLegacyAnnotations, parseSimpleSigningPayload } from '../cosign/index.ts';
import type { SignatureCandidate } from '../discovery/index.ts';
import { SignatureRejected, SigverifyError } from '../errors.ts';
import type { Limits } from '../limits.ts';
import { type Policy, certificateIdentity, checkAnnotations, checkIdentity, parseCertificate } from '../policy/index.ts';
import { type Digest, digestHex } from '../reference/index.ts';
import type { ContentStore } from '../registry/types.ts';
import type { TrustRoot } from '../trust-root/index.ts';
import { checkCodeSigningEku, verifyChainAt, verifyPayloadSignature } from './chain.ts';
import type { SignatureOutcome } from './result.ts';
import { runSigstore } from './sigstore.ts';

export interface LegacyContext {
  readonly store: ContentStore;
  readonly imageDigest: Digest;
  readonly policy: Policy;
  readonly verifier: Verifier;
  readonly trust: TrustRoot;
  readonly limits: Limits;
}

/**
 * Verifies one legacy `.sig` layer, in the order cosign-formats §8.2 lays out:
 * fetch (hash first), parse, bind to the image digest, compare the Rekor
 * entry with the signing key, let sigstore-js check the cryptography, then
 * apply the identity policy and the annotation claims. Returns the outcome;
 * a refusal is an outcome too, never an exception, so every layer is reported.
 */
export async function verifyLegacySignature(candidate: SignatureCandidate, ctx: LegacyContext): Promise<SignatureOutcome> {
  const base = { format: candidate.format, origin: candidate.origin, payloadDigest: candidate.layer.digest } as const;
  // Only simple-signing layers are signatures (containers/image does the same);
  // anything else is reported and skipped (cosign-formats §1.3).
  if (candidate.layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
    return { ...base, outcome: 'skipped', reason: { code: 'LAYER_MEDIA_TYPE', message: `layer media type ${candidate.layer.mediaType.slice(0, 100)} is not a cosign signature` } };
  }
  try {
    return { ...base, outcome: 'verified', ...(await checkLegacyLayer(candidate, ctx)) };
  } catch (error) {
    if (error instanceof SignatureRejected) {
      const sigstoreCode = (error as { sigstoreCode?: string }).sigstoreCode;
      return { ...base, outcome: 'failed', reason: { code: error.code, message: error.message, ...(sigstoreCode === undefined ? {} : { sigstoreCode }) } };
    }
    if (error instanceof SigverifyError) {
      return { ...base, outcome: error.kind === 'unavailable' ? 'unavailable' : 'failed', reason: { code: error.code, message: error.message } };
    }
    throw error;
  }
}

type Verified = Omit<SignatureOutcome, 'format' | 'origin' | 'payloadDigest' | 'outcome'>;

async function checkLegacyLayer(candidate: SignatureCandidate, ctx: LegacyContext): Promise<Verified> {
  const { layer } = candidate;
  const annotations = parseLegacyAnnotations(layer.annotations);
  if (layer.size > ctx.limits.maxSignatureBlobBytes) {
    throw new SignatureRejected('LAYER_TOO_LARGE', `signature payload declares ${layer.size} bytes (limit ${ctx.limits.maxSignatureBlobBytes})`);
  }
  const payload = Buffer.from(await fetchPayload(ctx.store, layer.digest, layer.size, ctx.limits));

  // The binding between signature and image (cosign `--check-claims`,
  // pkg/cosign/verifiers.go): the signed payload must name this digest.
  const claims = parseSimpleSigningPayload(payload);
  if (claims.imageDigest !== ctx.imageDigest) {
    throw new SignatureRejected('PAYLOAD_DIGEST_MISMATCH', `signature is for ${claims.imageDigest}, not for ${ctx.imageDigest}`);
  }
  assertCosignSignatureType(claims);

  const mode = ctx.policy.mode === 'keyless' ? 'certificate' : 'public-key';
  const converted = legacyLayerToBundle(annotations, mode, Buffer.from(digestHex(layer.digest), 'hex'));
  checkCertificateKey(converted.certificateDer, ctx.policy);

  if (converted.tlog === undefined && ctx.policy.requireTlog) {
    throw new SignatureRejected('TLOG_MISSING', 'signature has no transparency-log entry (Rekor bundle annotation); pass --insecure-ignore-tlog only if signatures are made without Rekor');
  }
  if (converted.tlog !== undefined) {
    // sigstore-js compares signature and digest with the Rekor body but not the
    // key (pitfall 7); cosign's comparePublicKey does. So do we.
    if (!tlogVerifierMatches(converted.tlog.body.verifierPem, converted.certificateDer, ctx.policy)) {
      throw new SignatureRejected('TLOG_KEY_MISMATCH', 'the Rekor entry was made with a different key or certificate than this signature');
    }
    if (!Buffer.from(converted.tlog.body.signature, 'base64').equals(Buffer.from(annotations.signature, 'base64'))) {
      throw new SignatureRejected('TLOG_SIGNATURE_MISMATCH', 'the Rekor entry records a different signature');
    }
  }

  if (ctx.policy.mode === 'keyless' && converted.tlog === undefined && annotations.rfc3161 === undefined) {
    // No trusted time at all: only possible with --insecure-ignore-tlog.
    // sigstore-js cannot verify a certificate without a timestamp (pitfall 9);
    // check the chain at the current time ourselves, as cosign does.
    const leaf = converted.certificateDer as Buffer;
    verifyChainAt(leaf, ctx.trust.trustedRoot, new Date());
    verifyPayloadSignature(leaf, payload, annotations.signature);
  } else {
    runSigstore(ctx.verifier, converted.bundle, payload);
  }
  if (converted.certificateDer !== undefined && ctx.policy.mode === 'keyless') checkCodeSigningEku(converted.certificateDer);
  checkAnnotations(ctx.policy.annotations, claims.optional);

  const tlog = converted.tlog === undefined
    ? {}
    : {
        tlog: {
          logId: converted.tlog.bundle.logIdHex,
          logIndex: converted.tlog.bundle.logIndex,
          integratedTime: new Date(converted.tlog.bundle.integratedTime * 1000).toISOString(),
        },
      };
  if (ctx.policy.mode === 'key') return { publicKey: true, ...tlog };

  const identity = certificateIdentity(parseCertificate(converted.certificateDer as Buffer<ArrayBuffer>));
  checkIdentity(ctx.policy, identity);
  return {
    ...(identity.primarySan === undefined ? {} : { identity: identity.primarySan.value, identityKind: identity.primarySan.kind }),
    ...(identity.issuer === undefined ? {} : { issuer: identity.issuer }),
    ...(Object.keys(identity.githubWorkflow).length === 0 ? {} : { githubWorkflow: identity.githubWorkflow }),
    ...tlog,
  };
}

async function fetchPayload(store: ContentStore, digest: Digest, size: number, limits: Limits): Promise<Uint8Array> {
  try {
    return await store.getBlob(digest, size, limits.maxSignatureBlobBytes);
  } catch (error) {
    if (error instanceof SigverifyError && error.code === 'DIGEST_MISMATCH') {
      throw new SignatureRejected('LAYER_DIGEST_MISMATCH', `signature payload does not match its digest ${digest}`, { cause: error });
    }
    throw error;
  }
}

/**
 * In key mode a certificate on the layer must carry the policy key
 * (cosign-formats §4.4).
 */
function checkCertificateKey(certificateDer: Buffer<ArrayBuffer> | undefined, policy: Policy): void {
  if (policy.mode !== 'key' || certificateDer === undefined) return;
  if (!spkiOfCertificate(certificateDer).equals(policy.publicKeyDer)) {
    throw new SignatureRejected('KEY_MISMATCH', 'the signature certificate carries a different key than the one given');
  }
}

/**
 * cosign's `comparePublicKey` (pkg/cosign/verify.go): the Rekor entry must
 * have been made with the signing certificate itself (keyless: DER-equal
 * certificates) or with the policy key (key mode: equal SubjectPublicKeyInfo,
 * whether the entry holds the key or a certificate for it).
 */
function tlogVerifierMatches(bodyPem: string, certificateDer: Buffer | undefined, policy: Policy): boolean {
  const block = pemBlocks(bodyPem)[0];
  if (block === undefined) return false;
  if (policy.mode === 'keyless') return block.label === 'CERTIFICATE' && certificateDer !== undefined && block.der.equals(certificateDer);
  if (block.label === 'PUBLIC KEY') return block.der.equals(policy.publicKeyDer);
  if (block.label === 'CERTIFICATE') return spkiOfCertificate(block.der as Buffer<ArrayBuffer>).equals(policy.publicKeyDer);
  return false;
}

function spkiOfCertificate(der: Buffer<ArrayBuffer>): Buffer {
  try {
    return parseCertificate(der).publicKey;
  } catch (cause) {
    throw new SignatureRejected('CERTIFICATE_INVALID', 'signature certificate cannot be parsed', { cause });
  }
}
