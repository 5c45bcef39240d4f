/**
 * Signed benchmark images, minted at run time by the private test Sigstore
 * (the one `fixtures/trust/trusted_root.json` trusts), and pushed to the
 * loopback registry.
 *
 * Every image has its own content (hence digest), its own ephemeral key and
 * Fulcio-style certificate (with an SCT), its own signature and its own Rekor
 * entry, as `cosign sign` makes them: nothing a verifier could legitimately
 * cache between two images is shared, except the trust material itself.
 *
 * - legacy: a `.sig` manifest with one simple-signing layer (cosign ≤ v2
 *   keyless: hashedrekord entry, SET only);
 * - bundle: a cosign v3 Sigstore bundle v0.3 referrer (DSSE in-toto
 *   `cosign/sign/v1` statement, Rekor dsse entry with inclusion promise,
 *   proof and checkpoint, RFC 3161 timestamp) found through the
 *   `sha256-<hex>` referrers tag (the Debian registry has no referrers API).
 */
import type { Digest } from '../../src/reference/digest.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER } from '../../test/helpers/fixtures.ts';
import { pushBlob, pushManifest } from '../../test/helpers/registry/push.ts';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  bundleBytes,
  descriptorOf,
  inTotoStatement,
  keylessSigner,
  loadFixtureSigstore,
  makeImage,
  makeReferrerManifest,
  makeReferrersIndex,
  makeSignatureManifest,
  referrersTag,
  signDsseBundle,
  signLegacyLayer,
  signatureTag,
  simpleSigningPayload,
  type KeylessIdentity,
  type OciObject,
  type SignatureLayer,
  type SigstoreBundleJson,
  type TestSigstore,
} from '../../test/helpers/sigstore/index.ts';

export type Format = 'legacy' | 'bundle';
export const FORMATS: readonly Format[] = ['legacy', 'bundle'];

/** The repository every benchmark image is pushed to. */
export const BENCH_REPOSITORY = 'bench/algorithms';

/** A GitHub Actions release identity, like the committed fixtures' (`FIXTURE_IDENTITY`). */
const IDENTITY: KeylessIdentity = {
  san: { kind: 'uri', value: FIXTURE_IDENTITY },
  issuer: FIXTURE_ISSUER,
  github: { trigger: 'push', sha: '0123456789abcdef0123456789abcdef01234567', name: 'Release', repository: 'example-org/brain-seg', ref: 'refs/tags/v2.1.0' },
};

/** One signed image and everything stored for it. */
export interface MintedImage {
  readonly format: Format;
  readonly index: number;
  readonly tag: string;
  readonly image: OciObject;
  readonly digest: Digest;
  /** What is stored besides the image: tag (undefined: by digest only) and object. */
  readonly entries: ReadonlyArray<{ readonly tag?: string; readonly object: OciObject }>;
  /** legacy: the `.sig` layer. */
  readonly layer?: SignatureLayer;
  /** bundle: the v0.3 bundle. */
  readonly bundle?: SigstoreBundleJson;
}

export interface Minter {
  readonly sigstore: TestSigstore;
  mint(format: Format, index: number): MintedImage;
}

export async function createMinter(dockerReference: string): Promise<Minter> {
  // Log indexes far from the fixtures', so no entry repeats one of theirs.
  const sigstore = await loadFixtureSigstore('test', { firstLogIndex: 5_000_000 });
  const tsa = sigstore.tsa;
  if (tsa === undefined) throw new Error('the fixture Sigstore has no TSA');
  return {
    sigstore,
    mint(format, index) {
      const signedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const integratedTime = signedAt.getTime() / 1000;
      const tag = `${format}-${index}`;
      const image = makeImage(`sigverify bench ${tag}`);
      const signer = keylessSigner(sigstore, IDENTITY, { notBefore: signedAt });
      if (format === 'legacy') {
        const payload = simpleSigningPayload({ dockerReference, digest: image.digest, optional: null });
        const layer = signLegacyLayer({ payload, signer, rekor: sigstore.rekor, integratedTime });
        const entries = [{ tag: signatureTag(image.digest), object: makeSignatureManifest([layer]) }];
        return { format, index, tag, image, digest: image.digest, entries, layer };
      }
      // cosign v3 sign: protojson statement, no subject name, annotations `{}`; Rekor + TSA.
      const statement = inTotoStatement({ subjectDigest: image.digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE, subjectAnnotations: {}, format: 'protojson' });
      const bundle = signDsseBundle({ payload: statement, signer, rekor: sigstore.rekor, tsa, integratedTime, timestampTime: signedAt });
      const referrer = makeReferrerManifest({ bundleBytes: bundleBytes(bundle), subject: descriptorOf(image), predicateType: COSIGN_SIGN_PREDICATE_TYPE, style: 'cosign', created: signedAt });
      const entries = [{ object: referrer }, { tag: referrersTag(image.digest), object: makeReferrersIndex([referrer], { withAnnotations: false }) }];
      return { format, index, tag, image, digest: image.digest, entries, bundle };
    },
  };
}

/**
 * Pushes images with their signatures, `concurrency` images at a time; blobs
 * already pushed in this run (the shared empty config `{}`) are not pushed again.
 */
export async function pushImages(base: string, images: readonly MintedImage[], concurrency: number, onProgress?: (done: number) => void): Promise<void> {
  const blobs = new Map<Digest, Promise<Digest>>();
  const push = async (object: OciObject, reference: string): Promise<void> => {
    await Promise.all(
      [...object.blobs].map(([digest, bytes]) => {
        let pushed = blobs.get(digest);
        if (pushed === undefined) {
          pushed = pushBlob(base, BENCH_REPOSITORY, bytes);
          blobs.set(digest, pushed);
        }
        return pushed;
      }),
    );
    for (const child of object.manifests) await push(child, child.digest);
    await pushManifest(base, BENCH_REPOSITORY, reference, object.manifestBytes, object.mediaType);
  };
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < images.length; i = next++) {
      const minted = images[i] as MintedImage;
      // Signatures refer to the image: the image first (a registry may check subjects).
      await push(minted.image, minted.tag);
      for (const entry of minted.entries) await push(entry.object, entry.tag ?? entry.object.digest);
      onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, images.length) }, worker));
}

/** Every object of an image, by tag and digest: what an in-memory content store serves. */
export function contentOf(images: readonly MintedImage[]): { manifests: Map<string, OciObject>; blobs: Map<Digest, Buffer> } {
  const manifests = new Map<string, OciObject>();
  const blobs = new Map<Digest, Buffer>();
  const add = (object: OciObject, tag: string | undefined): void => {
    manifests.set(object.digest, object);
    if (tag !== undefined) manifests.set(tag, object);
    for (const [digest, bytes] of object.blobs) blobs.set(digest, bytes);
    for (const child of object.manifests) add(child, undefined);
  };
  for (const minted of images) {
    add(minted.image, minted.tag);
    for (const entry of minted.entries) add(entry.object, entry.tag);
  }
  return { manifests, blobs };
}
