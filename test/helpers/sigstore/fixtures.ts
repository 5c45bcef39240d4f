import type { KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyLayerWithSigstoreJs } from './bundle-v01.ts';
import { readSubjectAltNames, type FulcioIssuer, type GithubWorkflowClaims, type SubjectAltName } from './ca.ts';
import { COSIGN_ANNOTATIONS, type SignatureLayer } from './cosign-legacy.ts';
import { fromPem } from './der.ts';
import { keyPairFromPem, privateKeyPem, publicKeyPem, type KeyPair } from './keys.ts';
import type { CreateTestSigstoreOptions, TestSigstore, TestSigstoreMaterial } from './sigstore.ts';
import { TEST_SIGSTORE_URLS, testSigstoreFromMaterial } from './sigstore.ts';
import type { Platform } from './oci-layout.ts';
import type { TrustedRootJson } from './trusted-root.ts';

/**
 * Where the committed fixtures live and how to load them: the two private
 * Sigstores (ours and an unrelated "other" one), the key-mode keys, the
 * trusted roots and `fixtures.json`. Written by `scripts/mint-fixtures.ts`;
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
    },
    trustedRoot: 'trust/other_trusted_root.json',
  },
};

/** File names (under `private/<name>/`) of a stored Sigstore. */
export const SIGSTORE_FILES: Record<keyof TestSigstoreMaterial, string> = {
  rootKey: 'ca-root.key.pem',
  rootCert: 'ca-root.crt.pem',
  intermediateKey: 'ca-intermediate.key.pem',
  intermediateCert: 'ca-intermediate.crt.pem',
  ctlogKey: 'ctlog.key.pem',
  rekorKey: 'rekor.key.pem',
};

export function sigstoreDir(name: FixtureSigstoreName, fixturesDir = FIXTURES_DIR): string {
  return join(fixturesDir, 'private', name);
}

/** The stored material, or undefined when any file is missing. */
export async function readSigstoreMaterial(dir: string): Promise<TestSigstoreMaterial | undefined> {
  const entries = await Promise.all(
    Object.entries(SIGSTORE_FILES).map(async ([field, file]) => [field, await readOptional(join(dir, file))] as const),
  );
  if (entries.some(([, text]) => text === undefined)) return undefined;
  return Object.fromEntries(entries) as unknown as TestSigstoreMaterial;
}

export async function writeSigstoreMaterial(dir: string, material: TestSigstoreMaterial): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [field, file] of Object.entries(SIGSTORE_FILES)) {
    await writeFile(join(dir, file), material[field as keyof TestSigstoreMaterial]);
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
  /** Payload `critical.identity.docker-reference`. */
  readonly dockerReference: string;
  /** Index children, for multi-arch images. */
  readonly platforms?: ReadonlyArray<{ readonly platform: Platform; readonly digest: string; readonly signed: false }>;
  readonly signatureTag: string | null;
  readonly signatureManifestDigest: string | null;
  /** One per signature layer, in layer order. */
  readonly signatures: readonly FixtureSignature[];
  /** Expected outcomes of verifying `digest` under the given trust and policy. */
  readonly expectations: readonly FixtureExpectation[];
}

export interface FixtureSignature {
  readonly layer: number;
  readonly kind: 'keyless' | 'key';
  readonly payloadDigest: string;
  readonly optional: Readonly<Record<string, string>> | null;
  /** Keyless: which Sigstore's CA issued the certificate. */
  readonly ca?: FixtureSigstoreName;
  readonly identity?: SubjectAltName;
  /** The effective issuer (`.1.8`, else `.1.1`). */
  readonly issuer?: string;
  readonly issuerExtensions?: FulcioIssuer;
  readonly github?: GithubWorkflowClaims;
  /** Key mode: the public key file. */
  readonly keyFile?: string;
  /** The Rekor entry, or null without one. */
  readonly tlog: { readonly rekor: FixtureSigstoreName; readonly logIndex: number; readonly integratedTime: number } | null;
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
  /** Layers that must verify (0-based), when verified. */
  readonly verifiedLayers?: readonly number[];
  readonly note?: string;
}

export async function readFixtureManifest(fixturesDir = FIXTURES_DIR): Promise<FixtureManifest> {
  return JSON.parse(await readFile(join(fixturesDir, 'fixtures.json'), 'utf8')) as FixtureManifest;
}

/**
 * The layers that verify under a fixture policy, by the test oracle:
 * @sigstore/verify (bundle v0.1 recipe) plus exact SAN (any kind, OtherName
 * included) and exact issuer matching. Mirrors what sigverify must conclude
 * for signature crypto and identity; payload binding is checked separately.
 */
export function layersVerifiedByOracle(
  layers: readonly SignatureLayer[],
  trustedRoot: TrustedRootJson,
  policy: FixturePolicy,
  publicKeyFor: (keyFile: string) => KeyObject,
): number[] {
  const verified: number[] = [];
  for (const [index, layer] of layers.entries()) {
    try {
      if (policy.kind === 'key') {
        verifyLayerWithSigstoreJs(layer, trustedRoot, {
          publicKey: publicKeyFor(policy.keyFile),
          ignoreTlog: policy.insecureIgnoreTlog === true,
        });
      } else {
        const signer = verifyLayerWithSigstoreJs(layer, trustedRoot, { policy: { extensions: { issuer: policy.issuer } } });
        const [leaf] = fromPem(layer.annotations[COSIGN_ANNOTATIONS.certificate] ?? '');
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
  layers: readonly SignatureLayer[],
  trustedRoot: TrustedRootJson,
  policy: FixturePolicy,
  publicKeyFor: (keyFile: string) => KeyObject,
): Pick<FixtureExpectation, 'outcome' | 'code' | 'verifiedLayers'> {
  if (layers.length === 0) return { outcome: 'rejected', code: 'NO_SIGNATURES' };
  const verifiedLayers = layersVerifiedByOracle(layers, trustedRoot, policy, publicKeyFor);
  return verifiedLayers.length > 0 ? { outcome: 'verified', verifiedLayers } : { outcome: 'rejected', code: 'NO_MATCHING_SIGNATURE' };
}
