import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Digest, sha256Digest } from '../../src/reference/index.ts';
import { fixtureDigest } from '../helpers/fixtures.ts';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { SLSA_PROVENANCE_V1_PREDICATE_TYPE, type TestSigstore, inTotoStatement, makeImage, makeIndex, makeSignatureManifest, referrersTag, signatureTag } from '../helpers/sigstore/index.ts';
import { closeServers } from '../registry/helpers.ts';
import {
  type HostileRegistry,
  OCI_INDEX,
  OCI_MANIFEST,
  blobOf,
  bundleBlobOf,
  endless,
  expectRefused,
  firstEntry,
  gzipBomb,
  manifestOf,
  rawResponse,
  referrersOf,
  replyWith,
  signatureBlobOf,
  startHostileRegistry,
  verifyAt,
} from './hostile-registry.ts';
import { dsseBundle, fixtureSigstore, layerOver, payloadFor, publishBundled, publishSigned, validLayer } from './signing.ts';

/**
 * Content lies: a registry whose headers, sizes and bodies do not tell the
 * truth. Each attack starts from the committed, valid fixture image `signed`
 * (or `bundle-signed`) served honestly and changes one thing; each is refused
 * with its own code, and nothing is verified.
 */
const SIGNED = fixtureDigest('signed');
const UNSIGNED = fixtureDigest('unsigned');
const SIG_TAG = signatureTag(SIGNED);

interface ManifestJson {
  schemaVersion: 2;
  mediaType: string;
  config: unknown;
  layers: { mediaType: string; digest: `sha256:${string}`; size: number; annotations?: Record<string, string> }[];
  [member: string]: unknown;
}

let registry: HostileRegistry;
let sigstore: TestSigstore;

beforeAll(async () => {
  sigstore = await fixtureSigstore(20_000);
});
afterEach(closeServers);

async function hostile(options: Parameters<typeof startHostileRegistry>[0] = {}): Promise<HostileRegistry> {
  registry = await startHostileRegistry(options);
  return registry;
}

function sigManifest(): ManifestJson {
  return JSON.parse(registry.manifest(SIG_TAG).bytes.toString('utf8')) as ManifestJson;
}

/** Replaces the `.sig` manifest of `signed` with an edited copy (a new digest under the same tag). */
function editSigManifest(edit: (manifest: ManifestJson) => void): void {
  const manifest = sigManifest();
  edit(manifest);
  registry.putManifest(Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST, SIG_TAG);
}

const signatureBlob = (): Digest => signatureBlobOf(registry, SIGNED);
const fixtureBundleDigest = (): Digest => bundleBlobOf(registry, fixtureDigest('bundle-signed'));

const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** An SLSA provenance statement for `digest` whose predicate is `depth - 2` nested arrays (the statement itself is 2 levels). */
function deepStatement(digest: string, depth: number): Buffer {
  const statement = inTotoStatement({ subjectDigest: digest, predicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE }).toString('utf8');
  return Buffer.from(statement.replace('"predicate":{}', `"predicate":${nested(depth - 1)}`));
}

describe('baseline', () => {
  it('the hostile registry, behaving, serves verifiable fixtures', async () => {
    await hostile();
    expect((await verifyAt(registry.ref('signed'))).digest).toBe(SIGNED);
    expect((await verifyAt(registry.ref('bundle-signed'))).digest).toBe(fixtureDigest('bundle-signed'));
  });
});

