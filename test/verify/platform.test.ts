import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { verifyImage } from '../../src/verify/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import {
  type OciObject,
  type TestSigstore,
  keylessSigner,
  loadFixtureSigstore,
  makeImage,
  makeIndex,
  makeSignatureManifest,
  signLegacyLayer,
  signatureTag,
  simpleSigningPayload,
  writeOciLayout,
} from '../helpers/sigstore/index.ts';

/**
 * `--platform` on multi-arch images (issue: "a tag that resolves to an index
 * verifies against the index digest; --platform resolves the child from the
 * verified index; a signature on a child alone is checked against the child").
 */
const POLICY = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };
let sigstore: TestSigstore;
let dir: string;
let amd64: OciObject;
let arm64: OciObject;
let index: OciObject;

function signatureFor(digest: string): OciObject {
  const signer = keylessSigner(sigstore, { san: { kind: 'uri', value: FIXTURE_IDENTITY }, issuer: FIXTURE_ISSUER });
  const payload = simpleSigningPayload({ dockerReference: 'registry.sigverify.test/platform', digest: digest });
  return makeSignatureManifest([signLegacyLayer({ payload, signer, rekor: sigstore.rekor })]);
}

beforeAll(async () => {
  sigstore = await loadFixtureSigstore('test', { firstLogIndex: 5000 });
  dir = await mkdtemp(join(tmpdir(), 'sigverify-platform-'));
  amd64 = makeImage('platform-test', { platform: { os: 'linux', architecture: 'amd64' } });
  arm64 = makeImage('platform-test', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  index = makeIndex([amd64, arm64]);
  // Layout "index-signed": only the index is signed. Layout "child-signed": only arm64 is.
  await writeOciLayout(join(dir, 'index-signed'), [
    { object: index, tag: 'app' },
    { object: signatureFor(index.digest), tag: signatureTag(index.digest) },
  ]);
  await writeOciLayout(join(dir, 'child-signed'), [
    { object: index, tag: 'app' },
    { object: signatureFor(arm64.digest), tag: signatureTag(arm64.digest) },
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (platform?: string) => ({ trust: trustedRootFile(TEST_TRUSTED_ROOT), ...(platform === undefined ? {} : { platform }) });
const image = (layout: string) => `oci:${join(dir, layout)}:app`;

describe('multi-arch images', () => {
  it('without --platform, the index digest is what is verified and pinned', async () => {
    const result = await verifyImage(image('index-signed'), POLICY, options());
    expect(result).toMatchObject({ digest: index.digest, imageKind: 'index', pinnedReference: `oci:${join(dir, 'index-signed')}@${index.digest}` });
    expect(result.platform).toBeUndefined();
  });

  it('--platform returns the child from the verified index', async () => {
    const result = await verifyImage(image('index-signed'), POLICY, options('linux/amd64'));
    expect(result).toMatchObject({
      digest: index.digest,
      pinnedReference: `oci:${join(dir, 'index-signed')}@${amd64.digest}`,
      platform: { os: 'linux', architecture: 'amd64', digest: amd64.digest, signed: 'index' },
    });
  });

  it('a platform without its variant matches; a wrong variant or platform does not', async () => {
    expect((await verifyImage(image('index-signed'), POLICY, options('linux/arm64'))).platform?.digest).toBe(arm64.digest);
    await expect(verifyImage(image('index-signed'), POLICY, options('linux/arm64/v7'))).rejects.toMatchObject({ code: 'PLATFORM_NOT_FOUND' });
    await expect(verifyImage(image('index-signed'), POLICY, options('windows/amd64'))).rejects.toMatchObject({ code: 'PLATFORM_NOT_FOUND' });
    await expect(verifyImage(image('index-signed'), POLICY, options('linux'))).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('a signature on a child alone is checked against the child', async () => {
    const result = await verifyImage(image('child-signed'), POLICY, options('linux/arm64'));
    expect(result).toMatchObject({ digest: arm64.digest, pinnedReference: `oci:${join(dir, 'child-signed')}@${arm64.digest}`, platform: { signed: 'child' } });
    // The other child is not signed, and neither is the index.
    await expect(verifyImage(image('child-signed'), POLICY, options('linux/amd64'))).rejects.toMatchObject({ code: 'NO_SIGNATURES' });
    await expect(verifyImage(image('child-signed'), POLICY, options())).rejects.toMatchObject({ code: 'NO_SIGNATURES' });
  });

  it('a child signature does not make the index verified, nor an index signature a child reference', async () => {
    await expect(verifyImage(`oci:${join(dir, 'child-signed')}@${index.digest}`, POLICY, options())).rejects.toMatchObject({ code: 'NO_SIGNATURES' });
    await expect(verifyImage(`oci:${join(dir, 'index-signed')}@${amd64.digest}`, POLICY, options())).rejects.toMatchObject({ code: 'NO_SIGNATURES' });
  });
});
