/**
 * Mints the committed test fixtures under fixtures/ (see fixtures/README.md):
 * two private Sigstores (keys reused between runs so the trusted roots stay
 * stable; `--new-keys` replaces them; ours has an RFC 3161 TSA, the other
 * none), key-mode keys, the trusted roots, one OCI image layout holding small
 * images with their legacy cosign `.sig`/`.att` manifests and their Sigstore
 * bundle referrers (plus the `sha256-<hex>` referrers index standing in for
 * the Referrers API), and fixtures.json describing what each image must
 * verify to.
 *
 * Image bytes are deterministic; certificates, signatures, timestamps and
 * Rekor entries are made fresh at "now" on every run. The script ends with a
 * self-check: every legacy layer is converted to a bundle v0.1
 * (docs/formats.md §8.2; `.att` layers to a DSSE v0.1 bundle) and every
 * referrer bundle is taken as it is, all verified with @sigstore/verify, and
 * every expectation in fixtures.json is recomputed from those results.
 *
 *   npm run fixtures [-- --new-keys]
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { sha256Digest } from '../src/reference/digest.ts';
import {
  COSIGN_ANNOTATIONS,
  COSIGN_SIGN_PREDICATE_TYPE,
  FIXTURES_DIR,
  FIXTURE_SIGSTORES,
  SLSA_PROVENANCE_V1_PREDICATE_TYPE,
  attestationTag,
  bundleBytes,
  createTestSigstore,
  descriptorOf,
  generateKeyPair,
  inTotoStatement,
  keyFiles,
  keySigner,
  keylessSigner,
  layoutBlobs,
  makeImage,
  makeIndex,
  makeReferrerManifest,
  makeReferrersIndex,
  makeSignatureManifest,
  oracleOutcome,
  readKeyPair,
  readFixtureSignatures,
  readSigstoreMaterial,
  referrersTag,
  signDsseBundle,
  signLegacyAttestationLayer,
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
  type LegacySigner,
  type OciObject,
  type OracleSignature,
  type RekorBundleAnnotation,
  type ReferrerStyle,
  type SignatureLayer,
  type SigstoreBundleJson,
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

/** An unrelated predicate type: a verified attestation that is neither a signature nor provenance. */
const UNRELATED_PREDICATE_TYPE = 'https://example.com/unrelated/v1';

/** A small SLSA v1 provenance predicate, as actions/attest-build-provenance writes it for RELEASE. */
const PROVENANCE_PREDICATE = {
  buildDefinition: {
    buildType: 'https://actions.github.io/buildtypes/workflow/v1',
    externalParameters: {
      workflow: { ref: 'refs/tags/v2.1.0', repository: 'https://github.com/example-org/brain-seg', path: '.github/workflows/release.yml' },
    },
    internalParameters: { github: { event_name: 'push', repository_id: '123456789', repository_owner_id: '98765432', runner_environment: 'github-hosted' } },
    resolvedDependencies: [
      { uri: 'git+https://github.com/example-org/brain-seg@refs/tags/v2.1.0', digest: { gitCommit: '0123456789abcdef0123456789abcdef01234567' } },
    ],
  },
  runDetails: {
    builder: { id: 'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0' },
    metadata: { invocationId: 'https://github.com/example-org/brain-seg/actions/runs/1234567890/attempts/1' },
  },
};

const UNRELATED_PREDICATE = { note: 'an attestation that is neither a signature nor provenance' };

// ---------------------------------------------------------------------------
// What to mint

type SignerSpec =
  | { readonly sigstore: FixtureSigstoreName; readonly identity: KeylessIdentity & { readonly san: SubjectAltName } }
  | { readonly key: FixtureKeyName };