describe('Docker-Content-Digest differs from the body', () => {
  it('tag resolution hashes the body: a header naming another image is ignored, the result names the body digest', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), replyWith({ headers: { 'docker-content-digest': UNSIGNED } }));
    const result = await verifyAt(registry.ref('signed'));
    expect(result.digest).toBe(SIGNED);
    expect(result.pinnedReference).toBe(registry.ref(SIGNED));
  });

  it('the unsigned image served under the signed tag with the signed digest in the header: NO_SIGNATURES for the body digest', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), replyWith({ body: registry.manifest('unsigned').bytes, headers: { 'docker-content-digest': SIGNED } }));
    const { error, result } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_SIGNATURES');
    expect(error.details.digest).toBe(UNSIGNED);
    expect(result?.digest).toBe(UNSIGNED);
    // The signed image's signatures were never even looked up.
    expect(registry.requestsFor('manifests', SIG_TAG)).toEqual([]);
  });

  it('a lie by digest about the image manifest is never read: a digest reference is verified without its manifest, as cosign does', async () => {
    await hostile();
    registry.misbehave(manifestOf(SIGNED), replyWith({ body: registry.manifest('unsigned').bytes, headers: { 'docker-content-digest': SIGNED } }));
    const result = await verifyAt(registry.ref(SIGNED));
    // The signatures are of the digest asked for; what runs is that digest, which the runtime checks by hash.
    expect(result).toMatchObject({ verified: true, digest: SIGNED, pinnedReference: expect.stringMatching(new RegExp(`@${SIGNED}$`)) as string });
    expect(result.imageKind).toBeUndefined();
    expect(registry.requestsFor('manifests', SIGNED)).toEqual([]);
  });

  it('a lie by digest where the manifest is needed (--platform): other bytes for the requested digest: DIGEST_MISMATCH', async () => {
    await hostile();
    registry.misbehave(manifestOf(SIGNED), replyWith({ body: registry.manifest('unsigned').bytes, headers: { 'docker-content-digest': SIGNED } }));
    const { error } = await expectRefused(verifyAt(registry.ref(SIGNED), { platform: 'linux/amd64' }), 'DIGEST_MISMATCH');
    expect(error.details).toMatchObject({ digest: SIGNED, actualDigest: UNSIGNED });
  });
});

describe('the body differs from the requested digest', () => {
  it('a signature blob with other bytes of the same size: LAYER_DIGEST_MISMATCH', async () => {
    await hostile();
    const blob = registry.blob(signatureBlob());
    registry.misbehave(blobOf(signatureBlob()), replyWith({ body: Buffer.from(blob.toString('utf8').replace('v2.1.0', 'v6.6.6')) }));
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_DIGEST_MISMATCH']);
  });

  it('a referrer manifest fetched by digest answered with another manifest: DIGEST_MISMATCH', async () => {
    await hostile({ referrersApi: true });
    const referrer = firstEntry(registry, referrersTag(fixtureDigest('bundle-signed')));
    registry.misbehave(manifestOf(referrer), replyWith({ body: registry.manifest(SIG_TAG).bytes }));
    await expectRefused(verifyAt(registry.ref('bundle-signed')), 'DIGEST_MISMATCH');
  });

  it('a bundle blob with other bytes: LAYER_DIGEST_MISMATCH', async () => {
    await hostile();
    registry.misbehave(blobOf(fixtureBundleDigest()), replyWith((honest) => ({ body: Buffer.from(honest.body.toString().replace('"mediaType"', '"mediaTypf"')) })));
    const { reasons } = await expectRefused(verifyAt(registry.ref('bundle-signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_DIGEST_MISMATCH']);
  });
});

describe('declared sizes that lie', () => {
  it('a descriptor size smaller than the blob: LAYER_DIGEST_MISMATCH (the size is the cap)', async () => {
    await hostile();
    editSigManifest((m) => { (m.layers[0] as { size: number }).size -= 1; });
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_DIGEST_MISMATCH']);
  });

  it('a descriptor size larger than the blob: LAYER_DIGEST_MISMATCH', async () => {
    await hostile();
    editSigManifest((m) => { (m.layers[0] as { size: number }).size += 1; });
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_DIGEST_MISMATCH']);
  });

  it('a descriptor size beyond maxSignatureBlobBytes: LAYER_TOO_LARGE, never downloaded', async () => {
    await hostile();
    editSigManifest((m) => { (m.layers[0] as { size: number }).size = 2 ** 40; });
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_TOO_LARGE']);
    expect(registry.requestsFor('blobs')).toEqual([]);
  });

  it('a Content-Length smaller than the blob: LAYER_DIGEST_MISMATCH', async () => {
    await hostile();
    registry.misbehave(blobOf(signatureBlob()), rawResponse({ body: (h) => h.body, contentLength: (b) => b.byteLength - 10, then: 'close' }));
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_DIGEST_MISMATCH']);
  });

  it('a Content-Length larger than the blob: refused before reading (LAYER_DIGEST_MISMATCH)', async () => {
    await hostile();
    registry.misbehave(blobOf(signatureBlob()), rawResponse({ body: (h) => h.body, contentLength: (b) => b.byteLength + 1, then: 'close' }));
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_DIGEST_MISMATCH']);
  });

  it('a manifest Content-Length beyond maxManifestBytes: LIMIT_EXCEEDED before reading the body', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), rawResponse({ body: (h) => h.body, contentLength: () => 100 * 1024 * 1024, then: 'close' }));
    await expectRefused(verifyAt(registry.ref('signed')), 'LIMIT_EXCEEDED');
  });
});

