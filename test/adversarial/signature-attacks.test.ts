import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../src/policy/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, fixtureDigest } from '../helpers/fixtures.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  type KeylessIdentity,
  type OciObject,
  SLSA_PROVENANCE_V1_PREDICATE_TYPE,
  type SigstoreBundleJson,
  type TestSigstore,
  attestationTag,
  bundleBytes,
  dsseRekorBody,
  ecdsaSign,
  hashedRekordBody,
  keylessSigner,
  loadFixtureSigstore,
  makeImage,
  makeIndex,
  makeSignatureManifest,
  referrersTag,
  sha256,
  signDsse,
  signatureTag,
  sigstoreBundleV03,
} from '../helpers/sigstore/index.ts';
import { closeServers } from '../registry/helpers.ts';
import { type HostileRegistry, OCI_MANIFEST, POLICY, bundleBlobOf, expectRefused, firstEntry, startHostileRegistry, verifyAt } from './hostile-registry.ts';
import { IDENTITY, attachBundles, dsseBundle, fixtureSigstore, publishBundled, publishSigned, signStatement, validLayer } from './signing.ts';

/**
 * Signature attacks: material that is genuine somewhere, presented where it
 * does not belong, or one field of a valid signature changed. Legacy `.sig`
 * variants already covered by test/verify/legacy-attacks.test.ts are not
 * repeated here (see INDEX.md); these add the Sigstore-bundle variants, the
 * copies between images, and the identity confusions it lacks. Every
 * signature is minted at run time by the fixture Sigstore and served by the
 * hostile registry.
 */
let sigstore: TestSigstore;
let registry: HostileRegistry;

beforeAll(async () => {
  sigstore = await fixtureSigstore(30_000);
});
afterEach(closeServers);

async function hostile(): Promise<HostileRegistry> {
  registry = await startHostileRegistry();
  return registry;
}

/** A fixture image as an object the signing helpers can attach referrers to. */
function fixtureObject(tag: 'unsigned' | 'signed'): OciObject {
  const { bytes, mediaType } = registry.manifest(tag);
  return { mediaType, manifestBytes: bytes, digest: fixtureDigest(tag), blobs: new Map(), manifests: [] };
}

/** A DSSE bundle put together from its parts, so one of them can be swapped. */
function dsseParts(digest: string, options: { statement?: Buffer; payloadType?: string } = {}) {
  const signer = keylessSigner(sigstore, IDENTITY);
  const envelope = signDsse(options.statement ?? signStatement(digest), options.payloadType ?? IN_TOTO_PAYLOAD_TYPE, signer);
  const now = Math.floor(Date.now() / 1000);
  const entry = sigstore.rekor.logTransparencyEntry(dsseRekorBody(envelope, signer.certPem), now);
  const bundle = (parts: Partial<Parameters<typeof sigstoreBundleV03>[0]> = {}): SigstoreBundleJson =>
    sigstoreBundleV03({ dsse: envelope, signer, tlogEntries: [entry], ...parts });
  return { signer, envelope, entry, now, bundle };
}

/** A message-signature bundle (cosign v3 `sign --new-bundle-format` over a blob) over `artifact`. */
function messageBundle(artifact: Buffer): SigstoreBundleJson {
  const signer = keylessSigner(sigstore, IDENTITY);
  const signature = ecdsaSign(signer.privateKey, artifact, 'sha256');
  const entry = sigstore.rekor.logTransparencyEntry(hashedRekordBody({ payload: artifact, signature, publicKeyPem: signer.certPem }), Math.floor(Date.now() / 1000));
  return sigstoreBundleV03({
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: sha256(artifact).toString('base64') }, signature: signature.toString('base64') },
    signer,
    tlogEntries: [entry],
  });
}

describe('baselines: each starting point verifies unchanged', () => {
  it('a run-time DSSE bundle, a DSSE bundle from parts, a message-signature bundle and a legacy layer', async () => {
    await hostile();
    publishBundled(registry, 'dsse', (d) => [dsseBundle(sigstore, signStatement(d))]);
    publishBundled(registry, 'parts', (d) => [dsseParts(d).bundle()]);
    const image = makeImage('adversarial-message');
    registry.putObject(image, 'message');
    attachBundles(registry, image, [messageBundle(image.manifestBytes)]);
    publishSigned(registry, 'legacy', (d) => [validLayer(sigstore, d)]);
    for (const tag of ['dsse', 'parts', 'message', 'legacy']) expect((await verifyAt(registry.ref(tag))).verifiedSignatures).toBe(1);
  });
});

