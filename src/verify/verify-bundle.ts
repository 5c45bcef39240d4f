import { createHash } from 'node:crypto';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { parseBundle } from '../bundle/sigstore-bundle.ts';
import { parseStatement } from '../cosign/index.ts';
import { SignatureRejected, SigverifyError } from '../errors.ts';
import { type PolicyInput, compilePolicy } from '../policy/index.ts';
import type { TrustSource } from '../trust-root/index.ts';
import { type Artifact, type VerifiedBundle, verifyBundleContent } from './bundle-core.ts';
import { createSigstoreVerifier } from './sigstore.ts';

/**
 * A Sigstore bundle file verified against an artifact (its bytes, or its
 * sha256 digest), the client protocol of the sigstore-conformance suite
 * (`docs/cli_protocol.md`, `verify-bundle`). Same checks as for image
 * bundles; the binding is to the artifact instead of an image digest.
 */
export type ArtifactInput = { readonly bytes: Buffer } | { readonly sha256: Buffer };

export interface BundleVerificationResult extends VerifiedBundle {
  readonly verified: true;
  readonly bundleMediaType: string;
  readonly trustRoot: { readonly source: string; readonly digest: string | undefined };
}

export async function verifyBundleFile(bundleBytes: Uint8Array, input: ArtifactInput, policyInput: PolicyInput, trust: TrustSource): Promise<BundleVerificationResult> {
  const policy = compilePolicy(policyInput);
  const root = await trust.load();
  try {
    const { bundle, json } = parseBundle(bundleBytes);
    const sha256 = 'sha256' in input ? input.sha256 : createHash('sha256').update(input.bytes).digest();
    let artifact: Artifact;
    if (bundle.content.$case === 'dsseEnvelope') {
      // For DSSE the artifact is a subject of the statement (cli_protocol.md).
      const statement = parseStatement(bundle.content.dsseEnvelope.payloadType, bundle.content.dsseEnvelope.payload);
      if (!statement.subject.some((s) => s.digest['sha256'] === sha256.toString('hex'))) {
        throw new SignatureRejected('PAYLOAD_DIGEST_MISMATCH', `no statement subject has sha256 ${sha256.toString('hex')}`);
      }
      artifact = { kind: 'envelope' };
    } else {
      const { messageDigest } = bundle.content.messageSignature;
      if (messageDigest.algorithm !== HashAlgorithm.SHA2_256 || !messageDigest.digest.equals(sha256)) {
        throw new SignatureRejected('PAYLOAD_DIGEST_MISMATCH', 'bundle message digest does not match the artifact');
      }
      artifact = 'bytes' in input ? { kind: 'bytes', bytes: input.bytes } : { kind: 'digest', sha256, verifyDigestSignature: (await import('./digest-signature.ts')).verifyDigestSignature };
    }
    const verified = verifyBundleContent(bundle, json, artifact, policy, createSigstoreVerifier(root, policy), root.trustedRoot);
    return { verified: true, bundleMediaType: bundle.mediaType, trustRoot: { source: root.source, digest: root.digest }, ...verified };
  } catch (error) {
    if (error instanceof SignatureRejected) {
      throw new SigverifyError('NO_MATCHING_SIGNATURE', `bundle does not verify: ${error.code} ${error.message}`, { cause: error, details: { reason: error.code } });
    }
    throw error;
  }
}
