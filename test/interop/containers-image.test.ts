import { afterEach, expect, it } from 'vitest';
import { type Digest, sha256Digest } from '../../src/reference/index.ts';
import { certificateAuthorityTrust, trustedRootFile } from '../../src/trust-root/index.ts';
import { ImageVerifier, type VerificationResult, verifyImage } from '../../src/verify/index.ts';
import type { PolicyInput } from '../../src/policy/index.ts';
import type { SignatureLayer } from '../helpers/sigstore/cosign-legacy.ts';
import {
  PG_TRUSTED_ROOT,
  type ReplayedLayout,
  describeInterop,
  interopBytes,
  interopPath,
  interopText,
  rawManifest,
  readDirSignature,
  replayLegacy,
} from '../helpers/interop.ts';

/**
 * containers/image's cosign fixtures (interop README §2): real public-good
 * keyless and key signatures, replayed as an OCI layout and verified through
 * the whole pipeline, as `sigverify verify oci:DIR:image` would.
 */
const F = ['containers-image', 'signature', 'fixtures'] as const;
const MITR = { certificateIdentity: 'mitr@redhat.com', certificateOidcIssuer: 'https://github.com/login/oauth' } satisfies PolicyInput;

let layouts: ReplayedLayout[] = [];
afterEach(async () => {
  await Promise.all(layouts.map((l) => l.cleanup()));
  layouts = [];
});

async function replayDirImage(name: string, signatures: readonly string[]): Promise<string> {
  const manifest = rawManifest(interopBytes(...F, name, 'manifest.json'));
  const layers = signatures.map((s) => readDirSignature(...F, name, s));
  const layout = await replayLegacy(manifest.digest, layers, manifest);
  layouts.push(layout);
  return `oci:${layout.dir}:image`;
}

const pgTrust = () => ({ trust: trustedRootFile(PG_TRUSTED_ROOT()) });
const keyPem = (file: string) => interopText(...F, file);

function reasons(error: unknown): string[] {
  const result = (error as { result?: VerificationResult }).result;
  return (result?.signatures ?? []).map((s) => s.reason?.code ?? s.outcome);
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; reasons: string[] }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code: string }).code, reasons: reasons(error) };
  }
  throw new Error('expected verification to fail');
}

