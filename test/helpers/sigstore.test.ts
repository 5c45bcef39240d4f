/**
 * Proof that the private test Sigstore mints valid Sigstore material: its
 * trusted root loads in sigstore-js, and legacy cosign layers it signs,
 * converted to bundle v0.1 (docs/formats.md §8.2), verify with
 * @sigstore/verify — keyless (URI, email, OtherName SANs) and key mode; so do
 * its v0.3 bundles (DSSE, Rekor dsse entries with inclusion proofs, RFC 3161
 * timestamps) and legacy `.att` attestations. Also pins the exact byte forms
 * cosign and @sigstore/oci write, and checks the committed fixtures.
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { VerificationError, toTrustMaterial } from '@sigstore/verify';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Digest, type Digest } from '../../src/reference/digest.ts';
import {
  BUNDLE_V03_MEDIA_TYPE,
  COSIGN_ANNOTATIONS,
  COSIGN_SIGN_PREDICATE_TYPE,
  DSSE_ENVELOPE_MEDIA_TYPE,
  EMPTY_JSON_BLOB,
  FIXTURES_DIR,
  IN_TOTO_PAYLOAD_TYPE,
  SLSA_PROVENANCE_V1_PREDICATE_TYPE,
  OID,
  TRUSTED_ROOT_MEDIA_TYPE,
  canonicalJson,
  chainPem,
  bundleBytes,
  createRekor,
  createTestSigstore,
  der,
  descriptorOf,
  dsseRekorBody,
  ecdsaSign,
  generateKeyPair,
  hashedRekordBody,
  inTotoStatement,
  keySigner,
  keylessSigner,
  layersVerifiedByOracle,
  legacyLayerToBundleV01,
  loadFixtureKey,
  loadFixtureSigstore,
  makeImage,
  makeIndex,
  makeReferrerManifest,
  makeReferrersIndex,
  makeSignatureManifest,
  oracleOutcome,
  pae,
  publicKeyHint,
  readFixtureManifest,
  readFixtureSignatures,
  readFixtureTrustedRoot,
  readLegacySignatureLayers,
  readOciLayout,
  readReferrers,
  readSubjectAltNames,
  sha256,
  signDsse,
  signDsseBundle,
  signLegacyAttestationLayer,
  signLegacyLayer,
  signatureTag,
  simpleSigningPayload,
  sigstoreBundleV03,
  spkiDer,
  trustedRootFor,
  verifyBundleWithSigstoreJs,
  verifyLayerWithSigstoreJs,
  writeOciLayout,
  type KeylessIdentity,
  type RekorBundleAnnotation,
  type SignatureLayer,
  type SigstoreBundleJson,
  type TestSigstore,
  type TransparencyLogEntryJson,
} from './sigstore/index.ts';

const RELEASE: KeylessIdentity = {
  san: { kind: 'uri', value: 'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0' },
  issuer: 'https://token.actions.githubusercontent.com',
  github: { trigger: 'push', sha: '0123456789abcdef0123456789abcdef01234567', name: 'Release', repository: 'example-org/brain-seg', ref: 'refs/tags/v2.1.0' },
};
const DIGEST = sha256Digest(Buffer.from('an image manifest'));

function signKeyless(sigstore: TestSigstore, identity: KeylessIdentity, digest: Digest = DIGEST): SignatureLayer {
  const signedAt = new Date();
  const signer = keylessSigner(sigstore, identity, { notBefore: signedAt });
  const payload = simpleSigningPayload({ dockerReference: 'registry.sigverify.test/app', digest });
  return signLegacyLayer({ payload, signer, rekor: sigstore.rekor, integratedTime: Math.floor(signer.certificate.notBefore.getTime() / 1000) });
}

function rekorAnnotation(layer: SignatureLayer): RekorBundleAnnotation {
  return JSON.parse(layer.annotations[COSIGN_ANNOTATIONS.bundle] ?? 'null') as RekorBundleAnnotation;
}

function leafOf(layer: SignatureLayer): X509Certificate {
  return X509Certificate.parse(layer.annotations[COSIGN_ANNOTATIONS.certificate] ?? '');
}

function verificationCode(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof VerificationError) return error.code;
    throw error;
  }
}

/** The digests a signature names: simple-signing `docker-manifest-digest`, or the in-toto statement's sha256 subjects. */
function namedDigests(signature: SignatureLayer | { readonly bundle: SigstoreBundleJson }): string[] {
  let statement: Buffer;
  if ('bundle' in signature) statement = Buffer.from(signature.bundle.dsseEnvelope?.payload ?? '', 'base64');
  else if (signature.mediaType === DSSE_ENVELOPE_MEDIA_TYPE) {
    statement = Buffer.from((JSON.parse(signature.payload.toString()) as { payload: string }).payload, 'base64');
  } else {
    const payload = JSON.parse(signature.payload.toString()) as { critical: { image: Record<string, string> } };
    return [payload.critical.image['docker-manifest-digest'] ?? ''];
  }
  const parsed = JSON.parse(statement.toString()) as { subject: Array<{ digest: { sha256: string } }> };
  return parsed.subject.map((subject) => `sha256:${subject.digest.sha256}`);
}

function signStatement(digest: Digest = DIGEST, annotations: Record<string, string> = {}): Buffer {
  return inTotoStatement({ subjectDigest: digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE, subjectAnnotations: annotations, format: 'protojson' });
}

function tlogEntry(bundle: SigstoreBundleJson): TransparencyLogEntryJson {
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (!entry) throw new Error('bundle has no tlog entry');
  return entry;
}