describe('truncated and endless bodies', () => {
  it('a manifest body cut short (Content-Length larger than what is sent, then the connection closes): REGISTRY_UNREACHABLE after bounded retries', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), rawResponse({ body: (h) => h.body, contentLength: (b) => b.byteLength + 100, then: 'close' }));
    await expectRefused(verifyAt(registry.ref('signed'), { limits: { retryBaseDelayMs: 1 } }), 'REGISTRY_UNREACHABLE');
    expect(registry.requestsFor('manifests', 'signed')).toHaveLength(4);
  });

  it('an endless manifest body: LIMIT_EXCEEDED at maxManifestBytes, not a hang', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), endless());
    const started = Date.now();
    await expectRefused(verifyAt(registry.ref('signed')), 'LIMIT_EXCEEDED');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('an endless signature blob: LAYER_DIGEST_MISMATCH once it passes the descriptor size', async () => {
    await hostile();
    registry.misbehave(blobOf(signatureBlob()), endless());
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_DIGEST_MISMATCH']);
  });

  it('an endless referrers listing: LIMIT_EXCEEDED', async () => {
    await hostile({ referrersApi: true });
    registry.misbehave(referrersOf(), endless(OCI_INDEX));
    await expectRefused(verifyAt(registry.ref('bundle-signed')), 'LIMIT_EXCEEDED');
  });
});

describe('gzip bombs (fetch decodes Content-Encoding: the caps count decoded bytes)', () => {
  it('a 2.5 KB manifest that inflates to 1 GiB: LIMIT_EXCEEDED at maxManifestBytes', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), gzipBomb);
    const before = process.memoryUsage().rss;
    await expectRefused(verifyAt(registry.ref('signed')), 'LIMIT_EXCEEDED');
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('a signature blob that inflates to 1 GiB: LAYER_DIGEST_MISMATCH at the descriptor size', async () => {
    await hostile();
    registry.misbehave(blobOf(signatureBlob()), gzipBomb);
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['LAYER_DIGEST_MISMATCH']);
  });

  it('a referrers listing that inflates to 1 GiB: LIMIT_EXCEEDED', async () => {
    await hostile({ referrersApi: true });
    registry.misbehave(referrersOf(), gzipBomb);
    await expectRefused(verifyAt(registry.ref('bundle-signed')), 'LIMIT_EXCEEDED');
  });
});

describe('counts and sizes beyond the caps', () => {
  it('1,001 signature layers: LIMIT_EXCEEDED at maxSignatureLayers (1,000), no layer fetched', async () => {
    await hostile();
    // Layers without their certificate and Rekor annotations, so the manifest stays far below maxManifestBytes.
    editSigManifest((m) => {
      const { mediaType, digest, size } = m.layers[0] as ManifestJson['layers'][number];
      m.layers = Array.from({ length: 1001 }, () => ({ mediaType, digest, size }));
    });
    expect(registry.manifest(SIG_TAG).bytes.byteLength).toBeLessThan(512 * 1024);
    await expectRefused(verifyAt(registry.ref('signed')), 'LIMIT_EXCEEDED');
    expect(registry.requestsFor('blobs')).toEqual([]);
  });

  it('a layer annotation of 600 KiB: LIMIT_EXCEEDED at maxAnnotationBytes', async () => {
    await hostile();
    editSigManifest((m) => { (m.layers[0] as { annotations: Record<string, string> }).annotations['x-huge'] = 'a'.repeat(600 * 1024); });
    await expectRefused(verifyAt(registry.ref('signed')), 'LIMIT_EXCEEDED');
    expect(registry.requestsFor('blobs')).toEqual([]);
  });

  it('a signature manifest of 5 MiB (many annotations): LIMIT_EXCEEDED at maxManifestBytes', async () => {
    await hostile();
    editSigManifest((m) => { m['annotations'] = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`x-${i}`, 'a'.repeat(100 * 1024)])); });
    await expectRefused(verifyAt(registry.ref('signed')), 'LIMIT_EXCEEDED');
  });

  it('a tag resolving to an index of 1,001 manifests: LIMIT_EXCEEDED at maxIndexManifests', async () => {
    await hostile();
    const child = { mediaType: OCI_MANIFEST, digest: SIGNED, size: registry.manifest('signed').bytes.byteLength, platform: { os: 'linux', architecture: 'amd64' } };
    registry.putManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: Array.from({ length: 1001 }, () => child) })), OCI_INDEX, 'wide');
    await expectRefused(verifyAt(registry.ref('wide')), 'LIMIT_EXCEEDED');
  });
});