describeInterop('interop: containers/image cosign fixtures', () => {
  it('verifies the real public-good keyless signature (email SAN, issuer only in .1.1)', async () => {
    const image = await replayDirImage('dir-img-cosign-fulcio-rekor-valid', ['signature-1']);
    const result = await verifyImage(image, MITR, pgTrust());
    expect(result.digest).toBe('sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a');
    expect(result.signatures[0]).toMatchObject({
      outcome: 'verified',
      identity: 'mitr@redhat.com',
      identityKind: 'email',
      issuer: 'https://github.com/login/oauth',
      tlog: { logIndex: 11605770, integratedTime: '2023-01-20T20:51:33.000Z' },
    });
  });

  it('refuses that signature for another identity, a lookalike identity, or another issuer', async () => {
    const image = await replayDirImage('dir-img-cosign-fulcio-rekor-valid', ['signature-1']);
    for (const [policy, reason] of [
      [{ ...MITR, certificateIdentity: 'someone@redhat.com' }, 'IDENTITY_MISMATCH'],
      // sigstore-js would accept this as an unanchored regexp (docs/formats.md pitfall 6).
      [{ ...MITR, certificateIdentity: 'mitr@redhat' }, 'IDENTITY_MISMATCH'],
      [{ certificateIdentityRegexp: 'mitr@redhat', certificateOidcIssuer: MITR.certificateOidcIssuer }, 'IDENTITY_MISMATCH'],
      [{ ...MITR, certificateOidcIssuer: 'https://accounts.google.com' }, 'ISSUER_MISMATCH'],
    ] as const) {
      expect(await rejection(verifyImage(image, policy, pgTrust()))).toEqual({ code: 'NO_MATCHING_SIGNATURE', reasons: [reason] });
    }
  });

  it('accepts an anchored regexp that matches the whole identity', async () => {
    const image = await replayDirImage('dir-img-cosign-fulcio-rekor-valid', ['signature-1']);
    const result = await verifyImage(image, { certificateIdentityRegexp: '[a-z]+@redhat\\.com', certificateOidcIssuerRegexp: 'https://github\\.com/.*' }, pgTrust());
    expect(result.verified).toBe(true);
  });

  it('fails against a trust root that does not hold the public-good CA and Rekor key', async () => {
    const image = await replayDirImage('dir-img-cosign-fulcio-rekor-valid', ['signature-1']);
    const trust = { trust: trustedRootFile(interopPath('sigstore-go', 'pkg', 'testing', 'data', 'trusted-roots', 'scaffolding.json')) };
    const failure = await rejection(verifyImage(image, MITR, trust));
    expect(failure.code).toBe('NO_MATCHING_SIGNATURE');
    expect(['CERTIFICATE_INVALID', 'TLOG_ENTRY_INVALID', 'NO_TRUSTED_TIME']).toContain(failure.reasons[0]);
  });

  it('verifies the key + Rekor signature with cosign2.pub, and not with cosign.pub', async () => {
    const image = await replayDirImage('dir-img-cosign-key-rekor-valid', ['signature-1']);
    const ok = await verifyImage(image, { publicKey: keyPem('cosign2.pub') }, pgTrust());
    expect(ok.signatures[0]).toMatchObject({ outcome: 'verified', publicKey: true, tlog: { logIndex: 11608800 } });
    // cosign reports that the Rekor entry's key differs from the supplied key.
    expect(await rejection(verifyImage(image, { publicKey: keyPem('cosign.pub') }, pgTrust()))).toEqual({
      code: 'NO_MATCHING_SIGNATURE',
      reasons: ['TLOG_KEY_MISMATCH'],
    });
  });

  it('key signatures without a tlog entry need --insecure-ignore-tlog, and then verify with no trust root', async () => {
    const image = await replayDirImage('dir-img-cosign-valid', ['signature-1']);
    expect(await rejection(verifyImage(image, { publicKey: keyPem('cosign.pub') }, pgTrust()))).toEqual({
      code: 'NO_MATCHING_SIGNATURE',
      reasons: ['TLOG_MISSING'],
    });
    const result = await verifyImage(image, { publicKey: keyPem('cosign.pub'), ignoreTlogUnsafe: true });
    expect(result.trustRoot.digest).toBeUndefined();
    expect(result.signatures[0]?.outcome).toBe('verified');
    expect(await rejection(verifyImage(image, { publicKey: keyPem('cosign2.pub'), ignoreTlogUnsafe: true }))).toEqual({
      code: 'NO_MATCHING_SIGNATURE',
      reasons: ['SIGNATURE_INVALID'],
    });
  });

  it('evaluates every layer: two valid layers both verify', async () => {
    const image = await replayDirImage('dir-img-cosign-valid-2', ['signature-1', 'signature-2']);
    const result = await verifyImage(image, { publicKey: keyPem('cosign.pub'), ignoreTlogUnsafe: true });
    expect(result.signatures.map((s) => s.outcome)).toEqual(['verified', 'verified']);
    expect(result.verifiedSignatures).toBe(2);
  });

  it('does not check docker-reference (skopeo writes a tag there), like cosign', async () => {
    const image = await replayDirImage('dir-img-cosign-valid-with-tag', ['signature-1']);
    expect((await verifyImage(image, { publicKey: keyPem('cosign.pub'), ignoreTlogUnsafe: true })).verified).toBe(true);
  });

  it('passes a mixed manifest on its one valid layer and reports the other', async () => {
    const image = await replayDirImage('dir-img-cosign-mixed', ['signature-1', 'signature-2']);
    const result = await verifyImage(image, { publicKey: keyPem('cosign.pub'), ignoreTlogUnsafe: true });
    expect(result.signatures.map((s) => s.reason?.code ?? s.outcome)).toEqual(['SIGNATURE_INVALID', 'verified']);
  });

  it('refuses a valid signature over another manifest (modified manifest)', async () => {
    const image = await replayDirImage('dir-img-cosign-modified-manifest', ['signature-1']);
    expect(await rejection(verifyImage(image, { publicKey: keyPem('cosign.pub'), ignoreTlogUnsafe: true }))).toEqual({
      code: 'NO_MATCHING_SIGNATURE',
      reasons: ['PAYLOAD_DIGEST_MISMATCH'],
    });
  });

  it('refuses a Docker schema 1 manifest, whose digest is not the hash of its bytes', async () => {
    const image = await replayDirImage('dir-img-cosign-manifest-digest-error', ['signature-1']);
    expect(await rejection(verifyImage(image, { publicKey: keyPem('cosign.pub'), ignoreTlogUnsafe: true }))).toMatchObject({ code: 'MANIFEST_INVALID' });
  });

  it('fails when the image itself is missing', async () => {
    const layer = readDirSignature(...F, 'dir-img-cosign-no-manifest', 'signature-1');
    const layout = await replayLegacy('sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00', [layer]);
    layouts.push(layout);
    expect(await rejection(verifyImage(`oci:${layout.dir}:image`, { publicKey: keyPem('cosign.pub'), ignoreTlogUnsafe: true }))).toMatchObject({
      code: 'IMAGE_NOT_FOUND',
    });
  });

  it('treats a non-signature layer as no signature at all', async () => {
    const image = await replayDirImage('dir-img-cosign-other-attachment', ['signature-1']);
    const failure = await rejection(verifyImage(image, { publicKey: keyPem('cosign.pub'), ignoreTlogUnsafe: true }));
    expect(failure).toEqual({ code: 'NO_SIGNATURES', reasons: ['LAYER_MEDIA_TYPE'] });
  });

  it('refuses the BYO-PKI signature against the public-good root', async () => {
    const image = await replayDirImage('dir-img-cosign-pki-valid', ['signature-1']);
    const failure = await rejection(verifyImage(image, { certificateIdentity: 'qiwan@redhat.com', certificateOidcIssuerRegexp: '.*' }, pgTrust()));
    expect(failure.code).toBe('NO_MATCHING_SIGNATURE');
    expect(failure.reasons).toEqual(['TLOG_MISSING']);
  });

  it('verifies the BYO-PKI (RSA) signature against the PKI roots, with no log and no timestamp', async () => {
    const image = await replayDirImage('dir-img-cosign-pki-valid', ['signature-1']);
    const trust = certificateAuthorityTrust({ rootsPath: interopPath(...F, 'pki_root_crts.pem'), intermediatesPath: interopPath(...F, 'pki_intermediate_crts.pem') });
    const policy = { certificateIdentity: 'qiwan@redhat.com', certificateOidcIssuerRegexp: '.*', ignoreTlogUnsafe: true };
    const result = await verifyImage(image, policy, { trust });
    expect(result.signatures[0]).toMatchObject({ outcome: 'verified', identity: 'qiwan@redhat.com', identityKind: 'email' });
    // Any SAN may carry the identity (cosign's legacy path): the DNS name does too.
    expect((await verifyImage(image, { ...policy, certificateIdentity: 'myhost.example.com' }, { trust })).verified).toBe(true);
    // Without the intermediate the chain cannot be built.
    const rootOnly = certificateAuthorityTrust({ rootsPath: interopPath(...F, 'pki_root_crts.pem') });
    expect(await rejection(verifyImage(image, policy, { trust: rootOnly }))).toEqual({ code: 'NO_MATCHING_SIGNATURE', reasons: ['CERTIFICATE_INVALID'] });
    // Its own intermediate as a "root" is refused: roots must be self-signed.
    const wrongRoot = certificateAuthorityTrust({ rootsPath: interopPath(...F, 'pki_intermediate_crts.pem') });
    expect(await rejection(verifyImage(image, policy, { trust: wrongRoot }))).toMatchObject({ code: 'TRUST_ROOT_INVALID' });
  });

  it('verifies the second real keyless signature assembled from its parts', async () => {
    const payload = interopBytes(...F, 'rekor-payload');
    const layer: SignatureLayer = {
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      payload,
      annotations: {
        'dev.cosignproject.cosign/signature': interopText(...F, 'rekor-sig').trim(),
        'dev.sigstore.cosign/certificate': interopText('containers-image', 'signature', 'internal', 'testdata', 'rekor-cert'),
        'dev.sigstore.cosign/bundle': interopText(...F, 'rekor-set').trim(),
      },
    };
    const digest: Digest = 'sha256:fa93b01658e3a5a1686dc3ae55f170d8de487006fb53a28efcd12ab0710a2e5f';
    const result = await verifyDigestOnly(digest, [layer], MITR);
    expect(result.signatures[0]).toMatchObject({ outcome: 'verified', tlog: { logIndex: 8949589 } });
    expect(sha256Digest(payload)).toBe(result.signatures[0]?.payloadDigest);
  });
});

/** For signatures whose image manifest is not available: verify against the digest directly. */
export async function verifyDigestOnly(digest: Digest, layers: readonly SignatureLayer[], policy: PolicyInput): Promise<VerificationResult> {
  const layout = await replayLegacy(digest, layers);
  layouts.push(layout);
  const verifier = await ImageVerifier.create(policy, pgTrust());
  // A digest reference: its signatures are verified without the image manifest, which the replayed layout lacks.
  return verifier.verify(`oci:${layout.dir}@${digest}`);
}