function withTlogEntry(bundle: SigstoreBundleJson, change: (entry: TransparencyLogEntryJson) => TransparencyLogEntryJson): SigstoreBundleJson {
  return { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [change(tlogEntry(bundle))] } };
}

describe('private test Sigstore', () => {
  const sigstore = createTestSigstore();
  const root = trustedRootFor(sigstore);

  it('produces a trusted root that sigstore-js loads', () => {
    expect(root.mediaType).toBe(TRUSTED_ROOT_MEDIA_TYPE);
    const material = toTrustMaterial(TrustedRoot.fromJSON(root));
    expect(material.certificateAuthorities).toHaveLength(1);
    expect(material.certificateAuthorities[0]?.certChain.map((cert) => cert.subject.toString('hex'))).toEqual([
      sigstore.ca.intermediate.subject.subarray(2).toString('hex'),
      sigstore.ca.root.subject.subarray(2).toString('hex'),
    ]);
    expect(material.tlogs[0]?.logID.equals(sha256(spkiDer(sigstore.rekor.keyPair.publicKey)))).toBe(true);
    expect(material.ctlogs[0]?.logID.equals(sigstore.ctlog.logId)).toBe(true);
    expect(root.tlogs[0]?.baseUrl).toBe('https://rekor.sigverify.test');
    expect(root.certificateAuthorities[0]?.validFor).toEqual({ start: '2026-01-01T00:00:00Z', end: '2036-01-01T00:00:00Z' });
  });

  it('verifies a keyless signature with a URI SAN and GitHub claims', () => {
    const layer = signKeyless(sigstore, RELEASE);
    const signer = verifyLayerWithSigstoreJs(layer, root, {
      policy: {
        subjectAlternativeName: /^https:\/\/github\.com\/example-org\/brain-seg\/\.github\/workflows\/release\.yml@refs\/tags\/v2\.1\.0$/,
        extensions: { issuer: 'https://token.actions.githubusercontent.com' },
      },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(
      'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0',
    );
  });

  it('verifies a keyless signature with an email SAN', () => {
    const layer = signKeyless(sigstore, { san: { kind: 'email', value: 'ci-bot@mycompany.com' }, issuer: 'https://github.com/login/oauth' });
    const signer = verifyLayerWithSigstoreJs(layer, root, { policy: { extensions: { issuer: 'https://github.com/login/oauth' } } });
    expect(signer.identity?.subjectAlternativeName).toBe('ci-bot@mycompany.com');
  });

  it('verifies a keyless signature with an OtherName SAN, invisible to sigstore-js', () => {
    const layer = signKeyless(sigstore, { san: { kind: 'otherName', value: 'ci-bot!oidc.example' }, issuer: { v2: 'https://oidc.example' } });
    const signer = verifyLayerWithSigstoreJs(layer, root, { policy: { extensions: { issuer: 'https://oidc.example' } } });
    expect(signer.identity?.subjectAlternativeName).toBeUndefined();
    expect(readSubjectAltNames(leafOf(layer).root.toDER())).toEqual([{ kind: 'otherName', value: 'ci-bot!oidc.example' }]);
  });

  it('verifies a key-mode signature with a Rekor entry, and without one only when the tlog is ignored', () => {
    const keyPair = generateKeyPair('P-256');
    const payload = simpleSigningPayload({ dockerReference: 'registry.sigverify.test/app', digest: DIGEST });
    const logged = signLegacyLayer({ payload, signer: keySigner(keyPair), rekor: sigstore.rekor });
    expect(() => verifyLayerWithSigstoreJs(logged, root, { publicKey: keyPair.publicKey })).not.toThrow();

    const unlogged = signLegacyLayer({ payload, signer: keySigner(keyPair) });
    // No tlog entry means no trusted time either: the timestamp threshold fails first.
    expect(verificationCode(() => verifyLayerWithSigstoreJs(unlogged, root, { publicKey: keyPair.publicKey }))).toBe('TIMESTAMP_ERROR');
    expect(() => verifyLayerWithSigstoreJs(unlogged, root, { publicKey: keyPair.publicKey, ignoreTlog: true })).not.toThrow();

    const wrongKey = generateKeyPair('P-256').publicKey;
    // sigstore-js never compares the Rekor body's key (docs/formats.md pitfall 7); the signature check catches it.
    expect(verificationCode(() => verifyLayerWithSigstoreJs(logged, root, { publicKey: wrongKey }))).toBe('SIGNATURE_ERROR');
  });

  it('rejects a signature from an unrelated Sigstore (chain) and a certificate without SCT', () => {
    const other = createTestSigstore({ organization: 'other.test', commonName: 'other' });
    expect(verificationCode(() => verifyLayerWithSigstoreJs(signKeyless(other, RELEASE), root))).toBe('CERTIFICATE_ERROR');
    expect(() => verifyLayerWithSigstoreJs(signKeyless(other, RELEASE), trustedRootFor(other))).not.toThrow();

    const noSct = keylessSigner(sigstore, RELEASE, { sct: false });
    const layer = signLegacyLayer({ payload: Buffer.from('{}'), signer: noSct, rekor: sigstore.rekor });
    expect(verificationCode(() => verifyLayerWithSigstoreJs(layer, root))).toBe('CERTIFICATE_ERROR');
  });

  it('detects a tampered SET, payload and signature', () => {
    const layer = signKeyless(sigstore, RELEASE);
    const rekor = rekorAnnotation(layer);
    const shifted = { ...rekor, Payload: { ...rekor.Payload, integratedTime: rekor.Payload.integratedTime + 1 } };
    const badSet = { ...layer, annotations: { ...layer.annotations, [COSIGN_ANNOTATIONS.bundle]: JSON.stringify(shifted) } };
    expect(verificationCode(() => verifyLayerWithSigstoreJs(badSet, root))).toBe('TLOG_INCLUSION_PROMISE_ERROR');

    const otherPayload = { ...layer, payload: simpleSigningPayload({ dockerReference: 'x', digest: DIGEST }) };
    expect(verificationCode(() => verifyLayerWithSigstoreJs(otherPayload, root))).toBe('TLOG_BODY_ERROR');
  });

  it('writes the issuer and GitHub extensions with Fulcio encodings', () => {
    const cert = leafOf(signKeyless(sigstore, RELEASE));
    expect(cert.extension(OID.fulcioIssuerV1)?.value.toString('utf8')).toBe('https://token.actions.githubusercontent.com');
    expect(cert.extension(OID.fulcioIssuerV2)?.value.equals(der.utf8String('https://token.actions.githubusercontent.com'))).toBe(true);
    expect(cert.extension(OID.githubWorkflowTrigger)?.value.toString('utf8')).toBe('push');
    expect(cert.extension(OID.githubWorkflowRef)?.value.toString('utf8')).toBe('refs/tags/v2.1.0');
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(10 * 60 * 1000);

    const onlyV1 = leafOf(signKeyless(sigstore, { san: RELEASE.san, issuer: { v1: 'https://v1.example' } }));
    expect(onlyV1.extension(OID.fulcioIssuerV2)).toBeUndefined();
    const conflicting = signKeyless(sigstore, { san: RELEASE.san, issuer: { v1: 'https://one.example', v2: 'https://two.example' } });
    expect(leafOf(conflicting).extension(OID.fulcioIssuerV1)?.value.toString('utf8')).toBe('https://one.example');
    // sigstore-js prefers .1.8; our verifier must refuse the ambiguity instead.
    expect(verifyLayerWithSigstoreJs(conflicting, root).identity?.extensions?.issuer).toBe('https://two.example');
  });

  it('logs hashedrekord 0.0.1 bodies with a SET over the JCS payload and counting log indexes', () => {
    const first = rekorAnnotation(signKeyless(sigstore, RELEASE));
    const second = rekorAnnotation(signKeyless(sigstore, RELEASE));
    expect(second.Payload.logIndex).toBe(first.Payload.logIndex + 1);
    expect(first.Payload.logID).toBe(sha256(sigstore.rekor.spkiDer).toString('hex'));
    const signed = canonicalJson({
      body: first.Payload.body,
      integratedTime: first.Payload.integratedTime,
      logID: first.Payload.logID,
      logIndex: first.Payload.logIndex,
    });
    expect(cryptoVerify('sha256', Buffer.from(signed), sigstore.rekor.keyPair.publicKey, Buffer.from(first.SignedEntryTimestamp, 'base64'))).toBe(true);
    const body = Buffer.from(first.Payload.body, 'base64').toString('utf8');
    expect(body).toMatch(/^\{"apiVersion":"0\.0\.1","kind":"hashedrekord","spec":\{"data":\{"hash":\{"algorithm":"sha256","value":"[0-9a-f]{64}"\}\},"signature":\{"content":"[^"]+","publicKey":\{"content":"[^"]+"\}\}\}\}$/);
  });

  it('converts a keyless layer to a bundle v0.1 per docs/formats.md §8.2', () => {
    const layer = signKeyless(sigstore, RELEASE);
    const rekor = rekorAnnotation(layer);
    const bundle = legacyLayerToBundleV01(layer) as {
      verificationMaterial: { tlogEntries: Array<{ logId: { keyId: string }; canonicalizedBody: string }> };
    };
    expect(bundle.verificationMaterial.tlogEntries[0]?.logId.keyId).toBe(Buffer.from(rekor.Payload.logID, 'hex').toString('base64'));
    expect(bundle.verificationMaterial.tlogEntries[0]?.canonicalizedBody).toBe(rekor.Payload.body);
  });
});

describe('Sigstore bundles v0.3', () => {
  const sigstore = createTestSigstore();
  const root = trustedRootFor(sigstore);
  const keylessBundle = (target: TestSigstore = sigstore, options: { tsa?: boolean } = {}) => {
    const signer = keylessSigner(target, RELEASE, { notBefore: new Date() });
    return signDsseBundle({
      payload: signStatement(),
      signer,
      rekor: target.rekor,
      ...(options.tsa === false || !target.tsa ? {} : { tsa: target.tsa }),
      integratedTime: Math.floor(signer.certificate.notBefore.getTime() / 1000),
    });
  };

  it('writes in-toto statements as cosign v3 sign and actions/attest do', () => {
    const hex = 'ab'.repeat(32);
    const sign = inTotoStatement({ subjectDigest: `sha256:${hex}`, predicateType: COSIGN_SIGN_PREDICATE_TYPE, subjectAnnotations: {}, format: 'protojson' });
    expect(sign.toString()).toBe(
      `{"_type":"https://in-toto.io/Statement/v1", "subject":[{"digest":{"sha256":"${hex}"}, "annotations":{}}], "predicateType":"https://sigstore.dev/cosign/sign/v1", "predicate":{}}`,
    );
    const provenance = inTotoStatement({ subjectDigest: hex, subjectName: 'registry.sigverify.test/app', predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE, predicate: { a: 1 } });
    expect(provenance.toString()).toBe(
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.sigverify.test/app","digest":{"sha256":"${hex}"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"a":1}}`,
    );
  });

  it('signs DSSE over the pre-authentication encoding', () => {
    // The DSSE spec's example (secure-systems-lab/dsse protocol.md).
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    const keyPair = generateKeyPair('P-256');
    const envelope = signDsse(Buffer.from('{}'), IN_TOTO_PAYLOAD_TYPE, keyPair);
    expect(envelope).toEqual({ payload: 'e30=', payloadType: IN_TOTO_PAYLOAD_TYPE, signatures: [{ sig: expect.any(String) as string }] });
    const signature = Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64');
    expect(cryptoVerify('sha256', pae(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{}')), keyPair.publicKey, signature)).toBe(true);
    const body = dsseRekorBody(envelope, 'PEM');
    expect(body.spec.payloadHash.value).toBe(sha256(Buffer.from('{}')).toString('hex'));
    expect(body.spec.signatures).toEqual([{ signature: envelope.signatures[0]?.sig, verifier: Buffer.from('PEM').toString('base64') }]);
  });

  it('verifies a keyless DSSE bundle with a Rekor dsse entry (promise, proof, checkpoint) and an RFC 3161 timestamp', () => {
    const bundle = keylessBundle();
    expect(bundle.mediaType).toBe(BUNDLE_V03_MEDIA_TYPE);
    expect(Object.keys(bundle.verificationMaterial)).toEqual(['certificate', 'tlogEntries', 'timestampVerificationData']);
    const entry = tlogEntry(bundle);
    expect(entry.kindVersion).toEqual({ kind: 'dsse', version: '0.0.1' });
    expect(entry.inclusionProof).toMatchObject({ logIndex: '0', treeSize: '1', hashes: [] });
    const body = Buffer.from(entry.canonicalizedBody, 'base64');
    expect(entry.inclusionProof?.rootHash).toBe(sha256(Buffer.concat([Buffer.from([0]), body])).toString('base64'));
    expect(body.toString()).toMatch(/^\{"apiVersion":"0\.0\.1","kind":"dsse","spec":\{"envelopeHash":\{"algorithm":"sha256","value":"[0-9a-f]{64}"\},"payloadHash":\{"algorithm":"sha256","value":"[0-9a-f]{64}"\},"signatures":\[\{"signature":"[^"]+","verifier":"[^"]+"\}\]\}\}$/);
    const checkpoint = entry.inclusionProof?.checkpoint.envelope ?? '';
    expect(checkpoint).toMatch(/^rekor\.sigverify\.test - \d+\n1\n[A-Za-z0-9+/=]+\nTimestamp: \d+\n\n\u2014 rekor\.sigverify\.test \S+\n$/);
    expect(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
    const signer = verifyBundleWithSigstoreJs(bundle, root, { policy: { extensions: { issuer: 'https://token.actions.githubusercontent.com' } } });
    expect(signer.identity?.subjectAlternativeName).toBe(
      'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0',
    );
  });

  it('verifies with the inclusion proof alone, and with the TSA timestamp as the only time', () => {
    const bundle = keylessBundle();
    const proofOnly = withTlogEntry(bundle, ({ inclusionPromise: _promise, ...entry }) => entry);
    expect(() => verifyBundleWithSigstoreJs(proofOnly, root)).not.toThrow();
    // Without the SET nor a TSA there is no trusted time at all (docs/formats.md pitfall 10).
    const noTime = { ...proofOnly, verificationMaterial: { ...proofOnly.verificationMaterial, timestampVerificationData: { rfc3161Timestamps: [] } } };
    expect(verificationCode(() => verifyBundleWithSigstoreJs(noTime, root))).toBe('TIMESTAMP_ERROR');
  });

  it('rejects a checkpoint whose signer name is not part of the trusted baseUrl (docs/formats.md pitfall 11), and a broken proof', () => {
    const bundle = keylessBundle();
    const elsewhere = { ...root, tlogs: root.tlogs.map((tlog) => ({ ...tlog, baseUrl: 'https://transparency.example' })) };
    expect(verificationCode(() => verifyBundleWithSigstoreJs(bundle, elsewhere))).toBe('TLOG_INCLUSION_PROOF_ERROR');
    const wrongRoot = withTlogEntry(bundle, (entry) => ({
      ...entry,
      inclusionProof: entry.inclusionProof && { ...entry.inclusionProof, rootHash: sha256('x').toString('base64') },
    }));
    // The checkpoint still names the right root; the proof's own rootHash is not what sigstore-js checks.
    expect(() => verifyBundleWithSigstoreJs(wrongRoot, root)).not.toThrow();
    const otherIndex = withTlogEntry(bundle, (entry) => ({ ...entry, inclusionProof: entry.inclusionProof && { ...entry.inclusionProof, logIndex: '1' } }));
    expect(verificationCode(() => verifyBundleWithSigstoreJs(otherIndex, root))).toBe('TLOG_INCLUSION_PROOF_ERROR');
  });

  it('cannot carry a SET-only entry in a v0.3 bundle (docs/formats.md pitfall 2)', () => {
    const bundle = keylessBundle();
    const setOnly = withTlogEntry(bundle, ({ inclusionProof: _proof, ...entry }) => entry);
    expect(() => bundleFromJSON(setOnly)).toThrow(/invalid bundle/);
  });

  it('rejects a timestamp from a TSA the trusted root does not name, and one over other bytes', () => {
    const bundle = keylessBundle();
    const noTsa = { ...root, timestampAuthorities: [] };
    expect(verificationCode(() => verifyBundleWithSigstoreJs(bundle, noTsa))).toBe('TIMESTAMP_ERROR');
    const tsa = sigstore.tsa;
    if (!tsa) throw new Error('the test Sigstore has a TSA');
    const otherBytes = {
      ...bundle,
      verificationMaterial: { ...bundle.verificationMaterial, timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: tsa.timestamp(Buffer.from('other')) }] } },
    };
    expect(verificationCode(() => verifyBundleWithSigstoreJs(otherBytes, root))).toBe('TIMESTAMP_ERROR');
  });

  it('writes RFC 3161 responses sigstore-js parses: genTime, signer and imprint', () => {
    const tsa = sigstore.tsa;
    if (!tsa) throw new Error('the test Sigstore has a TSA');
    const genTime = new Date('2026-06-01T12:00:00Z');
    const timestamp = RFC3161Timestamp.parse(Buffer.from(tsa.timestamp(Buffer.from('signature'), { genTime }), 'base64'));
    expect(timestamp.status).toBe(0n);
    expect(timestamp.signingTime).toEqual(genTime);
    expect(timestamp.signerSerialNumber.equals(X509Certificate.parse(tsa.signer.pem).serialNumber)).toBe(true);
    expect(() => {
      timestamp.verify(Buffer.from('signature'), tsa.signer.keyPair.publicKey);
    }).not.toThrow();
    expect(() => {
      timestamp.verify(Buffer.from('other'), tsa.signer.keyPair.publicKey);
    }).toThrow(/message imprint/);
    const eku = X509Certificate.parse(tsa.signer.pem).extension(OID.extendedKeyUsage);
    expect(eku?.critical).toBe(true);
  });

  it('verifies a key-mode bundle by its public-key hint, and refuses another key', () => {
    const keyPair = generateKeyPair('P-256');
    const bundle = signDsseBundle({ payload: signStatement(), signer: keySigner(keyPair), rekor: sigstore.rekor, ...(sigstore.tsa ? { tsa: sigstore.tsa } : {}) });
    expect(bundle.verificationMaterial.publicKey).toEqual({ hint: sha256(spkiDer(keyPair.publicKey)).toString('base64') });
    expect(publicKeyHint(keyPair.publicKey)).toBe(bundle.verificationMaterial.publicKey?.hint);
    expect(() => verifyBundleWithSigstoreJs(bundle, root, { publicKey: keyPair.publicKey })).not.toThrow();
    expect(verificationCode(() => verifyBundleWithSigstoreJs(bundle, root, { publicKey: generateKeyPair('P-256').publicKey }))).toBe('SIGNATURE_ERROR');
  });

  it('verifies a message-signature bundle with a hashedrekord entry, given the artifact', () => {
    const signer = keylessSigner(sigstore, RELEASE, { notBefore: new Date() });
    const artifact = Buffer.from('an artifact');
    const signature = ecdsaSign(signer.privateKey, artifact);
    const body = hashedRekordBody({ payload: artifact, signature, publicKeyPem: signer.certPem });
    const bundle = sigstoreBundleV03({
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: sha256(artifact).toString('base64') }, signature: signature.toString('base64') },
      signer,
      tlogEntries: [sigstore.rekor.logTransparencyEntry(body, Math.floor(signer.certificate.notBefore.getTime() / 1000))],
    });
    expect(() => verifyBundleWithSigstoreJs(bundle, root, { artifact })).not.toThrow();
    // The body is compared with the bundle's digest; the artifact only with the signature.
    expect(verificationCode(() => verifyBundleWithSigstoreJs(bundle, root, { artifact: Buffer.from('other') }))).toBe('SIGNATURE_ERROR');
  });

  it('fails a bundle from an unrelated Sigstore at the certificate chain, and verifies it under its own root', () => {
    const other = createTestSigstore({ organization: 'other.test', commonName: 'other', tsa: false });
    const bundle = keylessBundle(other);
    expect(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toEqual([]);
    expect(verificationCode(() => verifyBundleWithSigstoreJs(bundle, root))).toBe('CERTIFICATE_ERROR');
    expect(() => verifyBundleWithSigstoreJs(bundle, trustedRootFor(other))).not.toThrow();
  });

  it('names the checkpoint after the Rekor URL host', () => {
    const rekor = createRekor({ url: 'https://log.example:8443' });
    expect(rekor.origin).toMatch(/^log\.example:8443 - \d+$/);
    const entry = rekor.logTransparencyEntry({ apiVersion: '0.0.1', kind: 'dsse', spec: {} }, 1_800_000_000, { inclusionPromise: false });
    expect(entry.inclusionPromise).toBeUndefined();
    expect(entry.inclusionProof?.checkpoint.envelope).toContain('\n\u2014 log.example:8443 ');
  });
});

describe('legacy attestations (.att)', () => {
  const sigstore = createTestSigstore();
  const root = trustedRootFor(sigstore);
  const attest = () => {
    const signer = keylessSigner(sigstore, RELEASE, { notBefore: new Date() });
    const statement = inTotoStatement({ subjectDigest: DIGEST, subjectName: 'registry.sigverify.test/app', predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE });
    return signLegacyAttestationLayer({
      statement,
      predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE,
      signer,
      rekor: sigstore.rekor,
      integratedTime: Math.floor(signer.certificate.notBefore.getTime() / 1000),
    });
  };

  it('writes the layer cosign attest writes: DSSE envelope blob, empty signature, predicateType, dsse entry with a SET', () => {
    const layer = attest();
    expect(layer.mediaType).toBe(DSSE_ENVELOPE_MEDIA_TYPE);
    expect(layer.annotations[COSIGN_ANNOTATIONS.signature]).toBe('');
    expect(layer.annotations[COSIGN_ANNOTATIONS.predicateType]).toBe(SLSA_PROVENANCE_V1_PREDICATE_TYPE);
    expect(Object.keys(layer.annotations).sort()).toEqual(
      [COSIGN_ANNOTATIONS.signature, COSIGN_ANNOTATIONS.predicateType, COSIGN_ANNOTATIONS.certificate, COSIGN_ANNOTATIONS.chain, COSIGN_ANNOTATIONS.bundle].sort(),
    );
    expect(layer.payload.toString()).toMatch(/^\{"payloadType":"application\/vnd\.in-toto\+json","payload":"[^"]+","signatures":\[\{"keyid":"","sig":"[^"]+"\}\]\}$/);
    const body = JSON.parse(Buffer.from(rekorAnnotation(layer).Payload.body, 'base64').toString()) as { kind: string; spec: { envelopeHash: { value: string } } };
    expect(body.kind).toBe('dsse');
    expect(body.spec.envelopeHash.value).toBe(sha256(layer.payload).toString('hex'));
  });

  it('converts to a v0.1 DSSE bundle (promise only) that verifies, and detects a changed statement', () => {
    const layer = attest();
    const bundle = legacyLayerToBundleV01(layer) as { dsseEnvelope?: unknown; messageSignature?: unknown };
    expect(bundle.dsseEnvelope).toBeDefined();
    expect(bundle.messageSignature).toBeUndefined();
    expect(() => verifyLayerWithSigstoreJs(layer, root)).not.toThrow();
    const envelope = JSON.parse(layer.payload.toString()) as { payload: string };
    const changed = { ...layer, payload: Buffer.from(JSON.stringify({ ...JSON.parse(layer.payload.toString()) as object, payload: Buffer.from(`${Buffer.from(envelope.payload, 'base64').toString()} `).toString('base64') })) };
    expect(verificationCode(() => verifyLayerWithSigstoreJs(changed, root))).toBe('TLOG_BODY_ERROR');
  });
});