describe('signatures copied between images', () => {
  it("the signed image's .sig manifest copied to the unsigned image's .sig tag: PAYLOAD_DIGEST_MISMATCH", async () => {
    await hostile();
    registry.putManifest(registry.manifest(signatureTag(fixtureDigest('signed'))).bytes, OCI_MANIFEST, signatureTag(fixtureDigest('unsigned')));
    const { reasons } = await expectRefused(verifyAt(registry.ref('unsigned')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it("bundle-signed's referrers index copied to the unsigned image's fallback tag: the referrer's subject is the other image, SUBJECT_MISMATCH, NO_SIGNATURES", async () => {
    await hostile();
    registry.putManifest(registry.manifest(referrersTag(fixtureDigest('bundle-signed'))).bytes, 'application/vnd.oci.image.index.v1+json', referrersTag(fixtureDigest('unsigned')));
    const { result } = await expectRefused(verifyAt(registry.ref('unsigned')), 'NO_SIGNATURES');
    expect(result?.discovery.skippedReferrers.map((s) => s.code)).toEqual(['SUBJECT_MISMATCH']);
  });

  it("bundle-signed's bundle re-attached to the unsigned image under a new referrer manifest: PAYLOAD_DIGEST_MISMATCH", async () => {
    await hostile();
    attachBundles(registry, fixtureObject('unsigned'), [registry.blob(bundleBlobOf(registry, fixtureDigest('bundle-signed')))]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('unsigned')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it("an index's signature moved to a child's .sig tag (the child verified by digest): PAYLOAD_DIGEST_MISMATCH", async () => {
    await hostile();
    const child = firstEntry(registry, 'multiarch');
    registry.putManifest(registry.manifest(signatureTag(fixtureDigest('multiarch'))).bytes, OCI_MANIFEST, signatureTag(child));
    const { reasons } = await expectRefused(verifyAt(registry.ref(child)), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it("a child's signature presented at its index's .sig tag: PAYLOAD_DIGEST_MISMATCH", async () => {
    await hostile();
    const amd64 = makeImage('adversarial-child', { platform: { os: 'linux', architecture: 'amd64' } });
    const index = makeIndex([amd64]);
    registry.putObject(index, 'multi');
    registry.putObject(makeSignatureManifest([validLayer(sigstore, amd64.digest)]), signatureTag(index.digest));
    const { reasons } = await expectRefused(verifyAt(registry.ref('multi')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
    // With --platform the child's own (absent) signature is needed, and the index's misplaced one does not count.
    await expectRefused(verifyAt(registry.ref('multi'), { platform: 'linux/amd64' }), 'NO_SIGNATURES');
  });
});

describe('what the bundle says it signed', () => {
  it('a DSSE statement naming another digest: PAYLOAD_DIGEST_MISMATCH', async () => {
    await hostile();
    publishBundled(registry, 'other-digest', () => [dsseBundle(sigstore, signStatement(`sha256:${'2'.repeat(64)}`))]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('other-digest')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it('a message signature over another manifest: PAYLOAD_DIGEST_MISMATCH', async () => {
    await hostile();
    const image = makeImage('adversarial-message-other');
    registry.putObject(image, 'message-other');
    attachBundles(registry, image, [messageBundle(registry.manifest('unsigned').bytes)]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('message-other')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it('a DSSE payload of another type (a simple-signing payload in the envelope): PAYLOAD_TYPE_MISMATCH', async () => {
    await hostile();
    publishBundled(registry, 'payload-type', (d) => [dsseParts(d, { payloadType: 'application/vnd.dev.cosign.simplesigning.v1+json' }).bundle()]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('payload-type')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_TYPE_MISMATCH']);
  });

  it('a statement whose duplicate "subject" key names another digest last: PAYLOAD_DIGEST_MISMATCH', async () => {
    await hostile();
    // The signed statement names this image, then repeats "subject" naming another; the last one counts.
    const statement = (d: string): Buffer => Buffer.from(signStatement(d).toString('utf8').replace(/\}$/, `, "subject":[{"digest":{"sha256":"${'3'.repeat(64)}"}}]}`));
    publishBundled(registry, 'dup-subject', (d) => [dsseParts(d, { statement: statement(d) }).bundle()]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('dup-subject')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });
});

describe('attestations presented as signatures', () => {
  it('an SLSA provenance bundle (fixture bundle-provenance) is no signature: NO_SIGNATURES, skipped as PREDICATE_TYPE_MISMATCH', async () => {
    await hostile();
    const { reasons } = await expectRefused(verifyAt(registry.ref('bundle-provenance')), 'NO_SIGNATURES');
    expect(reasons).toEqual(['PREDICATE_TYPE_MISMATCH']);
  });

  it('a valid bundle of another predicate type, made now for this image: NO_SIGNATURES', async () => {
    await hostile();
    publishBundled(registry, 'provenance', (d) => [dsseBundle(sigstore, signStatement(d, SLSA_PROVENANCE_V1_PREDICATE_TYPE))]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('provenance')), 'NO_SIGNATURES');
    expect(reasons).toEqual(['PREDICATE_TYPE_MISMATCH']);
  });

  it("a legacy .att manifest (fixture attested-legacy) copied to the image's .sig tag: NO_SIGNATURES, skipped as LAYER_MEDIA_TYPE", async () => {
    await hostile();
    const digest = fixtureDigest('attested-legacy');
    registry.putManifest(registry.manifest(attestationTag(digest)).bytes, OCI_MANIFEST, signatureTag(digest));
    const { reasons } = await expectRefused(verifyAt(registry.ref('attested-legacy')), 'NO_SIGNATURES');
    expect(reasons).toEqual(['LAYER_MEDIA_TYPE']);
  });

  it('a legacy .att layer relabelled with the simple-signing media type: ANNOTATION_INVALID (its signature annotation is empty)', async () => {
    await hostile();
    const digest = fixtureDigest('attested-legacy');
    const manifest = registry.manifest(attestationTag(digest)).bytes.toString('utf8').replaceAll('application/vnd.dsse.envelope.v1+json', 'application/vnd.dev.cosign.simplesigning.v1+json');
    registry.putManifest(Buffer.from(manifest), OCI_MANIFEST, signatureTag(digest));
    const { reasons } = await expectRefused(verifyAt(registry.ref('attested-legacy')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['ANNOTATION_INVALID']);
  });
});

describe('certificates and log entries', () => {
  it('legacy: the certificate annotation swapped for another valid one of the same identity: TLOG_KEY_MISMATCH', async () => {
    await hostile();
    publishSigned(registry, 'legacy-cert-swap', (d) => {
      const layer = validLayer(sigstore, d);
      return [{ ...layer, annotations: { ...layer.annotations, 'dev.sigstore.cosign/certificate': keylessSigner(sigstore, IDENTITY).certPem } }];
    });
    const { reasons } = await expectRefused(verifyAt(registry.ref('legacy-cert-swap')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['TLOG_KEY_MISMATCH']);
  });


  it('bundle: the certificate swapped for another valid one of the same identity: TLOG_KEY_MISMATCH', async () => {
    await hostile();
    publishBundled(registry, 'cert-swap', (d) => {
      const other = keylessSigner(sigstore, IDENTITY);
      return [dsseParts(d).bundle({ signer: other })];
    });
    const { reasons } = await expectRefused(verifyAt(registry.ref('cert-swap')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['TLOG_KEY_MISMATCH']);
  });

  it('bundle: the certificate swapped, no log entry, a TSA timestamp (--insecure-ignore-tlog): SIGNATURE_INVALID', async () => {
    await hostile();
    const tsa = sigstore.tsa;
    if (tsa === undefined) throw new Error('the fixture Sigstore has no TSA');
    publishBundled(registry, 'cert-swap-notlog', (d) => {
      const parts = dsseParts(d);
      const stamp = tsa.timestamp(Buffer.from(parts.envelope.signatures[0]?.sig ?? '', 'base64'));
      return [parts.bundle({ signer: keylessSigner(sigstore, IDENTITY), tlogEntries: [], timestamps: [stamp] })];
    });
    const { reasons } = await expectRefused(verifyAt(registry.ref('cert-swap-notlog'), {}, { ...POLICY, ignoreTlogUnsafe: true }), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['SIGNATURE_INVALID']);
  });

  it('bundle: the log entry of another signature by the same certificate: TLOG_ENTRY_INVALID', async () => {
    await hostile();
    publishBundled(registry, 'other-entry', (d) => {
      const parts = dsseParts(d);
      const second = signDsse(signStatement(d), IN_TOTO_PAYLOAD_TYPE, parts.signer);
      const entry = sigstore.rekor.logTransparencyEntry(dsseRekorBody(second, parts.signer.certPem), parts.now);
      return [parts.bundle({ tlogEntries: [entry] })];
    });
    const { reasons } = await expectRefused(verifyAt(registry.ref('other-entry')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['TLOG_ENTRY_INVALID']);
  });

  it('bundle: a log entry recording another certificate for the same signature: TLOG_KEY_MISMATCH', async () => {
    await hostile();
    publishBundled(registry, 'entry-key', (d) => {
      const parts = dsseParts(d);
      const other = keylessSigner(sigstore, IDENTITY);
      const entry = sigstore.rekor.logTransparencyEntry(dsseRekorBody(parts.envelope, other.certPem), parts.now);
      return [parts.bundle({ tlogEntries: [entry] })];
    });
    const { reasons } = await expectRefused(verifyAt(registry.ref('entry-key')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['TLOG_KEY_MISMATCH']);
  });

  it('bundle: a log entry from a Rekor the trust root does not name (the other Sigstore): TLOG_ENTRY_INVALID', async () => {
    await hostile();
    const other = await loadFixtureSigstore('other', { firstLogIndex: 30_000 });
    publishBundled(registry, 'other-rekor', (d) => {
      const parts = dsseParts(d);
      return [parts.bundle({ tlogEntries: [other.rekor.logTransparencyEntry(dsseRekorBody(parts.envelope, parts.signer.certPem), parts.now)] })];
    });
    const { reasons } = await expectRefused(verifyAt(registry.ref('other-rekor')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['TLOG_ENTRY_INVALID']);
  });

  it('bundle: the certificate used outside its validity at the integrated time: CERTIFICATE_INVALID', async () => {
    await hostile();
    const now = Math.floor(Date.now() / 1000);
    publishBundled(registry, 'expired-cert', (d) => [dsseBundle(sigstore, signStatement(d), { notBefore: new Date((now - 3600) * 1000), integratedTime: now, tsa: false })]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('expired-cert')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['CERTIFICATE_INVALID']);
  });
});

describe('one log entry presented twice counts once', () => {
  it('a bundle carrying the same tlog entry twice: verified on one entry, not two', async () => {
    await hostile();
    publishBundled(registry, 'twice-in-bundle', (d) => {
      const parts = dsseParts(d);
      return [parts.bundle({ tlogEntries: [parts.entry, parts.entry] })];
    });
    const result = await verifyAt(registry.ref('twice-in-bundle'));
    expect(result.verifiedSignatures).toBe(1);
  });

  it('the same bundle attached as two referrers (distinct manifests): one verified signature, the other marked duplicateOf', async () => {
    await hostile();
    const image = makeImage('adversarial-twice');
    registry.putObject(image, 'twice');
    const bundle = bundleBytes(dsseBundle(sigstore, signStatement(image.digest)));
    // Two referrer manifests differing in their created annotation, holding the same bundle.
    attachBundles(registry, image, [bundle, bundle]);
    const result = await verifyAt(registry.ref('twice'));
    expect(result.signatures).toHaveLength(2);
    expect(result.verifiedSignatures).toBe(1);
    expect(result.signatures[1]?.duplicateOf).toBe(result.signatures[0]?.origin);
  });

  it('the same signature as a .sig layer and as a bundle is two log entries, two signatures: not a duplicate (control)', async () => {
    await hostile();
    const image = makeImage('adversarial-both');
    registry.putObject(image, 'both');
    registry.putObject(makeSignatureManifest([validLayer(sigstore, image.digest)]), signatureTag(image.digest));
    attachBundles(registry, image, [dsseBundle(sigstore, signStatement(image.digest))]);
    expect((await verifyAt(registry.ref('both'))).verifiedSignatures).toBe(2);
  });
});

describe('identity confusions', () => {
  async function signedBy(tag: string, identity: KeylessIdentity): Promise<string> {
    await hostile();
    publishSigned(registry, tag, (d) => [validLayer(sigstore, d, identity)]);
    return registry.ref(tag);
  }
  const refused = async (ref: string, policy: PolicyInput, reason: string): Promise<void> => {
    const { reasons } = await expectRefused(verifyAt(ref, {}, policy), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual([reason]);
  };

  it('an exact identity holding regexp metacharacters is matched literally: IDENTITY_MISMATCH', async () => {
    await refused(await signedBy('meta', IDENTITY), { ...POLICY, certificateIdentity: 'https://github.com/example-org/.*' }, 'IDENTITY_MISMATCH');
  });

  it('an exact identity that is a prefix of the SAN: IDENTITY_MISMATCH', async () => {
    await refused(await signedBy('prefix', IDENTITY), { ...POLICY, certificateIdentity: 'https://github.com/example-org/brain-seg' }, 'IDENTITY_MISMATCH');
  });

  it('a regexp is anchored: an attacker SAN that merely contains the trusted identity: IDENTITY_MISMATCH', async () => {
    const ref = await signedBy('contains', { ...IDENTITY, san: { kind: 'uri', value: `https://github.com/attacker/repo/.github/workflows/x.yml@refs/heads/main?${FIXTURE_IDENTITY}` } });
    await refused(ref, { certificateIdentityRegexp: 'https://github\\.com/example-org/brain-seg/.+', certificateOidcIssuer: FIXTURE_ISSUER }, 'IDENTITY_MISMATCH');
  });

  it('a regexp is anchored: the trusted ref followed by an attacker suffix (refs/tags/v2.1.0-evil): IDENTITY_MISMATCH', async () => {
    const ref = await signedBy('suffix', { ...IDENTITY, san: { kind: 'uri', value: `${FIXTURE_IDENTITY}-evil` } });
    await refused(ref, { certificateIdentityRegexp: 'https://github\\.com/example-org/brain-seg/\\.github/workflows/release\\.yml@refs/tags/v2\\.1\\.0', certificateOidcIssuer: FIXTURE_ISSUER }, 'IDENTITY_MISMATCH');
  });

  it('a SAN differing only in letter case: IDENTITY_MISMATCH', async () => {
    const ref = await signedBy('case', { ...IDENTITY, san: { kind: 'uri', value: FIXTURE_IDENTITY.replace('example-org', 'Example-Org') } });
    await refused(ref, POLICY, 'IDENTITY_MISMATCH');
  });

  it("another SAN kind holding part of the identity (a DNS SAN naming the workflow's host): IDENTITY_MISMATCH", async () => {
    const ref = await signedBy('dns', { ...IDENTITY, san: { kind: 'dns', value: 'github.com' } });
    await refused(ref, POLICY, 'IDENTITY_MISMATCH');
  });

  it('an otherName SAN (username!issuer) against a URI identity: IDENTITY_MISMATCH', async () => {
    const ref = await signedBy('othername', { ...IDENTITY, san: { kind: 'otherName', value: 'example-org!token.actions.githubusercontent.com' } });
    await refused(ref, POLICY, 'IDENTITY_MISMATCH');
  });

  it('issuer .1.1 trusted but .1.8 another (the reverse of the legacy-attacks case): ISSUER_AMBIGUOUS', async () => {
    await refused(await signedBy('issuer-v2', { ...IDENTITY, issuer: { v1: FIXTURE_ISSUER, v2: 'https://evil.example' } }), POLICY, 'ISSUER_AMBIGUOUS');
  });

  it('an issuer that extends the trusted one (…githubusercontent.com.evil.example): ISSUER_MISMATCH', async () => {
    await refused(await signedBy('issuer-suffix', { ...IDENTITY, issuer: `${FIXTURE_ISSUER}.evil.example` }), POLICY, 'ISSUER_MISMATCH');
  });

  it('an issuer regexp is anchored too: ISSUER_MISMATCH', async () => {
    const ref = await signedBy('issuer-regexp', { ...IDENTITY, issuer: `${FIXTURE_ISSUER}.evil.example` });
    await refused(ref, { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuerRegexp: 'https://token\\.actions\\.githubusercontent\\.com' }, 'ISSUER_MISMATCH');
  });

  it('a certificate without issuer extensions against an exact issuer: ISSUER_MISMATCH', async () => {
    const { issuer: _none, ...withoutIssuer } = IDENTITY;
    await refused(await signedBy('no-issuer', withoutIssuer), POLICY, 'ISSUER_MISMATCH');
  });

  it('a GitHub workflow claim required by the policy but absent from the certificate: CLAIM_MISMATCH', async () => {
    await refused(await signedBy('no-claims', IDENTITY), { ...POLICY, githubWorkflowRepository: 'example-org/brain-seg' }, 'CLAIM_MISMATCH');
  });
});
