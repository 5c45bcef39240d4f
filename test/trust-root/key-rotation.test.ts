import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../src/policy/index.ts';
import { type TufTrustSource, tufTrustSource } from '../../src/trust-root/index.ts';
import { type VerificationResult, verifyImage } from '../../src/verify/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER } from '../helpers/fixtures.ts';
import {
  CA_VALID_FROM,
  type CertificateAuthority,
  type KeylessIdentity,
  TEST_SIGSTORE_URLS,
  type TestSigstore,
  buildTrustedRoot,
  certificateAuthorityEntry,
  createCertificateAuthority,
  keylessSigner,
  loadFixtureSigstore,
  makeImage,
  makeSignatureManifest,
  signLegacyLayer,
  signatureTag,
  simpleSigningPayload,
  timestampAuthorityEntry,
  transparencyLogEntry,
} from '../helpers/sigstore/index.ts';
import { writeOciLayout } from '../helpers/sigstore/oci-layout.ts';
import { type ServedRepository, TestTufRepository, serveRepository, tufKey } from '../helpers/tuf/index.ts';

/**
 * Key rotation in a private Sigstore, distributed through its TUF
 * repository: root version 2 with new root keys (signed by the old and the
 * new ones, and new timestamp keys too), and a trusted_root.json in which the
 * old Fulcio CA ends at the rotation and a new one starts there. Signatures
 * are checked at their Rekor integrated time against the CA valid then.
 */
const ROTATION = new Date('2026-06-01T00:00:00Z');
const BEFORE = new Date('2026-05-01T12:00:00Z');
const AFTER = new Date('2026-07-01T12:00:00Z');
const POLICY: PolicyInput = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };
const IDENTITY: KeylessIdentity = { san: { kind: 'uri', value: FIXTURE_IDENTITY }, issuer: FIXTURE_ISSUER };

let sigstore: TestSigstore;
let newCa: CertificateAuthority;
let work: string;
let repo: TestTufRepository;
let served: ServedRepository;
let source: TufTrustSource;
let counter = 0;

/** The fixture Sigstore's trusted root, with `authorities` as its Fulcio CAs. */
function trustedRoot(authorities: ReturnType<typeof certificateAuthorityEntry>[]): Buffer {
  const { tsa } = sigstore;
  return Buffer.from(JSON.stringify(buildTrustedRoot({
    tlogs: [transparencyLogEntry(sigstore.rekor, { baseUrl: TEST_SIGSTORE_URLS.rekor })],
    certificateAuthorities: authorities,
    ctlogs: [transparencyLogEntry(sigstore.ctlog, { baseUrl: TEST_SIGSTORE_URLS.ctlog })],
    timestampAuthorities: tsa === undefined ? [] : [timestampAuthorityEntry(tsa, { uri: 'https://tsa.sigverify.test' })],
  })));
}

/** An image signed at `when` by a certificate from `ca`, logged in Rekor at that time; its `oci:` reference. */
async function signedAt(ca: CertificateAuthority, when: Date): Promise<string> {
  const image = makeImage(`rotation-${counter++}`);
  const signer = keylessSigner({ ...sigstore, ca }, IDENTITY, { notBefore: when });
  const layer = signLegacyLayer({
    payload: simpleSigningPayload({ dockerReference: 'registry.sigverify.test/rotation', digest: image.digest }),
    signer,
    rekor: sigstore.rekor,
    integratedTime: Math.floor(when.getTime() / 1000) + 60,
  });
  const layout = join(work, `layout-${counter}`);
  await writeOciLayout(layout, [
    { object: image, tag: 'image' },
    { object: makeSignatureManifest([layer]), tag: signatureTag(image.digest) },
  ]);
  return `oci:${layout}:image`;
}

async function outcome(reference: string): Promise<string> {
  try {
    const result = await verifyImage(reference, POLICY, { trust: source });
    return result.verified ? 'verified' : 'not verified';
  } catch (error) {
    const result = (error as { result?: VerificationResult }).result;
    return [(error as { code: string }).code, ...(result?.signatures ?? []).map((s) => s.reason?.code ?? s.outcome)].join(' ');
  }
}

beforeAll(async () => {
  sigstore = await loadFixtureSigstore('test', { firstLogIndex: 5000 });
  newCa = createCertificateAuthority({ organization: 'sigverify.test', commonName: 'sigverify-test-2026-06' });
  work = await mkdtemp(join(tmpdir(), 'sigverify-rotation-'));
  repo = new TestTufRepository();
  repo.setTarget('trusted_root.json', trustedRoot([certificateAuthorityEntry(sigstore.ca, { uri: TEST_SIGSTORE_URLS.fulcio, subject: sigstore.caSubject })]));
  repo.publish();
  await writeFile(join(work, 'root.json'), repo.rootJson(1));
  served = await serveRepository(repo);
  source = tufTrustSource({ source: 'tuf-mirror', url: served.url, root: join(work, 'root.json'), cacheDir: join(work, 'cache') });
  await source.initialise();
});

afterAll(async () => {
  await served.close();
  await rm(work, { recursive: true, force: true });
});

describe('key rotation through the TUF repository', () => {
  let signedBefore: string;

  it('before the rotation: a signature from the original CA verifies', async () => {
    signedBefore = await signedAt(sigstore.ca, BEFORE);
    expect(await outcome(signedBefore)).toBe('verified');
    expect(await outcome(await signedAt(newCa, AFTER))).toBe('NO_MATCHING_SIGNATURE CERTIFICATE_INVALID');
  });

  it('the rotation: root version 2 with new keys, a new CA from the rotation date, the old CA ended', async () => {
    repo.rotateRoot({ keys: { timestamp: [tufKey()] } });
    repo.setTarget('trusted_root.json', trustedRoot([
      certificateAuthorityEntry(sigstore.ca, { uri: TEST_SIGSTORE_URLS.fulcio, subject: sigstore.caSubject, validFor: { start: CA_VALID_FROM, end: ROTATION } }),
      certificateAuthorityEntry(newCa, { uri: TEST_SIGSTORE_URLS.fulcio, subject: { organization: 'sigverify.test', commonName: 'sigverify-test-2026-06' }, validFor: { start: ROTATION } }),
    ]));
    repo.publish();
    await source.refresh();
    expect((await source.cachedMetadata()).roles.map((r) => `${r.role} ${r.version}`)).toEqual(['root 2', 'timestamp 2', 'snapshot 2', 'targets 2']);
  });

  it('after the rotation: the signature made before it still verifies', async () => {
    expect(await outcome(signedBefore)).toBe('verified');
  });

  it('after the rotation: a signature from the new CA verifies', async () => {
    expect(await outcome(await signedAt(newCa, AFTER))).toBe('verified');
  });

  it('a signature from the retired CA after its end date fails', async () => {
    expect(await outcome(await signedAt(sigstore.ca, AFTER))).toBe('NO_MATCHING_SIGNATURE CERTIFICATE_INVALID');
  });

  it('a signature from the new CA before its start date fails', async () => {
    expect(await outcome(await signedAt(newCa, BEFORE))).toBe('NO_MATCHING_SIGNATURE CERTIFICATE_INVALID');
  });

  it('a client still on root version 1 walks to version 2 on its next refresh', async () => {
    const late = tufTrustSource({ source: 'tuf-mirror', url: served.url, root: join(work, 'root.json'), cacheDir: join(work, 'late-cache') });
    await late.load();
    expect((await late.cachedMetadata()).roles[0]).toMatchObject({ role: 'root', version: 2 });
  });
});