describe('deeply nested JSON (JSON.parse copes with 100,000 levels; the parse boundary refuses more than 512)', () => {
  it('a tag manifest of 100,000 nested arrays: MANIFEST_INVALID', async () => {
    await hostile();
    registry.putManifest(Buffer.from(nested(100_000)), OCI_MANIFEST, 'deep');
    await expectRefused(verifyAt(registry.ref('deep')), 'MANIFEST_INVALID');
  });

  it('a signature manifest whose layers are 100,000 nested arrays: MANIFEST_INVALID', async () => {
    await hostile();
    const manifest = registry.manifest(SIG_TAG).bytes.toString('utf8').replace(/"layers":\[.*\]\}$/s, `"layers":${nested(100_000)}}`);
    registry.putManifest(Buffer.from(manifest), OCI_MANIFEST, SIG_TAG);
    await expectRefused(verifyAt(registry.ref('signed')), 'MANIFEST_INVALID');
  });

  it('100,000 nested arrays in an unknown member of a signature manifest: MANIFEST_INVALID (JSON deeper than 512 levels is refused at the parse boundary)', async () => {
    await hostile();
    const manifest = registry.manifest(SIG_TAG).bytes.toString('utf8').replace(/\}$/, `,"x-deep":${nested(100_000)}}`);
    registry.putManifest(Buffer.from(manifest), OCI_MANIFEST, SIG_TAG);
    await expectRefused(verifyAt(registry.ref('signed')), 'MANIFEST_INVALID');
  });

  it('a signed attestation whose predicate is 100,000 nested arrays (verify-attestation): PAYLOAD_INVALID, never a result that cannot be serialised', async () => {
    await hostile();
    publishBundled(registry, 'deep-predicate', (d) => [dsseBundle(sigstore, deepStatement(d, 100_000))]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('deep-predicate'), { attestationPredicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE }), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_INVALID']);
  });

  it('control: a predicate nested 500 levels verifies, and its result serialises', async () => {
    await hostile();
    publishBundled(registry, 'deep-ok', (d) => [dsseBundle(sigstore, deepStatement(d, 500))]);
    const result = await verifyAt(registry.ref('deep-ok'), { attestationPredicateType: SLSA_PROVENANCE_V1_PREDICATE_TYPE });
    expect(result.verifiedSignatures).toBe(1);
    expect(() => canonicalJson(result)).not.toThrow();
  });

  it('a signed payload whose critical.image is 100,000 nested arrays: PAYLOAD_INVALID', async () => {
    await hostile();
    const payload = (digest: string): Buffer => Buffer.from(payloadFor(digest).toString('utf8').replace(/"image":\{[^}]*\}/, `"image":${nested(100_000)}`));
    publishSigned(registry, 'deep-payload', (d) => [layerOver(sigstore, payload(d))]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('deep-payload')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_INVALID']);
  });

  it('a bundle referrer whose bundle blob is 100,000 nested arrays: BUNDLE_INVALID', async () => {
    await hostile();
    publishBundled(registry, 'deep-bundle', () => [Buffer.from(nested(100_000))]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('deep-bundle')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['BUNDLE_INVALID']);
  });

  it('a referrers listing of 100,000 nested arrays with the index content type: MANIFEST_INVALID', async () => {
    await hostile({ referrersApi: true });
    registry.misbehave(referrersOf(), replyWith({ body: Buffer.from(nested(100_000)) }));
    await expectRefused(verifyAt(registry.ref('bundle-signed')), 'MANIFEST_INVALID');
  });
});

