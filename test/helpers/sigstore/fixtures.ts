import type { KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Digest } from '../../../src/reference/digest.ts';
import { verifyLayerWithSigstoreJs } from './bundle-v01.ts';
import { bundleCertificate, publicKeyHint, verifyBundleWithSigstoreJs, type SigstoreBundleJson } from './bundle-v03.ts';
import { readSubjectAltNames, type FulcioIssuer, type GithubWorkflowClaims, type SubjectAltName } from './ca.ts';
import { COSIGN_ANNOTATIONS, type SignatureLayer } from './cosign-legacy.ts';
import { fromPem } from './der.ts';
import { keyPairFromPem, privateKeyPem, publicKeyPem, type KeyPair } from './keys.ts';
import { attestationTag, readLegacyAttestationLayers, readLegacySignatureLayers, signatureTag, type Platform } from './oci-layout.ts';
import { readReferrers, type ReferrerStyle } from './oci-referrers.ts';
import type { CreateTestSigstoreOptions, TestSigstore, TestSigstoreMaterial, TimestampAuthorityMaterial } from './sigstore.ts';
import { TEST_SIGSTORE_URLS, testSigstoreFromMaterial } from './sigstore.ts';
import type { TrustedRootJson } from './trusted-root.ts';

/**
 * Where the committed fixtures live and how to load them: the two private
 * Sigstores (ours, with a TSA, and an unrelated "other" one without), the
 * key-mode keys, the trusted roots and `fixtures.json`. Written by `scripts/mint-fixtures.ts`;
 * tests use the same functions to sign new variants under the committed roots.
 */

export const FIXTURES_DIR = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export type FixtureSigstoreName = 'test' | 'other';
export type FixtureKeyName = 'cosign' | 'other';

/** Identity of each fixture Sigstore: CA subject and service URLs. */
export const FIXTURE_SIGSTORES: Record<
  FixtureSigstoreName,
  { readonly options: CreateTestSigstoreOptions; readonly trustedRoot: string }
> = {
  test: {
    options: { organization: 'sigverify.test', commonName: 'sigverify-test', urls: TEST_SIGSTORE_URLS },
    trustedRoot: 'trust/trusted_root.json',
  },
  other: {
    options: {
      organization: 'other.test',
      commonName: 'other-sigstore',
      urls: { fulcio: 'https://fulcio.other.test', rekor: 'https://rekor.other.test', ctlog: 'https://ctfe.other.test' },
      tsa: false,
    },
    trustedRoot: 'trust/other_trusted_root.json',
  },
};

/** File names (under `private/<name>/`) of a stored Sigstore. */
export const SIGSTORE_FILES: Record<Exclude<keyof TestSigstoreMaterial, 'tsa'>, string> = {
  rootKey: 'ca-root.key.pem',
  rootCert: 'ca-root.crt.pem',
  intermediateKey: 'ca-intermediate.key.pem',
  intermediateCert: 'ca-intermediate.crt.pem',
  ctlogKey: 'ctlog.key.pem',
  rekorKey: 'rekor.key.pem',
};

/** File names (under `private/<name>/`) of a stored Sigstore's TSA; a Sigstore without a TSA has none of them. */
export const TSA_FILES: Record<keyof TimestampAuthorityMaterial, string> = {
  rootKey: 'tsa-root.key.pem',
  rootCert: 'tsa-root.crt.pem',
  signerKey: 'tsa.key.pem',
  signerCert: 'tsa.crt.pem',
};

export function sigstoreDir(name: FixtureSigstoreName, fixturesDir = FIXTURES_DIR): string {
  return join(fixturesDir, 'private', name);
}

/**
 * The stored material, or undefined when any CA, CT or Rekor file is missing.
 * The TSA files are read when all of them exist (a partial set is an error).
 */
export async function readSigstoreMaterial(dir: string): Promise<TestSigstoreMaterial | undefined> {
  const base = await readFileSet(dir, SIGSTORE_FILES);
  if (base.missing > 0) return undefined;
  const tsa = await readFileSet(dir, TSA_FILES);
  if (tsa.missing > 0 && tsa.missing < Object.keys(TSA_FILES).length) throw new Error(`${dir}: some TSA files are missing`);
  return {
    ...(base.texts as Record<keyof typeof SIGSTORE_FILES, string>),
    ...(tsa.missing === 0 ? { tsa: tsa.texts as Record<keyof TimestampAuthorityMaterial, string> } : {}),
  };
}