type SignatureSpec =
  /** A `.sig` layer (cosign ≤ v2 `sign`); key mode may skip the tlog (`--tlog-upload=false`). */
  | {
      readonly format: 'sig';
      readonly signer: SignerSpec;
      readonly optional?: Readonly<Record<string, string>>;
      readonly tlog?: boolean;
    }
  /** A `.att` layer (cosign v2.2+ `attest`): DSSE, Rekor dsse 0.0.1, SET only. */
  | { readonly format: 'att'; readonly signer: SignerSpec; readonly predicateType: string; readonly predicate: unknown }
  /**
   * A v0.3 bundle referrer: `cosign` style = cosign v3 `sign`/`attest`
   * (Rekor + TSA when the Sigstore has one), `sigstore-oci` = actions/attest
   * (Rekor only).
   */
  | {
      readonly format: 'bundle';
      readonly signer: SignerSpec;
      readonly predicateType: string;
      readonly predicate?: unknown;
      readonly subjectAnnotations?: Readonly<Record<string, string>>;
      readonly style: ReferrerStyle;
    };

interface ImageSpec {
  readonly tag: string;
  readonly description: string;
  readonly image: OciObject;
  /** In storage order: `.sig` layers, `.att` layers, then referrers (enforced). */
  readonly signatures: readonly SignatureSpec[];
  readonly expectations: readonly FixtureExpectation[];
}

