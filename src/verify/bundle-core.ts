import { type Bundle, type SerializedBundle, bundleFromJSON } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { type SignedEntity, type Verifier, toSignedEntity } from '@sigstore/verify';
import { bundleCertificateDer, dedupeTlogEntries } from '../bundle/sigstore-bundle.ts';
import { tlogVerifier } from '../bundle/tlog-body.ts';
import { SignatureRejected } from '../errors.ts';
import type { Policy } from '../policy/index.ts';
import type { verifyDigestSignature } from './digest-signature.ts';
import type { SignatureOutcome } from './result.ts';
import { checkMaterialMatchesPolicy, checkSigner, checkTlogSigner } from './signer.ts';
import { verifyInclusionIgnoringCheckpointName, withoutInclusionProofs } from './checkpoint.ts';
import { SigstoreRejected, verifyEntity } from './sigstore.ts';

/**
 * What a bundle's signature is checked against: the artifact bytes (message
 * signature), nothing (DSSE: the envelope is the signed content), or a
 * sha256 digest when only that is known (message signature by digest). The
 * digest form carries its verifier (./digest-signature.ts), which its one
 * caller loads when it needs it: it brings @noble/curves (15 modules, a few
 * MB of resident memory per thread), which image verification never uses.
 */
export type Artifact =
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'envelope' }
  | { readonly kind: 'digest'; readonly sha256: Buffer; readonly verifyDigestSignature: typeof verifyDigestSignature };

export type VerifiedBundle = Pick<SignatureOutcome, 'identity' | 'identityKind' | 'issuer' | 'githubWorkflow' | 'publicKey' | 'tlog'>;

/**
 * The checks every Sigstore bundle gets once the caller has bound it to what
 * it is for (an image digest, an artifact): signing material fits the policy
 * mode; log entries are distinct and each was made with this certificate or
 * key; sigstore-js verifies timestamps, chain, SCTs, log entries and the
 * signature; then the identity policy.
 */
export function verifyBundleContent(
  bundle: Bundle,
  json: SerializedBundle,
  artifact: Artifact,
  policy: Policy,
  verifier: Verifier,
  trustedRoot: TrustedRoot,
): VerifiedBundle {
  const material = { certificateDer: bundleCertificateDer(bundle) };
  checkMaterialMatchesPolicy(material, policy);
  if (policy.mode === 'key' && bundle.verificationMaterial.content.$case !== 'publicKey') {
    throw new SignatureRejected('VERIFICATION_MATERIAL_MISMATCH', 'bundle is certificate-bound; verify it with identity and issuer, not a key');
  }
  const unique = dedupeTlogEntries(json);
  const entries = unique.verificationMaterial.tlogEntries;
  if (entries.length === 0 && policy.requireTlog) {
    throw new SignatureRejected('TLOG_MISSING', 'bundle has no transparency-log entry; pass --insecure-ignore-tlog only if signatures are made without Rekor');
  }
  for (const entry of entries) checkTlogSigner(tlogVerifier(entry.canonicalizedBody), material, policy);

  let parsed: X509Certificate | undefined;
  try {
    // Without duplicate entries the bundle the caller parsed from `json` is the one to verify: not parsed again.
    parsed = verifyEntity(verifier, () => signedEntity(unique === json ? bundle : bundleFromJSON(unique), artifact));
  } catch (error) {
    // A checkpoint signed under a name sigstore-js does not accept (docs/formats.md pitfall 11):
    // verify proofs and checkpoints with the log key ourselves, then let
    // sigstore-js verify everything else on the proof-less form.
    if (!(error instanceof SigstoreRejected) || error.sigstoreCode !== 'TLOG_INCLUSION_PROOF_ERROR') throw error;
    for (const entry of entries) verifyInclusionIgnoringCheckpointName(entry, trustedRoot);
    parsed = verifyEntity(verifier, () => signedEntity(bundleFromJSON(withoutInclusionProofs(unique)), artifact));
  }
  const signer = checkSigner(material, policy, parsed);

  const first = entries[0];
  if (first === undefined) return signer;
  // Rekor v2 entries carry no integrated time (0 or absent); a TSA timestamp is the trusted time.
  const integratedTime = Number((first.integratedTime as string | undefined) ?? 0);
  return {
    ...signer,
    tlog: {
      logId: Buffer.from(first.logId.keyId, 'base64').toString('hex'),
      // protobuf JSON leaves zero values out: an entry at index 0 has no logIndex member.
      logIndex: Number((first.logIndex as string | undefined) ?? 0),
      ...(Number.isSafeInteger(integratedTime) && integratedTime > 0 ? { integratedTime: new Date(integratedTime * 1000).toISOString() } : {}),
    },
  };
}

/**
 * The entity sigstore-js verifies. By digest, its message-signature content
 * compares the bundle's digest with the one given and checks the signature
 * over that digest; everything else is sigstore-js's own.
 */
function signedEntity(bundle: Bundle, artifact: Artifact): SignedEntity {
  if (artifact.kind === 'bytes') return toSignedEntity(bundle, artifact.bytes);
  const entity = toSignedEntity(bundle);
  if (artifact.kind === 'envelope' || bundle.content.$case !== 'messageSignature') return entity;
  const { messageDigest, signature } = bundle.content.messageSignature;
  const digestMatches = messageDigest.digest.equals(artifact.sha256);
  return {
    ...entity,
    signature: {
      signature,
      compareSignature: (other: Buffer) => other.equals(signature),
      compareDigest: (digest: Buffer) => digestMatches && digest.equals(artifact.sha256),
      compareSignedDigest: (digest: Buffer) => digestMatches && digest.equals(artifact.sha256),
      verifySignature: (key) => digestMatches && artifact.verifyDigestSignature(key, artifact.sha256, signature),
    },
  };
}