async function readFileSet(dir: string, files: Readonly<Record<string, string>>): Promise<{ texts: Record<string, string>; missing: number }> {
  const texts: Record<string, string> = {};
  let missing = 0;
  for (const [field, file] of Object.entries(files)) {
    const text = await readOptional(join(dir, file));
    if (text === undefined) missing++;
    else texts[field] = text;
  }
  return { texts, missing };
}

export async function writeSigstoreMaterial(dir: string, material: TestSigstoreMaterial): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [field, file] of Object.entries(SIGSTORE_FILES)) {
    await writeFile(join(dir, file), material[field as keyof typeof SIGSTORE_FILES]);
  }
  const { tsa } = material;
  if (tsa === undefined) return;
  for (const [field, file] of Object.entries(TSA_FILES)) {
    await writeFile(join(dir, file), tsa[field as keyof TimestampAuthorityMaterial]);
  }
}

/** One of the committed Sigstores, ready to sign variants that the committed trusted roots accept. */
export async function loadFixtureSigstore(
  name: FixtureSigstoreName,
  options: { readonly firstLogIndex?: number; readonly fixturesDir?: string } = {},
): Promise<TestSigstore> {
  const material = await readSigstoreMaterial(sigstoreDir(name, options.fixturesDir));
  if (!material) throw new Error(`fixture Sigstore "${name}" is missing; run npm run fixtures`);
  return testSigstoreFromMaterial(material, {
    ...FIXTURE_SIGSTORES[name].options,
    ...(options.firstLogIndex === undefined ? {} : { firstLogIndex: options.firstLogIndex }),
  });
}

export function keyFiles(name: FixtureKeyName): { readonly privateKey: string; readonly publicKey: string } {
  return { privateKey: `keys/${name}.key`, publicKey: `keys/${name}.pub` };
}

export async function readKeyPair(name: FixtureKeyName, fixturesDir = FIXTURES_DIR): Promise<KeyPair | undefined> {
  const pem = await readOptional(join(fixturesDir, keyFiles(name).privateKey));
  return pem === undefined ? undefined : keyPairFromPem(pem);
}

export async function writeKeyPair(name: FixtureKeyName, keyPair: KeyPair, fixturesDir = FIXTURES_DIR): Promise<void> {
  const files = keyFiles(name);
  await mkdir(join(fixturesDir, 'keys'), { recursive: true });
  await writeFile(join(fixturesDir, files.privateKey), privateKeyPem(keyPair));
  await writeFile(join(fixturesDir, files.publicKey), publicKeyPem(keyPair.publicKey));
}

export async function loadFixtureKey(name: FixtureKeyName, fixturesDir = FIXTURES_DIR): Promise<KeyPair> {
  const keyPair = await readKeyPair(name, fixturesDir);
  if (!keyPair) throw new Error(`fixture key "${name}" is missing; run npm run fixtures`);
  return keyPair;
}