describe('OCI referrers', () => {
  const image = makeImage('referred');
  const bundle = Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
  const created = new Date('2026-02-03T04:05:06.789Z');

  it('writes the cosign referrer manifest (artifactType inside the config, created to the second)', () => {
    const referrer = makeReferrerManifest({ bundleBytes: bundle, subject: descriptorOf(image), predicateType: COSIGN_SIGN_PREDICATE_TYPE, style: 'cosign', created });
    expect(referrer.manifestBytes.toString()).toBe(
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"},` +
        `"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":${bundle.length},"digest":"${sha256Digest(bundle)}"}],` +
        `"annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1","org.opencontainers.image.created":"2026-02-03T04:05:06Z"},` +
        `"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":${image.manifestBytes.length},"digest":"${image.digest}"},"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`,
    );
    expect([...referrer.blobs.keys()].sort()).toEqual([sha256Digest(EMPTY_JSON_BLOB), sha256Digest(bundle)].sort());
  });

  it('writes the @sigstore/oci referrer manifest (plain empty config, created with milliseconds)', () => {
    const referrer = makeReferrerManifest({ bundleBytes: bundle, subject: descriptorOf(image), predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE, style: 'sigstore-oci', created });
    const manifest = JSON.parse(referrer.manifestBytes.toString()) as Record<string, unknown>;
    expect(Object.keys(manifest)).toEqual(['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'subject', 'annotations']);
    expect(manifest['config']).toEqual({ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Digest(EMPTY_JSON_BLOB), size: 2 });
    expect(manifest['annotations']).toEqual({
      'org.opencontainers.image.created': '2026-02-03T04:05:06.789Z',
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': SLSA_PROVENANCE_V1_PREDICATE_TYPE,
    });
  });

  it('writes the tag-schema index as go-containerregistry (sorted, no annotations) and @sigstore/oci (annotated) do', () => {
    const referrers = ['a', 'b', 'c'].map((seed) =>
      makeReferrerManifest({ bundleBytes: Buffer.from(seed), subject: descriptorOf(image), predicateType: COSIGN_SIGN_PREDICATE_TYPE, style: 'cosign', created }),
    );
    const ggcr = JSON.parse(makeReferrersIndex(referrers, { withAnnotations: false }).manifestBytes.toString()) as { manifests: Array<Record<string, unknown>> };
    expect(ggcr.manifests.map((entry) => entry['digest'])).toEqual(referrers.map((r) => r.digest).sort());
    expect(ggcr.manifests.every((entry) => Object.keys(entry).join() === 'mediaType,size,digest,artifactType')).toBe(true);
    const oci = makeReferrersIndex(referrers, { withAnnotations: true });
    const parsed = JSON.parse(oci.manifestBytes.toString()) as { manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string> }> };
    expect(parsed.manifests.map((entry) => entry.digest)).toEqual(referrers.map((r) => r.digest));
    expect(parsed.manifests[0]?.annotations['dev.sigstore.bundle.predicateType']).toBe(COSIGN_SIGN_PREDICATE_TYPE);
    expect(parsed.manifests[0]?.artifactType).toBe(BUNDLE_V03_MEDIA_TYPE);
    expect(oci.manifests).toHaveLength(3);
  });

  it('stores a signed bundle as a referrer that reads back through the index', async () => {
    const sigstore = createTestSigstore();
    const signer = keylessSigner(sigstore, RELEASE, { notBefore: new Date() });
    const signed = signDsseBundle({ payload: signStatement(image.digest), signer, rekor: sigstore.rekor, integratedTime: Math.floor(signer.certificate.notBefore.getTime() / 1000) });
    const referrer = makeReferrerManifest({ bundleBytes: bundleBytes(signed), subject: descriptorOf(image), predicateType: COSIGN_SIGN_PREDICATE_TYPE, style: 'cosign', created });
    const dir = await mkdtemp(join(tmpdir(), 'sigverify-referrers-'));
    try {
      await writeOciLayout(dir, [
        { object: image, tag: 'referred' },
        { object: referrer },
        { object: makeReferrersIndex([referrer], { withAnnotations: false }), tag: `sha256-${image.digest.slice(7)}` },
      ]);
      const [stored, ...rest] = await readReferrers(dir, image.digest);
      expect(rest).toEqual([]);
      expect(stored?.descriptor.digest).toBe(referrer.digest);
      expect(JSON.parse(stored?.bundle.toString() ?? '')).toEqual(signed);
      expect(() => verifyBundleWithSigstoreJs(signed, trustedRootFor(sigstore))).not.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cosign legacy byte forms', () => {
  it('writes the simple-signing payload exactly as cosign does', () => {
    const digest = `sha256:${'ab'.repeat(32)}` as const;
    expect(simpleSigningPayload({ dockerReference: 'index.docker.io/library/app', digest }).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"index.docker.io/library/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
    );
    expect(simpleSigningPayload({ dockerReference: 'r', digest, optional: { z: '1', a: '<&>' } }).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":{"a":"\\u003c\\u0026\\u003e","z":"1"}}`,
    );
  });

  it('writes the keyless annotations and the cosign signature manifest', () => {
    const sigstore = createTestSigstore();
    const layer = signKeyless(sigstore, RELEASE);
    expect(Object.keys(layer.annotations).sort()).toEqual([
      COSIGN_ANNOTATIONS.signature,
      COSIGN_ANNOTATIONS.bundle,
      COSIGN_ANNOTATIONS.certificate,
      COSIGN_ANNOTATIONS.chain,
    ].sort());
    expect(layer.annotations[COSIGN_ANNOTATIONS.chain]).toBe(chainPem(sigstore.ca));

    const manifest = makeSignatureManifest([layer, layer]);
    const parsed = JSON.parse(manifest.manifestBytes.toString()) as { config: { digest: Digest }; layers: Array<{ digest: Digest; size: number }> };
    const config = manifest.blobs.get(parsed.config.digest)?.toString();
    const diff = sha256Digest(layer.payload);
    expect(config).toBe(
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"},{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${diff}","${diff}"]},"config":{}}`,
    );
    expect(parsed.layers[0]).toMatchObject({ digest: diff, size: layer.payload.length });
    const single = makeSignatureManifest([layer]);
    const singleConfig = (JSON.parse(single.manifestBytes.toString()) as { config: { digest: Digest; size: number } }).config;
    expect(singleConfig.size).toBe(233); // cosign's one-layer config (docs/formats.md §1.2)
  });
});

describe('OCI layout writer', () => {
  it('writes deterministic images, indexes and signature manifests, readable by tag', async () => {
    expect(makeImage('seed').digest).toBe(makeImage('seed').digest);
    expect(makeImage('seed').digest).not.toBe(makeImage('other').digest);
    const index = makeIndex([
      makeImage('m', { platform: { os: 'linux', architecture: 'amd64' } }),
      makeImage('m', { platform: { os: 'linux', architecture: 'arm64' } }),
    ]);
    const sigstore = createTestSigstore();
    const layer = signKeyless(sigstore, RELEASE, index.digest);

    const dir = await mkdtemp(join(tmpdir(), 'sigverify-layout-'));
    try {
      await writeOciLayout(dir, [
        { object: index, tag: 'multi' },
        { object: makeSignatureManifest([layer]), tag: signatureTag(index.digest) },
      ]);
      expect(await readFile(join(dir, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}');
      const layout = await readOciLayout(dir);
      expect(layout.tags.get('multi')?.digest).toBe(index.digest);
      for (const child of index.manifests) expect(sha256Digest(await layout.blob(child.digest))).toBe(child.digest);
      const blobs = await readdir(join(dir, 'blobs', 'sha256'));
      // index, 2 child manifests, 2 configs, 1 layer (same seed: shared), signature manifest, its config, payload
      expect(blobs).toHaveLength(9);
      const [read] = await readLegacySignatureLayers(dir, index.digest);
      expect(read?.payload.equals(layer.payload)).toBe(true);
      expect(read?.annotations).toEqual(layer.annotations);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('committed fixtures', () => {
  it('match fixtures.json and verify with @sigstore/verify as recorded', async () => {
    const manifest = await readFixtureManifest();
    const layoutDir = join(FIXTURES_DIR, manifest.layout);
    const layout = await readOciLayout(layoutDir);
    const roots = { test: await readFixtureTrustedRoot('test'), other: await readFixtureTrustedRoot('other') };
    for (const name of ['test', 'other'] as const) {
      const bytes = await readFile(join(FIXTURES_DIR, manifest.trustedRoots[name].path));
      expect(sha256(bytes).toString('hex')).toBe(manifest.trustedRoots[name].sha256);
    }
    const publicKeys = new Map<string, string>();
    for (const key of Object.values(manifest.keys)) {
      publicKeys.set(key.publicKey, await readFile(join(FIXTURES_DIR, key.publicKey), 'utf8'));
    }
    const publicKeyFor = (keyFile: string) => createPublicKey(publicKeys.get(keyFile) ?? '');

    for (const image of Object.values(manifest.images)) {
      expect(layout.tags.get(image.tag)?.digest, image.tag).toBe(image.digest);
      const signatures = await readFixtureSignatures(layoutDir, image);
      for (const [index, signature] of signatures.entries()) {
        expect(namedDigests(signature), `${image.tag} #${index}`).toContain(image.digest);
        expect('bundle' in signature ? 'sigstore-bundle' : 'cosign-legacy').toBe(image.signatures[index]?.format);
      }
      for (const { trustedRoot, policy, ...expected } of image.expectations) {
        const actual = oracleOutcome(signatures, roots[trustedRoot], policy, publicKeyFor);
        const { note: _note, ...comparable } = expected;
        expect(actual, `${image.tag} under ${trustedRoot} ${JSON.stringify(policy)}`).toEqual(comparable);
      }
      for (const child of image.platforms ?? []) {
        expect(await readLegacySignatureLayers(layoutDir, child.digest as Digest)).toEqual([]);
      }
    }
  });

  it('stores referrers untagged in the layout and lists them in a sha256-<hex> index', async () => {
    const manifest = await readFixtureManifest();
    const index = JSON.parse(await readFile(join(FIXTURES_DIR, manifest.layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
    };
    const untagged = new Set(index.manifests.filter((entry) => entry.annotations === undefined).map((entry) => entry.digest));
    const referrers = Object.values(manifest.images).flatMap((image) => image.signatures.flatMap((s) => (s.referrer ? [s.referrer.digest] : [])));
    expect(referrers).toHaveLength(8);
    expect(new Set(referrers)).toEqual(untagged);
    const layout = await readOciLayout(join(FIXTURES_DIR, manifest.layout));
    for (const image of Object.values(manifest.images)) {
      if (image.referrersTag === null) continue;
      expect(image.referrersTag).toBe(`sha256-${image.digest.slice('sha256:'.length)}`);
      expect(layout.tags.get(image.referrersTag)?.digest).toBe(image.referrersIndexDigest);
    }
  });

  it('fails the other-Sigstore fixtures against our trusted root at the certificate chain', async () => {
    const manifest = await readFixtureManifest();
    const root = await readFixtureTrustedRoot('test');
    for (const tag of ['signed-other-sigstore', 'bundle-other-sigstore']) {
      const image = manifest.images[tag];
      if (!image) throw new Error(`fixture ${tag} is missing`);
      const [signature, ...rest] = await readFixtureSignatures(join(FIXTURES_DIR, manifest.layout), image);
      expect(rest).toEqual([]);
      if (!signature) throw new Error(`fixture ${tag} has no signature`);
      const run = 'bundle' in signature ? () => verifyBundleWithSigstoreJs(signature.bundle, root) : () => verifyLayerWithSigstoreJs(signature, root);
      expect(verificationCode(run), tag).toBe('CERTIFICATE_ERROR');
    }
  });

  it('adds a TSA to our trusted root and keeps the other one without', async () => {
    const test = await readFixtureTrustedRoot('test');
    const other = await readFixtureTrustedRoot('other');
    expect(test.timestampAuthorities).toHaveLength(1);
    expect(test.timestampAuthorities[0]?.validFor).toEqual({ start: '2026-01-01T00:00:00Z' });
    expect(test.timestampAuthorities[0]?.certChain.certificates).toHaveLength(2);
    expect(other.timestampAuthorities).toEqual([]);
    const sigstore = await loadFixtureSigstore('test');
    expect(trustedRootFor(sigstore)).toEqual(test);
  });

  it('records the sigstore-js outcome of every bundle, whatever its predicate type', async () => {
    const manifest = await readFixtureManifest();
    const signed = manifest.images['bundle-signed']?.signatures[0];
    expect(signed).toMatchObject({
      format: 'sigstore-bundle',
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      subjectAnnotations: { release: 'v2.1.0' },
      referrer: { style: 'cosign' },
      tlog: { kind: 'dsse', inclusionProof: true },
      tsa: { sigstore: 'test' },
    });
    expect(manifest.images['bundle-provenance']?.signatures[0]).toMatchObject({
      predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE,
      referrer: { style: 'sigstore-oci' },
      tsa: null,
    });
    expect(manifest.images['bundle-multi']?.signatures.map((s) => s.predicateType)).toEqual([
      COSIGN_SIGN_PREDICATE_TYPE,
      SLSA_PROVENANCE_V1_PREDICATE_TYPE,
      'https://example.com/unrelated/v1',
    ]);
    expect(manifest.images['attested-legacy']?.signatures.map((s) => [s.format, s.manifestTag?.slice(-4), s.tlog?.kind])).toEqual([
      ['cosign-legacy', '.sig', 'hashedrekord'],
      ['cosign-legacy', '.att', 'dsse'],
    ]);
  });

  it('lets tests sign new variants under the committed trust roots', async () => {
    const sigstore = await loadFixtureSigstore('test', { firstLogIndex: 9000 });
    const root = await readFixtureTrustedRoot('test');
    const layer = signKeyless(sigstore, RELEASE);
    expect(rekorAnnotation(layer).Payload.logIndex).toBe(9000);
    expect(layersVerifiedByOracle([layer], root, { kind: 'keyless', identity: { kind: 'uri', value: 'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0' }, issuer: 'https://token.actions.githubusercontent.com' }, () => {
      throw new Error('no keys');
    })).toEqual([0]);
    const cosignKey = await loadFixtureKey('cosign');
    const keyLayer = signLegacyLayer({ payload: Buffer.from('{}'), signer: keySigner(cosignKey), rekor: sigstore.rekor });
    expect(() => verifyLayerWithSigstoreJs(keyLayer, root, { publicKey: cosignKey.publicKey })).not.toThrow();
  });
});
