import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../src/policy/index.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { type VerificationResult, verifyImage } from '../../src/verify/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import {
  type KeylessIdentity,
  type SignatureLayer,
  type TestSigstore,
  hashedRekordBody,
  keylessSigner,
  loadFixtureSigstore,
  makeImage,
  makeSignatureManifest,
  signLegacyLayer,
  signatureTag,
  simpleSigningPayload,
  writeOciLayout,
} from '../helpers/sigstore/index.ts';

/**
 * Each test starts from a valid keyless signature made at run time by the
 * fixture Sigstore and changes exactly one thing; the verdict names it.
 */
let sigstore: TestSigstore;
let dir: string;
let counter = 0;
const POLICY: PolicyInput = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };
const IDENTITY: KeylessIdentity = { san: { kind: 'uri', value: FIXTURE_IDENTITY }, issuer: FIXTURE_ISSUER };

beforeAll(async () => {
  sigstore = await loadFixtureSigstore('test', { firstLogIndex: 1000 });
  dir = await mkdtemp(join(tmpdir(), 'sigverify-attacks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a fresh image and its `.sig` manifest, built by `sign` from the image digest. */
async function image(sign: (digest: `sha256:${string}`) => SignatureLayer[]): Promise<string> {
  const img = makeImage(`attack-${counter++}`);
  const layout = join(dir, `layout-${counter}`);
  await writeOciLayout(layout, [
    { object: img, tag: 'image' },
    { object: makeSignatureManifest(sign(img.digest)), tag: signatureTag(img.digest) },
  ]);
  return `oci:${layout}:image`;
}

function payloadFor(digest: string, extra: { type?: string; optional?: Record<string, string> } = {}): Buffer {
  return simpleSigningPayload({ dockerReference: 'registry.sigverify.test/attacks', digest: digest, ...extra });
}

function validLayer(digest: string, identity: KeylessIdentity = IDENTITY): SignatureLayer {
  return signLegacyLayer({ payload: payloadFor(digest), signer: keylessSigner(sigstore, identity), rekor: sigstore.rekor });
}

async function verdict(reference: string, policy: PolicyInput = POLICY): Promise<string[]> {
  try {
    const result = await verifyImage(reference, policy, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
    return result.signatures.map((s) => (s.duplicateOf === undefined ? (s.reason?.code ?? s.outcome) : 'duplicate'));
  } catch (error) {
    const result = (error as { result?: VerificationResult }).result;
    return [(error as { code: string }).code, ...(result?.signatures ?? []).map((s) => s.reason?.code ?? s.outcome)];
  }
}

describe('legacy signature attacks, one change from a valid signature', () => {
  it('baseline: the unchanged signature verifies', async () => {
    expect(await verdict(await image((d) => [validLayer(d)]))).toEqual(['verified']);
  });

  it('a signature manifest with Docker media types (COSIGN_DOCKER_MEDIA_TYPES=1) verifies too', async () => {
    const img = makeImage(`docker-media-types-${counter++}`);
    const layout = join(dir, `layout-docker-${counter}`);
    await writeOciLayout(layout, [
      { object: img, tag: 'image' },
      { object: makeSignatureManifest([validLayer(img.digest)], { dockerMediaTypes: true }), tag: signatureTag(img.digest) },
    ]);
    expect(await verdict(`oci:${layout}:image`)).toEqual(['verified']);
  });

  it('the same log entry presented twice counts once', async () => {
    const ref = await image((d) => {
      const layer = validLayer(d);
      return [layer, { ...layer, annotations: { ...layer.annotations, extra: 'x' } }];
    });
    const result = await verifyImage(ref, POLICY, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
    expect(result.signatures.map((s) => s.outcome)).toEqual(['verified', 'verified']);
    expect(result.signatures[1]?.duplicateOf).toBe(result.signatures[0]?.origin);
    expect(result.verifiedSignatures).toBe(1);
  });

  it('payload of another type', async () => {
    const ref = await image((d) => [signLegacyLayer({ payload: payloadFor(d, { type: 'atomic container signature' }), signer: keylessSigner(sigstore, IDENTITY), rekor: sigstore.rekor })]);
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'PAYLOAD_TYPE_MISMATCH']);
  });

  it('payload naming another digest', async () => {
    const ref = await image(() => [validLayer(`sha256:${'0'.repeat(64)}`)]);
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'PAYLOAD_DIGEST_MISMATCH']);
  });

  it('log entry made with another certificate (valid SET, same signature bytes)', async () => {
    const ref = await image((d) => {
      const signer = keylessSigner(sigstore, IDENTITY);
      const layer = signLegacyLayer({ payload: payloadFor(d), signer });
      const other = keylessSigner(sigstore, IDENTITY);
      const body = hashedRekordBody({ payload: layer.payload, signature: Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'] ?? '', 'base64'), publicKeyPem: other.certPem });
      const bundle = JSON.stringify(sigstore.rekor.logEntry(body, Math.floor(Date.now() / 1000)));
      return [{ ...layer, annotations: { ...layer.annotations, 'dev.sigstore.cosign/bundle': bundle } }];
    });
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'TLOG_KEY_MISMATCH']);
  });

  it('log entry of another signature by the same certificate', async () => {
    const ref = await image((d) => {
      const signer = keylessSigner(sigstore, IDENTITY);
      const first = signLegacyLayer({ payload: payloadFor(d), signer, rekor: sigstore.rekor });
      // ECDSA is randomised: a second signing gives other bytes over the same payload.
      const second = signLegacyLayer({ payload: payloadFor(d), signer });
      return [{ ...first, annotations: { ...first.annotations, 'dev.cosignproject.cosign/signature': second.annotations['dev.cosignproject.cosign/signature'] ?? '' } }];
    });
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'TLOG_SIGNATURE_MISMATCH']);
  });

  it('certificate used outside its validity at the integrated time', async () => {
    const ref = await image((d) => {
      const signer = keylessSigner(sigstore, IDENTITY, { notBefore: new Date(Date.now() - 3600_000) });
      return [signLegacyLayer({ payload: payloadFor(d), signer, rekor: sigstore.rekor, integratedTime: Math.floor(Date.now() / 1000) })];
    });
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'CERTIFICATE_INVALID']);
  });

  it('certificate without the codeSigning extended key usage', async () => {
    const ref = await image((d) => [validLayer(d, { ...IDENTITY, extendedKeyUsage: ['1.3.6.1.5.5.7.3.1'] } as KeylessIdentity)]);
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'CERTIFICATE_INVALID']);
  });

  it('issuer extensions .1.1 and .1.8 that disagree', async () => {
    const ref = await image((d) => [validLayer(d, { ...IDENTITY, issuer: { v1: 'https://evil.example', v2: FIXTURE_ISSUER } })]);
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'ISSUER_AMBIGUOUS']);
  });

  it('issuer only in the deprecated .1.1 still verifies (older Fulcio certificates)', async () => {
    const ref = await image((d) => [validLayer(d, { ...IDENTITY, issuer: { v1: FIXTURE_ISSUER } })]);
    expect(await verdict(ref)).toEqual(['verified']);
  });

  it('identity confusions: substring, prefix regexp, other SAN kind', async () => {
    const ref = await image((d) => [validLayer(d)]);
    expect(await verdict(ref, { ...POLICY, certificateIdentity: 'example-org' })).toEqual(['NO_MATCHING_SIGNATURE', 'IDENTITY_MISMATCH']);
    expect(await verdict(ref, { certificateIdentityRegexp: 'https://github.com/example-org/', certificateOidcIssuer: FIXTURE_ISSUER })).toEqual(['NO_MATCHING_SIGNATURE', 'IDENTITY_MISMATCH']);
    const email = await image((d) => [validLayer(d, { ...IDENTITY, san: { kind: 'email', value: 'x@example-org.com' } })]);
    expect(await verdict(email, { ...POLICY, certificateIdentity: 'https://x@example-org.com' })).toEqual(['NO_MATCHING_SIGNATURE', 'IDENTITY_MISMATCH']);
  });

  it('an RFC 3161 timestamp annotation gives trusted time without Rekor (--insecure-ignore-tlog)', async () => {
    const tsa = sigstore.tsa;
    if (tsa === undefined) throw new Error('the fixture Sigstore has no TSA');
    const ref = await image((d) => {
      const layer = signLegacyLayer({ payload: payloadFor(d), signer: keylessSigner(sigstore, IDENTITY) });
      // cosign stamps the raw signature bytes of a .sig layer (docs/formats.md §1.5).
      const signature = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'] ?? '', 'base64');
      const stamp = JSON.stringify({ SignedRFC3161Timestamp: tsa.timestamp(signature) });
      return [{ ...layer, annotations: { ...layer.annotations, 'dev.sigstore.cosign/rfc3161timestamp': stamp } }];
    });
    expect(await verdict(ref, { ...POLICY, ignoreTlogUnsafe: true })).toEqual(['verified']);
    // Without the log requirement lifted, a timestamp does not replace the log entry.
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'TLOG_MISSING']);
  });

  it('an RFC 3161 timestamp over other bytes is refused', async () => {
    const tsa = sigstore.tsa;
    if (tsa === undefined) throw new Error('the fixture Sigstore has no TSA');
    const ref = await image((d) => {
      const layer = signLegacyLayer({ payload: payloadFor(d), signer: keylessSigner(sigstore, IDENTITY) });
      const stamp = JSON.stringify({ SignedRFC3161Timestamp: tsa.timestamp(Buffer.from('something else')) });
      return [{ ...layer, annotations: { ...layer.annotations, 'dev.sigstore.cosign/rfc3161timestamp': stamp } }];
    });
    expect(await verdict(ref, { ...POLICY, ignoreTlogUnsafe: true })).toEqual(['NO_MATCHING_SIGNATURE', 'NO_TRUSTED_TIME']);
  });

  it('a keyless signature without a certificate', async () => {
    const ref = await image((d) => {
      const layer = validLayer(d);
      const { ['dev.sigstore.cosign/certificate']: _dropped, ...annotations } = layer.annotations;
      return [{ ...layer, annotations }];
    });
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'CERTIFICATE_MISSING']);
  });

  it('a payload blob that does not match its descriptor digest', async () => {
    const ref = await image((d) => [validLayer(d)]);
    // Tamper with the stored payload blob after the manifest was written.
    const { readFile, writeFile, readdir } = await import('node:fs/promises');
    const layout = ref.slice('oci:'.length, -':image'.length);
    const blobs = join(layout, 'blobs', 'sha256');
    for (const name of await readdir(blobs)) {
      const bytes = await readFile(join(blobs, name));
      if (bytes.includes('cosign container image signature')) await writeFile(join(blobs, name), Buffer.concat([bytes, Buffer.from(' ')]));
    }
    expect(await verdict(ref)).toEqual(['NO_MATCHING_SIGNATURE', 'LAYER_DIGEST_MISMATCH']);
  });
});