export async function readFixtureTrustedRoot(name: FixtureSigstoreName, fixturesDir = FIXTURES_DIR): Promise<TrustedRootJson> {
  return JSON.parse(await readFile(join(fixturesDir, FIXTURE_SIGSTORES[name].trustedRoot), 'utf8')) as TrustedRootJson;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// ---------------------------------------------------------------------------
// fixtures.json

export interface FixtureManifest {
  readonly version: 1;
  /** Signing time of every signature in this minting (cert notBefore = integratedTime). */
  readonly signedAt: string;
  /** OCI layout directory, relative to fixtures/. */
  readonly layout: string;
  readonly trustedRoots: Record<FixtureSigstoreName, { readonly path: string; readonly sha256: string }>;
  readonly keys: Record<FixtureKeyName, { readonly privateKey: string; readonly publicKey: string; readonly trusted: boolean }>;
  /** By tag, in layout order. */
  readonly images: Record<string, FixtureImage>;
}

export interface FixtureImage {
  readonly tag: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly description: string;
  /** Payload `critical.identity.docker-reference`; the subject name of actions/attest statements. */
  readonly dockerReference: string;
  /** Index children, for multi-arch images. */
  readonly platforms?: ReadonlyArray<{ readonly platform: Platform; readonly digest: string; readonly signed: false }>;
  readonly signatureTag: string | null;
  readonly signatureManifestDigest: string | null;
  /** Legacy attestations (`sha256-<hex>.att`, docs/formats.md §3). */
  readonly attestationTag: string | null;
  readonly attestationManifestDigest: string | null;
  /**
   * Referrers tag-schema index (`sha256-<hex>`, §2.4) listing the bundle
   * referrers; the referrer manifests are also in the layout's index.json,
   * untagged.
   */
  readonly referrersTag: string | null;
  readonly referrersIndexDigest: string | null;
  /** `.sig` layers in layer order, then `.att` layers, then bundle referrers in push order. */
  readonly signatures: readonly FixtureSignature[];
  /** Expected outcomes of verifying `digest` under the given trust and policy. */
  readonly expectations: readonly FixtureExpectation[];
}

export interface FixtureSignature {
  /** `cosign-legacy`: a `.sig` or `.att` layer; `sigstore-bundle`: a v0.3 bundle in a referrer. */
  readonly format: 'cosign-legacy' | 'sigstore-bundle';
  /** cosign-legacy: the tag of the manifest holding the layer, and its index there. */
  readonly manifestTag?: string;
  readonly layer?: number;
  /** sigstore-bundle: the referrer manifest, the bundle blob, and who wrote the referrer. */
  readonly referrer?: { readonly digest: string; readonly bundleDigest: string; readonly style: ReferrerStyle };
  readonly kind: 'keyless' | 'key';
  /** sha256 of the signed payload: the simple-signing payload (`.sig`) or the DSSE payload (`.att`, bundles). */
  readonly payloadDigest: string;
  /** `.sig`: the payload's `optional` (`-a` claims). */
  readonly optional?: Readonly<Record<string, string>> | null;
  /** DSSE (`.att`, bundles): the in-toto statement's predicate type and its subject annotations (`-a` claims). */
  readonly predicateType?: string;
  readonly subjectAnnotations?: Readonly<Record<string, string>>;
  /** Keyless: which Sigstore's CA issued the certificate. */
  readonly ca?: FixtureSigstoreName;
  readonly identity?: SubjectAltName;
  /** The effective issuer (`.1.8`, else `.1.1`). */
  readonly issuer?: string;
  readonly issuerExtensions?: FulcioIssuer;
  readonly github?: GithubWorkflowClaims;
  /** Key mode: the public key file. */
  readonly keyFile?: string;
  /**
   * The Rekor entry, or null without one: its kind (`hashedrekord` for `.sig`,
   * `dsse` 0.0.1 otherwise) and whether an inclusion proof with checkpoint is
   * present (bundles) or only the SET (legacy annotations).
   */
  readonly tlog: {
    readonly rekor: FixtureSigstoreName;
    readonly kind: 'hashedrekord' | 'dsse';
    readonly logIndex: number;
    readonly integratedTime: number;
    readonly inclusionProof: boolean;
  } | null;
  /** The RFC 3161 timestamp (over the signature bytes), or null without one. */
  readonly tsa: { readonly sigstore: FixtureSigstoreName; readonly genTime: string } | null;
}

export type FixturePolicy =
  | {
      readonly kind: 'keyless';
      readonly identity: SubjectAltName;
      readonly issuer: string;
    }
  | { readonly kind: 'key'; readonly keyFile: string; readonly insecureIgnoreTlog?: boolean };

export interface FixtureExpectation {
  readonly trustedRoot: FixtureSigstoreName;
  readonly policy: FixturePolicy;
  readonly outcome: 'verified' | 'rejected';
  /** sigverify error code for a rejection. */
  readonly code?: 'NO_SIGNATURES' | 'NO_MATCHING_SIGNATURE';
  /**
   * When verified: the `signatures[]` entries (0-based) that verify with bare
   * sigstore-js plus exact identity matching; for images with only `.sig`
   * signatures, the layer indexes. For bundles and `.att` layers this is the
   * sigstore-js outcome of the signature itself and says nothing of
   * sigverify's own rules (predicate type, statement subject): a provenance
   * bundle that verifies is listed, though it is no image signature.
   */
  readonly verifiedLayers?: readonly number[];
  readonly note?: string;
}

export async function readFixtureManifest(fixturesDir = FIXTURES_DIR): Promise<FixtureManifest> {
  return JSON.parse(await readFile(join(fixturesDir, 'fixtures.json'), 'utf8')) as FixtureManifest;
}

/** What the oracle verifies: a legacy `.sig`/`.att` layer, or a referrer's bundle. */
export type OracleSignature = SignatureLayer | { readonly bundle: SigstoreBundleJson };

function isBundle(signature: OracleSignature): signature is { readonly bundle: SigstoreBundleJson } {
  return 'bundle' in signature;
}

/**
 * A fixture image's signatures as stored in the layout, in
 * `image.signatures` order (so expectation indexes apply): `.sig` and `.att`
 * layers by manifest tag and layer index, bundles by referrer digest among
 * those the `sha256-<hex>` index lists. Fails when the layout holds more or
 * fewer signatures than the record.
 */
export async function readFixtureSignatures(layoutDir: string, image: FixtureImage): Promise<OracleSignature[]> {
  const digest = image.digest as Digest;
  const layers = new Map([
    [signatureTag(digest), await readLegacySignatureLayers(layoutDir, digest)],
    [attestationTag(digest), await readLegacyAttestationLayers(layoutDir, digest)],
  ]);
  const referrers = await readReferrers(layoutDir, digest);
  const stored = [...layers.values()].reduce((sum, list) => sum + list.length, referrers.length);
  if (stored !== image.signatures.length) {
    throw new Error(`${image.tag}: layout holds ${stored} signatures, fixtures.json ${image.signatures.length}`);
  }
  return image.signatures.map((record) => {
    if (record.format === 'sigstore-bundle') {
      const referrer = referrers.find(({ descriptor }) => descriptor.digest === record.referrer?.digest);
      if (!referrer) throw new Error(`${image.tag}: referrer ${record.referrer?.digest} is not in the referrers index`);
      return { bundle: JSON.parse(referrer.bundle.toString('utf8')) as SigstoreBundleJson };
    }
    const layer = layers.get(record.manifestTag ?? '')?.[record.layer ?? -1];
    if (!layer) throw new Error(`${image.tag}: no layer ${record.layer} in ${record.manifestTag}`);
    return layer;
  });
}

/** Key mode: the oracle uses the policy key, never a certificate the signature carries (as cosign `--key`). */
function withKeyHint(bundle: SigstoreBundleJson, publicKey: KeyObject): SigstoreBundleJson {
  const { certificate: _certificate, ...material } = bundle.verificationMaterial;
  return { ...bundle, verificationMaterial: { ...material, publicKey: { hint: publicKeyHint(publicKey) } } };
}

/**
 * The signatures that verify under a fixture policy, by the test oracle:
 * @sigstore/verify (legacy layers through the bundle v0.1 recipe, bundles as
 * they are) plus exact SAN (any kind, OtherName included) and exact issuer
 * matching. Mirrors what sigverify must conclude for signature crypto and
 * identity; payload binding and predicate types are checked separately.
 */
export function layersVerifiedByOracle(
  signatures: readonly OracleSignature[],
  trustedRoot: TrustedRootJson,
  policy: FixturePolicy,
  publicKeyFor: (keyFile: string) => KeyObject,
): number[] {
  const verified: number[] = [];
  for (const [index, signature] of signatures.entries()) {
    try {
      if (policy.kind === 'key') {
        const publicKey = publicKeyFor(policy.keyFile);
        if (isBundle(signature)) verifyBundleWithSigstoreJs(withKeyHint(signature.bundle, publicKey), trustedRoot, { publicKey });
        else verifyLayerWithSigstoreJs(signature, trustedRoot, { publicKey, ignoreTlog: policy.insecureIgnoreTlog === true });
      } else {
        const sigstorePolicy = { extensions: { issuer: policy.issuer } };
        let signer;
        let leaf: Buffer | undefined;
        if (isBundle(signature)) {
          signer = verifyBundleWithSigstoreJs(signature.bundle, trustedRoot, { policy: sigstorePolicy });
          leaf = bundleCertificate(signature.bundle);
        } else {
          signer = verifyLayerWithSigstoreJs(signature, trustedRoot, { policy: sigstorePolicy });
          [leaf] = fromPem(signature.annotations[COSIGN_ANNOTATIONS.certificate] ?? '');
        }
        const sans = leaf ? readSubjectAltNames(leaf) : [];
        const sanMatches = sans.some((san) => san.kind === policy.identity.kind && san.value === policy.identity.value);
        if (!sanMatches || signer.identity?.extensions?.issuer !== policy.issuer) continue;
      }
      verified.push(index);
    } catch {
      // not verified under this policy
    }
  }
  return verified;
}

/** The outcome the oracle reaches for one expectation (code as sigverify names it). */
export function oracleOutcome(
  signatures: readonly OracleSignature[],
  trustedRoot: TrustedRootJson,
  policy: FixturePolicy,
  publicKeyFor: (keyFile: string) => KeyObject,
): Pick<FixtureExpectation, 'outcome' | 'code' | 'verifiedLayers'> {
  if (signatures.length === 0) return { outcome: 'rejected', code: 'NO_SIGNATURES' };
  const verifiedLayers = layersVerifiedByOracle(signatures, trustedRoot, policy, publicKeyFor);
  return verifiedLayers.length > 0 ? { outcome: 'verified', verifiedLayers } : { outcome: 'rejected', code: 'NO_MATCHING_SIGNATURE' };
}
