/**
 * Proof that the private test Sigstore mints valid Sigstore material: its
 * trusted root loads in sigstore-js, and legacy cosign layers it signs,
 * converted to bundle v0.1 (cosign-formats §8.2), verify with
 * @sigstore/verify — keyless (URI, email, OtherName SANs) and key mode. Also
 * pins the exact byte forms cosign writes, and checks the committed fixtures.
 */
import { X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { VerificationError, toTrustMaterial } from '@sigstore/verify';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Digest, type Digest } from '../../src/reference/digest.ts';
import {
  COSIGN_ANNOTATIONS,
  FIXTURES_DIR,
  OID,
  TRUSTED_ROOT_MEDIA_TYPE,
  canonicalJson,
  chainPem,
  createTestSigstore,
  der,
  generateKeyPair,
  keySigner,
  keylessSigner,
  layersVerifiedByOracle,
  legacyLayerToBundleV01,
  loadFixtureKey,
  loadFixtureSigstore,
  makeImage,
  makeIndex,
  makeSignatureManifest,
  oracleOutcome,
  readFixtureManifest,
  readFixtureTrustedRoot,
  readLegacySignatureLayers,
  readOciLayout,
  readSubjectAltNames,
  sha256,
  signLegacyLayer,
  signatureTag,
  simpleSigningPayload,
  spkiDer,
  trustedRootFor,
  verifyLayerWithSigstoreJs,
  writeOciLayout,
  type KeylessIdentity,
  type RekorBundleAnnotation,
  type SignatureLayer,
  type TestSigstore,
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
    // sigstore-js never compares the Rekor body's key (pitfall 7); the signature check catches it.
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

  it('converts a keyless layer to a bundle v0.1 per cosign-formats §8.2', () => {
    const layer = signKeyless(sigstore, RELEASE);
    const rekor = rekorAnnotation(layer);
    const bundle = legacyLayerToBundleV01(layer) as {
      verificationMaterial: { tlogEntries: Array<{ logId: { keyId: string }; canonicalizedBody: string }> };
    };
    expect(bundle.verificationMaterial.tlogEntries[0]?.logId.keyId).toBe(Buffer.from(rekor.Payload.logID, 'hex').toString('base64'));
    expect(bundle.verificationMaterial.tlogEntries[0]?.canonicalizedBody).toBe(rekor.Payload.body);
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
    expect(singleConfig.size).toBe(233); // cosign's one-layer config (cosign-formats §1.2)
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
      const layers = await readLegacySignatureLayers(layoutDir, image.digest as Digest);
      expect(layers, image.tag).toHaveLength(image.signatures.length);
      for (const layer of layers) {
        const payload = JSON.parse(layer.payload.toString()) as { critical: { image: Record<string, string> } };
        expect(payload.critical.image['docker-manifest-digest']).toBe(image.digest);
      }
      for (const { trustedRoot, policy, ...expected } of image.expectations) {
        const actual = oracleOutcome(layers, roots[trustedRoot], policy, publicKeyFor);
        const { note: _note, ...comparable } = expected;
        expect(actual, `${image.tag} under ${trustedRoot} ${JSON.stringify(policy)}`).toEqual(comparable);
      }
      for (const child of image.platforms ?? []) {
        expect(await readLegacySignatureLayers(layoutDir, child.digest as Digest)).toEqual([]);
      }
    }
  });

  it('fails signed-other-sigstore against our trusted root at the certificate chain', async () => {
    const manifest = await readFixtureManifest();
    const image = manifest.images['signed-other-sigstore'];
    expect(image).toBeDefined();
    const layers = await readLegacySignatureLayers(join(FIXTURES_DIR, manifest.layout), image?.digest as Digest);
    const root = await readFixtureTrustedRoot('test');
    expect(layers).toHaveLength(1);
    for (const layer of layers) expect(verificationCode(() => verifyLayerWithSigstoreJs(layer, root))).toBe('CERTIFICATE_ERROR');
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