describe('duplicate-key JSON (JSON.parse keeps the last value, as Go encoding/json does for cosign)', () => {
  function duplicateDigestPayload(first: string, last: string): Buffer {
    return Buffer.from(payloadFor(first).toString('utf8').replace(/("docker-manifest-digest":"[^"]+")/, `$1,"docker-manifest-digest":"${last}"`));
  }

  it('a signed payload naming this digest, then another under the same key: PAYLOAD_DIGEST_MISMATCH', async () => {
    await hostile();
    const other = `sha256:${'1'.repeat(64)}`;
    publishSigned(registry, 'dup-digest', (d) => [layerOver(sigstore, duplicateDigestPayload(d, other))]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('dup-digest')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it('a signed payload whose duplicate critical object drops the image claim: PAYLOAD_INVALID (Go would merge; we fail closed)', async () => {
    await hostile();
    const payload = (d: string): Buffer => Buffer.from(payloadFor(d).toString('utf8').replace(/,"optional"/, ',"critical":{"type":"cosign container image signature"},"optional"'));
    publishSigned(registry, 'dup-critical', (d) => [layerOver(sigstore, payload(d))]);
    const { reasons } = await expectRefused(verifyAt(registry.ref('dup-critical')), 'NO_MATCHING_SIGNATURE');
    expect(reasons).toEqual(['PAYLOAD_INVALID']);
  });

  it('a signature manifest listing the valid layer, then "layers": [] again: NO_SIGNATURES', async () => {
    await hostile();
    const manifest = registry.manifest(SIG_TAG).bytes.toString('utf8').replace(/\}$/, ',"layers":[]}');
    registry.putManifest(Buffer.from(manifest), OCI_MANIFEST, SIG_TAG);
    await expectRefused(verifyAt(registry.ref('signed')), 'NO_SIGNATURES');
  });

  it('a tag manifest with two mediaType members: the last decides, and the digest is still of the bytes', async () => {
    await hostile();
    const bytes = Buffer.from(registry.manifest('unsigned').bytes.toString('utf8').replace(/^\{/, `{"mediaType":"${OCI_INDEX}",`));
    registry.putManifest(bytes, OCI_MANIFEST, 'dup-type');
    const { error } = await expectRefused(verifyAt(registry.ref('dup-type')), 'NO_SIGNATURES');
    expect(error.details.digest).toBe(sha256Digest(bytes));
  });
});



describe('caps the caller configured apply to the image itself', () => {
  it('a signed index of 3 children under maxIndexManifests 2: LIMIT_EXCEEDED at tag resolution', async () => {
    await hostile();
    const children = ['amd64', 'arm64', 's390x'].map((architecture) => makeImage('adversarial-wide', { platform: { os: 'linux', architecture } }));
    const index = makeIndex(children);
    registry.putObject(index, 'wide-signed');
    registry.putObject(makeSignatureManifest([validLayer(sigstore, index.digest)]), signatureTag(index.digest));
    expect((await verifyAt(registry.ref('wide-signed'))).verifiedSignatures).toBe(1);
    await expectRefused(verifyAt(registry.ref('wide-signed'), { limits: { maxIndexManifests: 2 } }), 'LIMIT_EXCEEDED');
  });

  it('a referrers listing entry with 600 KiB of annotations: LIMIT_EXCEEDED at maxAnnotationBytes', async () => {
    await hostile({ referrersApi: true });
    registry.misbehave(referrersOf(), replyWith((honest) => {
      const listing = JSON.parse(Buffer.from(honest.body).toString('utf8')) as { manifests: { annotations?: Record<string, string> }[] };
      for (const entry of listing.manifests) entry.annotations = { 'x-huge': 'a'.repeat(600 * 1024) };
      return { body: Buffer.from(JSON.stringify(listing)) };
    }));
    await expectRefused(verifyAt(registry.ref('bundle-signed')), 'LIMIT_EXCEEDED');
  });
});