function imageSpecs(): ImageSpec[] {
  const release = { sigstore: 'test', identity: RELEASE } as const;
  const keylessRelease: SignatureSpec = { format: 'sig', signer: release };
  const cosignSign = (signer: SignerSpec, subjectAnnotations?: Record<string, string>): SignatureSpec => ({
    format: 'bundle',
    signer,
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    ...(subjectAnnotations === undefined ? {} : { subjectAnnotations }),
    style: 'cosign',
  });
  const provenance: SignatureSpec = {
    format: 'bundle',
    signer: release,
    predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE,
    predicate: PROVENANCE_PREDICATE,
    style: 'sigstore-oci',
  };
  const otherRoot = { trustedRoot: 'other', policy: releasePolicy, outcome: 'rejected', code: 'NO_MATCHING_SIGNATURE' } as const;
  /** Signed with keys/cosign.key: verifies with that key, not with keys/other.key. */
  const cosignKeyExpectations: readonly FixtureExpectation[] = [
    { trustedRoot: 'test', policy: keyPolicy('cosign'), outcome: 'verified', verifiedLayers: [0] },
    { trustedRoot: 'test', policy: keyPolicy('other'), outcome: 'rejected', code: 'NO_MATCHING_SIGNATURE', note: 'wrong key' },
  ];
  return [
    {
      tag: 'signed',
      description: 'keyless, GitHub Actions URI identity (.1.1 and .1.8 issuer, .1.2-.1.6 claims), Rekor entry, -a release=v2.1.0',
      image: makeImage('signed'),
      signatures: [{ ...keylessRelease, optional: { release: 'v2.1.0' } }],
      expectations: [
        { trustedRoot: 'test', policy: releasePolicy, outcome: 'verified', verifiedLayers: [0] },
        { ...otherRoot, note: 'certificate does not chain to the other Sigstore' },
      ],
    },
    {
      tag: 'signed-email',
      description: 'keyless, email SAN, Rekor entry',
      image: makeImage('signed-email'),
      signatures: [{ format: 'sig', signer: { sigstore: 'test', identity: EMAIL } }],
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
      signatures: [{ format: 'sig', signer: { sigstore: 'test', identity: OTHERNAME } }],
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
      signatures: [{ format: 'sig', signer: { key: 'cosign' } }],
      expectations: cosignKeyExpectations,
    },
    {
      tag: 'signed-key-notlog',
      description: 'key mode (keys/cosign.key), no Rekor entry (cosign sign --tlog-upload=false)',
      image: makeImage('signed-key-notlog'),
      signatures: [{ format: 'sig', signer: { key: 'cosign' }, tlog: false }],
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
      signatures: [{ format: 'sig', signer: { sigstore: 'other', identity: RELEASE } }, keylessRelease],
      expectations: [{ trustedRoot: 'test', policy: releasePolicy, outcome: 'verified', verifiedLayers: [1] }],
    },
    {
      tag: 'signed-other-sigstore',
      description: 'keyless with the same identity as "signed", but certificate and Rekor entry from the other Sigstore',
      image: makeImage('signed-other-sigstore'),
      signatures: [{ format: 'sig', signer: { sigstore: 'other', identity: RELEASE } }],
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
    {
      tag: 'bundle-signed',
      description:
        'cosign v3 sign: bundle v0.3 referrer (cosign style), DSSE in-toto sign/v1 statement with subject annotations {"release":"v2.1.0"}, keyless like "signed", Rekor dsse entry (promise, proof, checkpoint) and RFC 3161 timestamp',
      image: makeImage('bundle-signed'),
      signatures: [cosignSign(release, { release: 'v2.1.0' })],
      expectations: [
        { trustedRoot: 'test', policy: releasePolicy, outcome: 'verified', verifiedLayers: [0] },
        { ...otherRoot, note: 'certificate does not chain to the other Sigstore' },
      ],
    },
    {
      tag: 'bundle-provenance',
      description:
        'actions/attest: SLSA provenance v1 bundle v0.3 referrer (@sigstore/oci style), keyless like "signed", Rekor dsse entry, no TSA; no signature',
      image: makeImage('bundle-provenance'),
      signatures: [provenance],
      expectations: [
        {
          trustedRoot: 'test',
          policy: releasePolicy,
          outcome: 'verified',
          verifiedLayers: [0],
          note: 'the bundle verifies; as an image signature it must not count (predicate type is not cosign sign/v1)',
        },
      ],
    },
    {
      tag: 'bundle-multi',
      description:
        'three bundle referrers: 0 = cosign sign/v1 (cosign style), 1 = SLSA provenance (@sigstore/oci style), 2 = unrelated predicate https://example.com/unrelated/v1 (cosign attest style); all keyless like "signed"',
      image: makeImage('bundle-multi'),
      signatures: [
        cosignSign(release),
        provenance,
        { format: 'bundle', signer: release, predicateType: UNRELATED_PREDICATE_TYPE, predicate: UNRELATED_PREDICATE, style: 'cosign' },
      ],
      expectations: [
        {
          trustedRoot: 'test',
          policy: releasePolicy,
          outcome: 'verified',
          verifiedLayers: [0, 1, 2],
          note: 'every bundle verifies; only 0 is an image signature',
        },
      ],
    },
    {
      tag: 'bundle-key',
      description: 'cosign v3 sign --key keys/cosign.key: bundle v0.3 (publicKey hint), DSSE sign/v1, Rekor dsse entry and RFC 3161 timestamp',
      image: makeImage('bundle-key'),
      signatures: [cosignSign({ key: 'cosign' })],
      expectations: cosignKeyExpectations,
    },
    {
      tag: 'bundle-and-legacy',
      description: '0 = legacy .sig layer like "signed", 1 = cosign sign/v1 bundle referrer like "bundle-signed"; both keyless like "signed"',
      image: makeImage('bundle-and-legacy'),
      signatures: [keylessRelease, cosignSign(release)],
      expectations: [{ trustedRoot: 'test', policy: releasePolicy, outcome: 'verified', verifiedLayers: [0, 1] }],
    },
    {
      tag: 'attested-legacy',
      description:
        '0 = legacy .sig layer like "signed", 1 = legacy .att layer (cosign v2.2+ attest: DSSE SLSA provenance, Rekor dsse 0.0.1 entry, SET only); both keyless like "signed"',
      image: makeImage('attested-legacy'),
      signatures: [
        keylessRelease,
        { format: 'att', signer: release, predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE, predicate: PROVENANCE_PREDICATE },
      ],
      expectations: [
        {
          trustedRoot: 'test',
          policy: releasePolicy,
          outcome: 'verified',
          verifiedLayers: [0, 1],
          note: 'the .att layer verifies as a DSSE bundle v0.1; it is an attestation, not a signature',
        },
      ],
    },
    {
      tag: 'bundle-other-sigstore',
      description: 'cosign sign/v1 bundle referrer, keyless with the same identity as "signed", but certificate and Rekor entry from the other Sigstore (no TSA)',
      image: makeImage('bundle-other-sigstore'),
      signatures: [cosignSign({ sigstore: 'other', identity: RELEASE })],
      expectations: [
        { trustedRoot: 'test', policy: releasePolicy, outcome: 'rejected', code: 'NO_MATCHING_SIGNATURE', note: 'untrusted CA and Rekor' },
        { trustedRoot: 'other', policy: releasePolicy, outcome: 'verified', verifiedLayers: [0] },
      ],
    },
  ];
}

// ---------------------------------------------------------------------------
// Keys and Sigstores

async function loadOrCreateSigstore(name: FixtureSigstoreName, newKeys: boolean): Promise<TestSigstore> {
  const dir = sigstoreDir(name);
  const options = FIXTURE_SIGSTORES[name].options;
  const stored = newKeys ? undefined : await readSigstoreMaterial(dir);
  if (stored) {
    const sigstore = testSigstoreFromMaterial(stored, options);
    if (sigstore.tsa !== undefined && stored.tsa === undefined) {
      // A Sigstore minted before it had a TSA: add one, keep everything else.
      await writeSigstoreMaterial(dir, testSigstoreMaterial(sigstore));
      console.log(`created a TSA for Sigstore "${name}" in ${relative(process.cwd(), dir)}`);
    }
    return sigstore;
  }
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
  /** What the oracle verifies, in `record.signatures` order. */
  readonly evidence: readonly OracleSignature[];
  readonly entries: readonly LayoutEntry[];
  readonly record: FixtureImage;
}

interface MintContext {
  readonly sigstores: Record<FixtureSigstoreName, TestSigstore>;
  readonly keys: Record<FixtureKeyName, KeyPair>;
  readonly signedAt: Date;
}

function effectiveIssuer(identity: KeylessIdentity): string | undefined {
  const issuer = identity.issuer;
  return typeof issuer === 'string' ? issuer : (issuer?.v2 ?? issuer?.v1);
}

/** The signer, the Sigstore whose Rekor (and TSA) it uses, and the identity fields of its record. */
function resolveSigner(
  spec: SignerSpec,
  { sigstores, keys, signedAt }: MintContext,
): { signer: LegacySigner; sigstore: FixtureSigstoreName; record: Partial<FixtureSignature> & Pick<FixtureSignature, 'kind'> } {
  if ('key' in spec) {
    return { signer: keySigner(keys[spec.key]), sigstore: 'test', record: { kind: 'key', keyFile: keyFiles(spec.key).publicKey } };
  }
  const { identity } = spec;
  const issuer = effectiveIssuer(identity);
  const issuerExtensions = typeof identity.issuer === 'string' ? { v1: identity.issuer, v2: identity.issuer } : identity.issuer;
  return {
    signer: keylessSigner(sigstores[spec.sigstore], identity, { notBefore: signedAt }),
    sigstore: spec.sigstore,
    record: {
      kind: 'keyless',
      ca: spec.sigstore,
      identity: identity.san,
      ...(issuer === undefined ? {} : { issuer }),
      ...(issuerExtensions === undefined ? {} : { issuerExtensions }),
      ...(identity.github === undefined ? {} : { github: identity.github }),
    },
  };
}

const FORMAT_ORDER = { sig: 0, att: 1, bundle: 2 } as const;

function mintImage(spec: ImageSpec, context: MintContext): Minted {
  const { sigstores, signedAt } = context;
  const integratedTime = Math.floor(signedAt.getTime() / 1000);
  const dockerReference = `${REPOSITORY}/${spec.tag}`;
  const digest = spec.image.digest;
  const order = spec.signatures.map((signature) => FORMAT_ORDER[signature.format]);
  if (order.some((rank, i) => i > 0 && rank < (order[i - 1] ?? 0))) throw new Error(`${spec.tag}: signatures out of storage order`);

  const sigLayers: SignatureLayer[] = [];
  const attLayers: SignatureLayer[] = [];
  const bundles: Array<{ bundle: SigstoreBundleJson; referrer: OciObject; style: ReferrerStyle }> = [];
  const signatures: FixtureSignature[] = [];

  for (const signature of spec.signatures) {
    const { signer, sigstore, record } = resolveSigner(signature.signer, context);
    const rekor = sigstores[sigstore].rekor;
    if (signature.format === 'sig') {
      const optional = signature.optional ?? null;
      const payload = simpleSigningPayload({ dockerReference, digest, optional });
      const tlog = signature.tlog !== false;
      const layer = signLegacyLayer({ payload, signer, ...(tlog ? { rekor } : {}), integratedTime });
      sigLayers.push(layer);
      signatures.push({
        format: 'cosign-legacy',
        manifestTag: signatureTag(digest),
        layer: sigLayers.length - 1,
        ...record,
        payloadDigest: sha256Digest(payload),
        optional,
        tlog: annotationTlogRecord(layer, sigstore),
        tsa: null,
      });
    } else if (signature.format === 'att') {
      const statement = inTotoStatement({
        subjectDigest: digest,
        subjectName: dockerReference,
        predicateType: signature.predicateType,
        predicate: signature.predicate,
      });
      const layer = signLegacyAttestationLayer({ statement, predicateType: signature.predicateType, signer, rekor, integratedTime });
      attLayers.push(layer);
      signatures.push({
        format: 'cosign-legacy',
        manifestTag: attestationTag(digest),
        layer: attLayers.length - 1,
        ...record,
        payloadDigest: sha256Digest(statement),
        predicateType: signature.predicateType,
        tlog: annotationTlogRecord(layer, sigstore),
        tsa: null,
      });
    } else {
      // cosign v3 sign: no subject name, annotations always present, protojson spacing;
      // cosign attest and actions/attest name the repository and marshal compactly.
      const isSign = signature.predicateType === COSIGN_SIGN_PREDICATE_TYPE;
      const subjectAnnotations = isSign ? (signature.subjectAnnotations ?? {}) : signature.subjectAnnotations;
      const statement = inTotoStatement({
        subjectDigest: digest,
        predicateType: signature.predicateType,
        predicate: signature.predicate,
        ...(subjectAnnotations === undefined ? {} : { subjectAnnotations }),
        ...(isSign ? { format: 'protojson' as const } : { subjectName: dockerReference }),
      });
      const tsa = signature.style === 'cosign' ? sigstores[sigstore].tsa : undefined;
      const bundle = signDsseBundle({ payload: statement, signer, rekor, ...(tsa ? { tsa } : {}), integratedTime, timestampTime: signedAt });
      const referrer = makeReferrerManifest({
        bundleBytes: bundleBytes(bundle),
        subject: descriptorOf(spec.image),
        predicateType: signature.predicateType,
        style: signature.style,
        created: signedAt,
      });
      bundles.push({ bundle, referrer, style: signature.style });
      const entry = bundle.verificationMaterial.tlogEntries[0];
      signatures.push({
        format: 'sigstore-bundle',
        referrer: { digest: referrer.digest, bundleDigest: sha256Digest(bundleBytes(bundle)), style: signature.style },
        ...record,
        payloadDigest: sha256Digest(statement),
        predicateType: signature.predicateType,
        ...(subjectAnnotations === undefined ? {} : { subjectAnnotations }),
        tlog:
          entry === undefined
            ? null
            : {
                rekor: sigstore,
                kind: entry.kindVersion.kind as 'dsse',
                logIndex: Number(entry.logIndex),
                integratedTime: Number(entry.integratedTime),
                inclusionProof: entry.inclusionProof !== undefined,
              },
        tsa: tsa === undefined ? null : { sigstore, genTime: signedAt.toISOString() },
      });
    }
  }

  const entries: LayoutEntry[] = [{ object: spec.image, tag: spec.tag }];
  const signatureManifest = sigLayers.length > 0 ? makeSignatureManifest(sigLayers) : undefined;
  if (signatureManifest) entries.push({ object: signatureManifest, tag: signatureTag(digest) });
  const attestationManifest = attLayers.length > 0 ? makeSignatureManifest(attLayers) : undefined;
  if (attestationManifest) entries.push({ object: attestationManifest, tag: attestationTag(digest) });
  let referrersIndex: OciObject | undefined;
  if (bundles.length > 0) {
    // Referrers sit untagged in the layout; the tag-schema index is the only way to find them.
    for (const { referrer } of bundles) entries.push({ object: referrer });
    const withAnnotations = bundles.every(({ style }) => style === 'sigstore-oci');
    referrersIndex = makeReferrersIndex(
      bundles.map(({ referrer }) => referrer),
      { withAnnotations },
    );
    entries.push({ object: referrersIndex, tag: referrersTag(digest) });
  }

  return {
    spec,
    evidence: [...sigLayers, ...attLayers, ...bundles.map(({ bundle }) => ({ bundle }))],
    entries,
    record: {
      tag: spec.tag,
      digest,
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
      signatureTag: signatureManifest ? signatureTag(digest) : null,
      signatureManifestDigest: signatureManifest?.digest ?? null,
      attestationTag: attestationManifest ? attestationTag(digest) : null,
      attestationManifestDigest: attestationManifest?.digest ?? null,
      referrersTag: referrersIndex ? referrersTag(digest) : null,
      referrersIndexDigest: referrersIndex?.digest ?? null,
      signatures,
      expectations: spec.expectations,
    },
  };
}

function annotationTlogRecord(layer: SignatureLayer, rekor: FixtureSigstoreName): FixtureSignature['tlog'] {
  const annotation = layer.annotations[COSIGN_ANNOTATIONS.bundle];
  if (annotation === undefined) return null;
  const bundle = JSON.parse(annotation) as RekorBundleAnnotation;
  const body = JSON.parse(Buffer.from(bundle.Payload.body, 'base64').toString('utf8')) as { kind: 'hashedrekord' | 'dsse' };
  return { rekor, kind: body.kind, logIndex: bundle.Payload.logIndex, integratedTime: bundle.Payload.integratedTime, inclusionProof: false };
}

// ---------------------------------------------------------------------------
// Self-check

/** The image digest a signature names: simple-signing `docker-manifest-digest`, or the statement's sha256 subjects. */
function namedDigests(signature: OracleSignature): string[] {
  if ('bundle' in signature) return statementDigests(Buffer.from(signature.bundle.dsseEnvelope?.payload ?? '', 'base64'));
  const blob = JSON.parse(signature.payload.toString('utf8')) as { payload?: string; critical?: { image: { 'docker-manifest-digest': string } } };
  if (blob.payload !== undefined) return statementDigests(Buffer.from(blob.payload, 'base64'));
  return [blob.critical?.image['docker-manifest-digest'] ?? ''];
}

function statementDigests(statement: Buffer): string[] {
  const parsed = JSON.parse(statement.toString('utf8')) as { subject: Array<{ digest: { sha256?: string } }> };
  return parsed.subject.map((subject) => `sha256:${subject.digest.sha256 ?? ''}`);
}

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
  for (const { spec, evidence, record } of minted) {
    for (const signature of evidence) {
      const named = namedDigests(signature);
      if (!named.includes(spec.image.digest)) problems.push(`${spec.tag}: signature names ${named.join(', ')}`);
    }
    for (const expectation of record.expectations) {
      const { trustedRoot, policy, ...expected } = expectation;
      const actual = oracleOutcome(evidence, roots[trustedRoot], policy, publicKeyFor);
      const summary = (o: typeof actual) => `${o.outcome} ${o.code ?? `signatures ${o.verifiedLayers?.join(',')}`}`;
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

/** Reads every image's signatures back from the written layout: what a verifier will find is what was minted. */
async function checkStoredSignatures(dir: string, minted: readonly Minted[]): Promise<string[]> {
  const problems: string[] = [];
  for (const { spec, evidence, record } of minted) {
    const stored = await readFixtureSignatures(dir, record);
    if (!isDeepStrictEqual(stored, evidence)) problems.push(`${spec.tag}: the layout holds other signatures than were minted`);
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
  const minted = imageSpecs().map((spec) => mintImage(spec, { sigstores, keys, signedAt }));

  const entries = minted.flatMap((image) => image.entries);
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
  const tagCount = entries.filter((entry) => entry.tag !== undefined).length;
  console.log(`wrote ${tagCount} tags, ${entries.length - tagCount} untagged referrers, ${blobCount} blobs to fixtures/${LAYOUT}`);
  for (const { record } of minted) console.log(`  ${record.tag.padEnd(22)} ${record.digest}`);

  console.log('self-check with @sigstore/verify:');
  const problems = [...selfCheck(minted, roots, keys), ...(await checkLayout(layoutDir)), ...(await checkStoredSignatures(layoutDir, minted))];
  if (problems.length > 0) {
    for (const problem of problems) console.error(`  FAIL ${problem}`);
    process.exitCode = 1;
    return;
  }
  console.log('self-check passed');
}

await main();
