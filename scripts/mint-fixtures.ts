/**
 * Mints the committed test fixtures under fixtures/ (see fixtures/README.md):
 * two private Sigstores (keys reused between runs so the trusted roots stay
 * stable; `--new-keys` replaces them), key-mode keys, the trusted roots, one
 * OCI image layout holding small images and their legacy cosign `.sig`
 * manifests, and fixtures.json describing what each image must verify to.
 *
 * Image bytes are deterministic; certificates, signatures and Rekor entries
 * are made fresh at "now" on every run. The script ends with a self-check:
 * every signature layer is converted to a bundle v0.1 (cosign-formats §8.2)
 * and verified with @sigstore/verify, and every expectation in fixtures.json
 * is recomputed from those results.
 *
 *   npm run fixtures [-- --new-keys]
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { sha256Digest } from '../src/reference/digest.ts';
import {
  COSIGN_ANNOTATIONS,
  FIXTURES_DIR,
  FIXTURE_SIGSTORES,
  createTestSigstore,
  generateKeyPair,
  keyFiles,
  keySigner,
  keylessSigner,
  layoutBlobs,
  makeImage,
  makeIndex,
  makeSignatureManifest,
  oracleOutcome,
  readKeyPair,
  readSigstoreMaterial,
  signLegacyLayer,
  simpleSigningPayload,
  signatureTag,
  sigstoreDir,
  testSigstoreFromMaterial,
  testSigstoreMaterial,
  trustedRootFor,
  writeKeyPair,
  writeOciLayout,
  writeSigstoreMaterial,
  type FixtureExpectation,
  type FixtureImage,
  type FixtureKeyName,
  type FixtureManifest,
  type FixturePolicy,
  type FixtureSignature,
  type FixtureSigstoreName,
  type KeyPair,
  type KeylessIdentity,
  type LayoutEntry,
  type OciObject,
  type RekorBundleAnnotation,
  type SignatureLayer,
  type SubjectAltName,
  type TestSigstore,
  type TrustedRootJson,
} from '../test/helpers/sigstore/index.ts';

const REPOSITORY = 'registry.sigverify.test/fixtures';
const LAYOUT = 'layout';

// ---------------------------------------------------------------------------
// Identities

const RELEASE: KeylessIdentity & { readonly san: SubjectAltName; readonly issuer: string } = {
  san: { kind: 'uri', value: 'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0' },
  issuer: 'https://token.actions.githubusercontent.com',
  github: {
    trigger: 'push',
    sha: '0123456789abcdef0123456789abcdef01234567',
    name: 'Release',
    repository: 'example-org/brain-seg',
    ref: 'refs/tags/v2.1.0',
  },
};

const EMAIL: KeylessIdentity & { readonly san: SubjectAltName; readonly issuer: string } = {
  san: { kind: 'email', value: 'ci-bot@mycompany.com' },
  issuer: 'https://github.com/login/oauth',
};

const OTHERNAME: KeylessIdentity & { readonly san: SubjectAltName } = {
  san: { kind: 'otherName', value: 'ci-bot!oidc.example' },
  issuer: { v2: 'https://oidc.example' },
};

const releasePolicy: FixturePolicy = { kind: 'keyless', identity: RELEASE.san, issuer: RELEASE.issuer };
const keyPolicy = (name: FixtureKeyName, insecureIgnoreTlog = false): FixturePolicy => ({
  kind: 'key',
  keyFile: keyFiles(name).publicKey,
  ...(insecureIgnoreTlog ? { insecureIgnoreTlog } : {}),
});

// ---------------------------------------------------------------------------
// What to mint

type SignatureSpec =
  | {
      readonly kind: 'keyless';
      readonly sigstore: FixtureSigstoreName;
      readonly identity: KeylessIdentity & { readonly san: SubjectAltName };
      readonly optional?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'key'; readonly key: FixtureKeyName; readonly tlog: boolean };

interface ImageSpec {
  readonly tag: string;
  readonly description: string;
  readonly image: OciObject;
  readonly signatures: readonly SignatureSpec[];
  readonly expectations: readonly FixtureExpectation[];
}

function imageSpecs(): ImageSpec[] {
  const keylessRelease: SignatureSpec = { kind: 'keyless', sigstore: 'test', identity: RELEASE };
  return [
    {
      tag: 'signed',
      description: 'keyless, GitHub Actions URI identity (.1.1 and .1.8 issuer, .1.2-.1.6 claims), Rekor entry, -a release=v2.1.0',
      image: makeImage('signed'),
      signatures: [{ ...keylessRelease, optional: { release: 'v2.1.0' } }],
      expectations: [
        { trustedRoot: 'test', policy: releasePolicy, outcome: 'verified', verifiedLayers: [0] },
        {
          trustedRoot: 'other',
          policy: releasePolicy,
          outcome: 'rejected',
          code: 'NO_MATCHING_SIGNATURE',
          note: 'certificate does not chain to the other Sigstore',
        },
      ],
    },
    {
      tag: 'signed-email',
      description: 'keyless, email SAN, Rekor entry',
      image: makeImage('signed-email'),
      signatures: [{ kind: 'keyless', sigstore: 'test', identity: EMAIL }],
      expectations: [
        {
          trustedRoot: 'test',
          policy: { kind: 'keyless', identity: EMAIL.san, issuer: EMAIL.issuer },
          outcome: 'verified',
          verifiedLayers: [0],
        },
        {
          trustedRoot: 'test',
          policy: releasePolicy,
          outcome: 'rejected',
          code: 'NO_MATCHING_SIGNATURE',
          note: 'identity mismatch',
        },
      ],
    },
    {
      tag: 'signed-othername',
      description: 'keyless, OtherName SAN (1.3.6.1.4.1.57264.1.7), issuer only in .1.8, Rekor entry',
      image: makeImage('signed-othername'),
      signatures: [{ kind: 'keyless', sigstore: 'test', identity: OTHERNAME }],
      expectations: [
        {
          trustedRoot: 'test',
          policy: { kind: 'keyless', identity: OTHERNAME.san, issuer: 'https://oidc.example' },
          outcome: 'verified',
          verifiedLayers: [0],
        },
      ],
    },
    {
      tag: 'signed-key',
      description: 'key mode (keys/cosign.key), Rekor entry with the public key PEM',
      image: makeImage('signed-key'),
      signatures: [{ kind: 'key', key: 'cosign', tlog: true }],
      expectations: [
        { trustedRoot: 'test', policy: keyPolicy('cosign'), outcome: 'verified', verifiedLayers: [0] },
        { trustedRoot: 'test', policy: keyPolicy('other'), outcome: 'rejected', code: 'NO_MATCHING_SIGNATURE', note: 'wrong key' },
      ],
    },
    {
      tag: 'signed-key-notlog',
      description: 'key mode (keys/cosign.key), no Rekor entry (cosign sign --tlog-upload=false)',
      image: makeImage('signed-key-notlog'),
      signatures: [{ kind: 'key', key: 'cosign', tlog: false }],
      expectations: [
        {
          trustedRoot: 'test',
          policy: keyPolicy('cosign'),
          outcome: 'rejected',
          code: 'NO_MATCHING_SIGNATURE',
          note: 'no transparency-log entry',
        },
        { trustedRoot: 'test', policy: keyPolicy('cosign', true), outcome: 'verified', verifiedLayers: [0] },
      ],
    },
    {
      tag: 'mixed',
      description: 'two layers: 0 = keyless from the other (untrusted) Sigstore, 1 = valid keyless like "signed"',
      image: makeImage('mixed'),
      signatures: [{ kind: 'keyless', sigstore: 'other', identity: RELEASE }, keylessRelease],
      expectations: [{ trustedRoot: 'test', policy: releasePolicy, outcome: 'verified', verifiedLayers: [1] }],
    },
    {
      tag: 'signed-other-sigstore',
      description: 'keyless with the same identity as "signed", but certificate and Rekor entry from the other Sigstore',
      image: makeImage('signed-other-sigstore'),
      signatures: [{ kind: 'keyless', sigstore: 'other', identity: RELEASE }],
      expectations: [
        {
          trustedRoot: 'test',
          policy: releasePolicy,
          outcome: 'rejected',
          code: 'NO_MATCHING_SIGNATURE',
          note: 'untrusted CA and Rekor',
        },
        { trustedRoot: 'other', policy: releasePolicy, outcome: 'verified', verifiedLayers: [0] },
      ],
    },
    {
      tag: 'unsigned',
      description: 'no signature manifest',
      image: makeImage('unsigned'),
      signatures: [],
      expectations: [{ trustedRoot: 'test', policy: releasePolicy, outcome: 'rejected', code: 'NO_SIGNATURES' }],
    },
    {
      tag: 'multiarch',
      description: 'OCI index (linux/amd64, linux/arm64); the index digest is signed keyless like "signed", the children are not',
      image: makeIndex([
        makeImage('multiarch', { platform: { os: 'linux', architecture: 'amd64' } }),
        makeImage('multiarch', { platform: { os: 'linux', architecture: 'arm64' } }),
      ]),
      signatures: [keylessRelease],
      expectations: [{ trustedRoot: 'test', policy: releasePolicy, outcome: 'verified', verifiedLayers: [0] }],
    },
  ];
}

// ---------------------------------------------------------------------------
// Keys and Sigstores

async function loadOrCreateSigstore(name: FixtureSigstoreName, newKeys: boolean): Promise<TestSigstore> {
  const dir = sigstoreDir(name);
  const options = FIXTURE_SIGSTORES[name].options;
  const stored = newKeys ? undefined : await readSigstoreMaterial(dir);
  if (stored) return testSigstoreFromMaterial(stored, options);
  const sigstore = createTestSigstore(options);
  await writeSigstoreMaterial(dir, testSigstoreMaterial(sigstore));
  console.log(`created Sigstore "${name}" in ${relative(process.cwd(), dir)}`);
  return sigstore;
}

async function loadOrCreateKey(name: FixtureKeyName, newKeys: boolean): Promise<KeyPair> {
  const stored = newKeys ? undefined : await readKeyPair(name);
  if (stored) return stored;
  const keyPair = generateKeyPair('P-256');
  await writeKeyPair(name, keyPair);
  console.log(`created key pair keys/${name}.key`);
  return keyPair;
}

// ---------------------------------------------------------------------------
// Minting

interface Minted {
  readonly spec: ImageSpec;
  readonly layers: readonly SignatureLayer[];
  readonly signatureManifest: OciObject | undefined;
  readonly record: FixtureImage;
}

function effectiveIssuer(identity: KeylessIdentity): string | undefined {
  const issuer = identity.issuer;
  return typeof issuer === 'string' ? issuer : (issuer?.v2 ?? issuer?.v1);
}

function mintImage(
  spec: ImageSpec,
  sigstores: Record<FixtureSigstoreName, TestSigstore>,
  keys: Record<FixtureKeyName, KeyPair>,
  signedAt: Date,
): Minted {
  const integratedTime = Math.floor(signedAt.getTime() / 1000);
  const dockerReference = `${REPOSITORY}/${spec.tag}`;
  const layers: SignatureLayer[] = [];
  const signatures: FixtureSignature[] = [];

  for (const [index, signature] of spec.signatures.entries()) {
    const optional = signature.kind === 'keyless' ? (signature.optional ?? null) : null;
    const payload = simpleSigningPayload({ dockerReference, digest: spec.image.digest, optional });
    let layer: SignatureLayer;
    let record: FixtureSignature;
    if (signature.kind === 'keyless') {
      const sigstore = sigstores[signature.sigstore];
      const signer = keylessSigner(sigstore, signature.identity, { notBefore: signedAt });
      layer = signLegacyLayer({ payload, signer, rekor: sigstore.rekor, integratedTime });
      const issuer = effectiveIssuer(signature.identity);
      const issuerExtensions =
        typeof signature.identity.issuer === 'string'
          ? { v1: signature.identity.issuer, v2: signature.identity.issuer }
          : signature.identity.issuer;
      record = {
        layer: index,
        kind: 'keyless',
        payloadDigest: sha256Digest(payload),
        optional,
        ca: signature.sigstore,
        identity: signature.identity.san,
        ...(issuer === undefined ? {} : { issuer }),
        ...(issuerExtensions === undefined ? {} : { issuerExtensions }),
        ...(signature.identity.github === undefined ? {} : { github: signature.identity.github }),
        tlog: tlogRecord(layer, signature.sigstore),
      };
    } else {
      layer = signLegacyLayer({
        payload,
        signer: keySigner(keys[signature.key]),
        ...(signature.tlog ? { rekor: sigstores.test.rekor } : {}),
        integratedTime,
      });
      record = {
        layer: index,
        kind: 'key',
        payloadDigest: sha256Digest(payload),
        optional,
        keyFile: keyFiles(signature.key).publicKey,
        tlog: signature.tlog ? tlogRecord(layer, 'test') : null,
      };
    }
    layers.push(layer);
    signatures.push(record);
  }

  const signatureManifest = layers.length > 0 ? makeSignatureManifest(layers) : undefined;
  return {
    spec,
    layers,
    signatureManifest,
    record: {
      tag: spec.tag,
      digest: spec.image.digest,
      mediaType: spec.image.mediaType,
      description: spec.description,
      dockerReference,
      ...(spec.image.manifests.length > 0
        ? {
            platforms: spec.image.manifests.map((child) => ({
              platform: child.platform ?? { os: '', architecture: '' },
              digest: child.digest,
              signed: false as const,
            })),
          }
        : {}),
      signatureTag: signatureManifest ? signatureTag(spec.image.digest) : null,
      signatureManifestDigest: signatureManifest?.digest ?? null,
      signatures,
      expectations: spec.expectations,
    },
  };
}

function tlogRecord(layer: SignatureLayer, rekor: FixtureSigstoreName): FixtureSignature['tlog'] {
  const annotation = layer.annotations[COSIGN_ANNOTATIONS.bundle];
  if (annotation === undefined) return null;
  const bundle = JSON.parse(annotation) as RekorBundleAnnotation;
  return { rekor, logIndex: bundle.Payload.logIndex, integratedTime: bundle.Payload.integratedTime };
}

// ---------------------------------------------------------------------------
// Self-check

function selfCheck(
  minted: readonly Minted[],
  roots: Record<FixtureSigstoreName, TrustedRootJson>,
  keys: Record<FixtureKeyName, KeyPair>,
): string[] {
  const publicKeyFor = (keyFile: string) => {
    const name = (Object.keys(keys) as FixtureKeyName[]).find((key) => keyFiles(key).publicKey === keyFile);
    if (!name) throw new Error(`unknown key file ${keyFile}`);
    return keys[name].publicKey;
  };
  const problems: string[] = [];
  for (const { spec, layers, record } of minted) {
    for (const layer of layers) {
      const payload = JSON.parse(layer.payload.toString('utf8')) as { critical: { image: { 'docker-manifest-digest': string } } };
      if (payload.critical.image['docker-manifest-digest'] !== spec.image.digest) {
        problems.push(`${spec.tag}: payload names ${payload.critical.image['docker-manifest-digest']}`);
      }
    }
    for (const expectation of record.expectations) {
      const { trustedRoot, policy, ...expected } = expectation;
      const actual = oracleOutcome(layers, roots[trustedRoot], policy, publicKeyFor);
      const summary = (o: typeof actual) => `${o.outcome} ${o.code ?? `layers ${o.verifiedLayers?.join(',')}`}`;
      const label = `${spec.tag} [root ${trustedRoot}, ${policy.kind === 'key' ? `key ${policy.keyFile}${policy.insecureIgnoreTlog ? ' ignore-tlog' : ''}` : `${policy.identity.kind} ${policy.identity.value}`}]`;
      if (summary(actual) === summary(expected)) console.log(`  ok   ${label}: ${summary(actual)}`);
      else problems.push(`${label}: expected ${summary(expected)}, @sigstore/verify gives ${summary(actual)}`);
    }
  }
  return problems;
}

async function checkLayout(dir: string): Promise<string[]> {
  const problems: string[] = [];
  const blobDir = join(dir, 'blobs', 'sha256');
  for (const name of await readdir(blobDir)) {
    const actual = createHash('sha256').update(await readFile(join(blobDir, name))).digest('hex');
    if (actual !== name) problems.push(`layout blob ${name} has digest ${actual}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--new-keys');
  if (unknown.length > 0) throw new Error(`unknown arguments: ${unknown.join(' ')} (usage: mint-fixtures.ts [--new-keys])`);
  const newKeys = args.includes('--new-keys');

  const sigstores: Record<FixtureSigstoreName, TestSigstore> = {
    test: await loadOrCreateSigstore('test', newKeys),
    other: await loadOrCreateSigstore('other', newKeys),
  };
  const keys: Record<FixtureKeyName, KeyPair> = {
    cosign: await loadOrCreateKey('cosign', newKeys),
    other: await loadOrCreateKey('other', newKeys),
  };

  const roots: Record<FixtureSigstoreName, TrustedRootJson> = {
    test: trustedRootFor(sigstores.test),
    other: trustedRootFor(sigstores.other),
  };
  const rootDigests = {} as Record<FixtureSigstoreName, string>;
  await mkdir(join(FIXTURES_DIR, 'trust'), { recursive: true });
  for (const name of ['test', 'other'] as const) {
    const bytes = Buffer.from(`${JSON.stringify(roots[name], null, 2)}\n`, 'utf8');
    await writeFile(join(FIXTURES_DIR, FIXTURE_SIGSTORES[name].trustedRoot), bytes);
    rootDigests[name] = createHash('sha256').update(bytes).digest('hex');
  }

  const signedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  const minted = imageSpecs().map((spec) => mintImage(spec, sigstores, keys, signedAt));

  const entries: LayoutEntry[] = [];
  for (const { spec, signatureManifest } of minted) {
    entries.push({ object: spec.image, tag: spec.tag });
    if (signatureManifest) entries.push({ object: signatureManifest, tag: signatureTag(spec.image.digest) });
  }
  const layoutDir = join(FIXTURES_DIR, LAYOUT);
  await rm(layoutDir, { recursive: true, force: true });
  await writeOciLayout(layoutDir, entries);

  const manifest: FixtureManifest = {
    version: 1,
    signedAt: signedAt.toISOString(),
    layout: LAYOUT,
    trustedRoots: {
      test: { path: FIXTURE_SIGSTORES.test.trustedRoot, sha256: rootDigests.test },
      other: { path: FIXTURE_SIGSTORES.other.trustedRoot, sha256: rootDigests.other },
    },
    keys: {
      cosign: { ...keyFiles('cosign'), trusted: true },
      other: { ...keyFiles('other'), trusted: false },
    },
    images: Object.fromEntries(minted.map(({ record }) => [record.tag, record])),
  };
  await writeFile(join(FIXTURES_DIR, 'fixtures.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const blobCount = new Set(entries.flatMap((entry) => [...layoutBlobs(entry.object).keys()])).size;
  console.log(`wrote ${entries.length} tags, ${blobCount} blobs to fixtures/${LAYOUT}`);
  for (const { record } of minted) console.log(`  ${record.tag.padEnd(22)} ${record.digest}`);

  console.log('self-check with @sigstore/verify:');
  const problems = [...selfCheck(minted, roots, keys), ...(await checkLayout(layoutDir))];
  if (problems.length > 0) {
    for (const problem of problems) console.error(`  FAIL ${problem}`);
    process.exitCode = 1;
    return;
  }
  console.log('self-check passed');
}

await main();
