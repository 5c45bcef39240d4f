import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { type BundleCandidate, discoverBundles, referrersTag } from '../../src/discovery/index.ts';
import { LayoutStore } from '../../src/layout/store.ts';
import { DEFAULT_LIMITS, resolveLimits } from '../../src/limits.ts';
import { type Digest, sha256Digest } from '../../src/reference/index.ts';
import { RegistryClient } from '../../src/registry/index.ts';
import { describeInterop, interopBytes } from '../helpers/interop.ts';
import { type RunningRegistry, startRegistry } from '../helpers/registry/docker-registry.ts';
import { pushBlob, pushManifest } from '../helpers/registry/push.ts';
import { type OciObject, writeOciLayout } from '../helpers/sigstore/oci-layout.ts';
import { type FakeManifest, OCI_INDEX, type ReferrersReply, startFakeRegistry } from '../registry/fake-registry.ts';
import { closeServers, expectCode, recordingSleep, type TestServer, testLimits } from '../registry/helpers.ts';

/**
 * Referrer discovery (docs/formats.md §2.4) over the interop data of a real
 * cosign v3 bundle (interop README §7.5): through a referrers API (in-process
 * fake), through the referrers tag on the real docker-registry (which has no
 * API), and through an OCI layout.
 */
const DIR = 'derived/cosign-new-bundle-format-registry';
const SUBJECT: Digest = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
const FALLBACK_TAG = `sha256-${SUBJECT.slice('sha256:'.length)}`;
const PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/v1';
const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const REPO = 'interop/empty';

const file = (name: string): Buffer => interopBytes(DIR, name);
const subjectManifest = (): Buffer => file('subject-image-manifest.json');
const cosignReferrer = (): Buffer => file('referrer-manifest.cosign-style.synth.json');
const sigstoreOciReferrer = (): Buffer => file('referrer-manifest.sigstore-oci-style.synth.json');
const blobs = (): Buffer[] => [file('bundle-blob.sigstore.json'), file('empty-config-blob.json'), file('subject-image-config.json')];

const ListingSchema = z.object({ manifests: z.array(z.object({ digest: z.string(), size: z.number() })) });

/** The descriptor a listing gives for `bytes`, with optional hints, as a registry would write it. */
function entryFor(bytes: Uint8Array, extra: Record<string, unknown> = {}) {
  return { mediaType: OCI_MANIFEST, size: bytes.length, digest: sha256Digest(bytes), ...extra };
}

function indexOf(entries: readonly unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
}

/** The cosign-style referrer, changed by `edit` (a negative case differs from the real one in one thing). */
function editedReferrer(edit: (manifest: Record<string, unknown>) => void): Buffer {
  const manifest = z.record(z.string(), z.unknown()).parse(JSON.parse(cosignReferrer().toString('utf8')));
  edit(manifest);
  return Buffer.from(JSON.stringify(manifest));
}

/** The candidate the interop referrer must yield, found in `description`. */
function expectedCandidate(description: string): BundleCandidate {
  const referrer = cosignReferrer();
  return {
    format: 'sigstore-bundle',
    origin: `${description}@${sha256Digest(referrer)} (referrer)`,
    manifestDigest: sha256Digest(referrer),
    layer: { mediaType: BUNDLE_V03, size: 5582, digest: sha256Digest(file('bundle-blob.sigstore.json')) },
    artifactType: BUNDLE_V03,
    predicateTypeHint: PREDICATE_TYPE,
  };
}

describeInterop('interop: the synth listings name the bytes we replay (README §7.5)', () => {
  it('the referrers API response and the fallback index both list the cosign-style referrer manifest', () => {
    const referrer = cosignReferrer();
    expect(sha256Digest(subjectManifest())).toBe(SUBJECT);
    for (const name of ['referrers-api-response.synth.json', `fallback-tag-index.${FALLBACK_TAG}.synth.json`]) {
      const listing = ListingSchema.parse(JSON.parse(file(name).toString('utf8')));
      expect(listing.manifests).toEqual([expect.objectContaining({ digest: sha256Digest(referrer), size: referrer.length })]);
    }
    expect(referrersTag(SUBJECT)).toBe(FALLBACK_TAG);
  });
});

describeInterop('interop: discovery through a referrers API (in-process registry)', () => {
  afterEach(closeServers);

  /** A registry holding the interop objects and `extra` manifests, its referrers API answering `listing` for SUBJECT. */
  function registryWith(listing: Uint8Array | ReferrersReply | undefined, extra: readonly FakeManifest[] = []): Promise<TestServer> {
    return startFakeRegistry({
      repository: REPO,
      manifests: [
        { bytes: subjectManifest(), mediaType: DOCKER_MANIFEST, tags: ['latest'] },
        { bytes: cosignReferrer(), mediaType: OCI_MANIFEST },
        ...extra,
      ],
      blobs: blobs(),
      referrers: (subject) => (subject !== SUBJECT || listing === undefined ? undefined : listing instanceof Uint8Array ? { body: listing } : listing),
    });
  }

  const clientFor = (server: TestServer): RegistryClient =>
    new RegistryClient({ registry: server.host, repository: REPO, limits: testLimits, sleep: recordingSleep().sleep });

  it('finds exactly the one bundle, with its predicate-type hint', async () => {
    const server = await registryWith(file('referrers-api-response.synth.json'));
    const client = clientFor(server);
    const found = await discoverBundles(client, SUBJECT, DEFAULT_LIMITS);
    expect(found).toEqual({ source: 'referrers-api', candidates: [expectedCandidate(client.description)], skipped: [] });
    // The candidate leads to the bundle bytes, hash-checked by the store.
    const [candidate] = found.candidates;
    if (candidate === undefined) throw new Error('no candidate');
    expect(await client.getBlob(candidate.layer.digest, candidate.layer.size, 64 * 1024)).toEqual(new Uint8Array(file('bundle-blob.sigstore.json')));
    // Unfiltered: the artifactType query is never used (cosign GetBundles).
    expect(server.requests.filter((r) => r.url.includes('/referrers/')).map((r) => r.url)).toEqual([`/v2/${REPO}/referrers/${SUBJECT}`]);
    expect(server.requests.some((r) => r.url.includes(FALLBACK_TAG))).toBe(false);
  });

  it('finds the @sigstore/oci (actions/attest) shape beside the cosign one', async () => {
    const listing = indexOf([entryFor(cosignReferrer()), entryFor(sigstoreOciReferrer())]);
    const server = await registryWith(listing, [{ bytes: sigstoreOciReferrer(), mediaType: OCI_MANIFEST }]);
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates.map((c) => [c.manifestDigest, c.predicateTypeHint, c.artifactType])).toEqual([
      [sha256Digest(cosignReferrer()), PREDICATE_TYPE, BUNDLE_V03],
      [sha256Digest(sigstoreOciReferrer()), PREDICATE_TYPE, BUNDLE_V03],
    ]);
    expect(found.skipped).toEqual([]);
  });

  it('takes the hints from the listing when the referrer manifest has none', async () => {
    const bare = editedReferrer((m) => {
      delete m['annotations'];
      delete m['artifactType'];
    });
    const listing = indexOf([entryFor(bare, { artifactType: BUNDLE_V03, annotations: { 'dev.sigstore.bundle.predicateType': PREDICATE_TYPE } })]);
    const server = await registryWith(listing, [{ bytes: bare, mediaType: OCI_MANIFEST }]);
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toMatchObject([{ manifestDigest: sha256Digest(bare), predicateTypeHint: PREDICATE_TYPE, artifactType: BUNDLE_V03 }]);
  });

  it("prefers the referrer manifest's own predicate type over the listing's claim", async () => {
    const listing = indexOf([entryFor(cosignReferrer(), { annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' } })]);
    const found = await discoverBundles(clientFor(await registryWith(listing)), SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toMatchObject([{ predicateTypeHint: PREDICATE_TYPE }]);
  });

  it('a referrer with two layers is skipped (NOT_SIGSTORE_BUNDLE)', async () => {
    const twoLayers = editedReferrer((m) => {
      const layers = z.array(z.unknown()).parse(m['layers']);
      m['layers'] = [...layers, ...layers];
    });
    const server = await registryWith(indexOf([entryFor(twoLayers)]), [{ bytes: twoLayers, mediaType: OCI_MANIFEST }]);
    const client = clientFor(server);
    const found = await discoverBundles(client, SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toEqual([]);
    expect(found.skipped).toMatchObject([{ origin: `${client.description}@${sha256Digest(twoLayers)} (referrer)`, code: 'NOT_SIGSTORE_BUNDLE' }]);
    expect(found.source).toBe('referrers-api');
  });

  it('a referrer whose one layer is not a bundle is skipped (a legacy signature stored as a referrer, §1.7)', async () => {
    const legacy = editedReferrer((m) => {
      m['layers'] = [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: 2, digest: sha256Digest(file('empty-config-blob.json')) }];
    });
    const server = await registryWith(indexOf([entryFor(legacy)]), [{ bytes: legacy, mediaType: OCI_MANIFEST }]);
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toEqual([]);
    expect(found.skipped).toMatchObject([{ code: 'NOT_SIGSTORE_BUNDLE' }]);
  });

  it('a referrer listed for this image whose subject is another image is skipped (SUBJECT_MISMATCH)', async () => {
    const other = editedReferrer((m) => {
      m['subject'] = { mediaType: DOCKER_MANIFEST, size: 264, digest: sha256Digest(Buffer.from('another image')) };
    });
    const server = await registryWith(indexOf([entryFor(other), entryFor(cosignReferrer())]), [{ bytes: other, mediaType: OCI_MANIFEST }]);
    const client = clientFor(server);
    const found = await discoverBundles(client, SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toEqual([expectedCandidate(client.description)]);
    expect(found.skipped).toMatchObject([{ origin: `${client.description}@${sha256Digest(other)} (referrer)`, code: 'SUBJECT_MISMATCH' }]);
  });

  it('a referrer without a subject (older fallback writers) is still a candidate', async () => {
    const noSubject = editedReferrer((m) => {
      delete m['subject'];
    });
    const server = await registryWith(indexOf([entryFor(noSubject)]), [{ bytes: noSubject, mediaType: OCI_MANIFEST }]);
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toMatchObject([{ manifestDigest: sha256Digest(noSubject) }]);
  });

  it('a listed manifest the registry does not have is skipped (MANIFEST_NOT_FOUND)', async () => {
    const missing = editedReferrer((m) => {
      m['annotations'] = {};
    });
    const server = await registryWith(indexOf([entryFor(missing), entryFor(cosignReferrer())]));
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toHaveLength(1);
    expect(found.skipped).toMatchObject([{ code: 'MANIFEST_NOT_FOUND' }]);
  });

  it('an index or a non-manifest referrer is skipped (NOT_IMAGE_MANIFEST)', async () => {
    const index = indexOf([]);
    const artifact = Buffer.from(JSON.stringify({ mediaType: 'application/vnd.oci.artifact.manifest.v1+json', artifactType: 'x', blobs: [] }));
    const server = await registryWith(indexOf([entryFor(index), entryFor(artifact)]), [
      { bytes: index, mediaType: OCI_INDEX },
      { bytes: artifact, mediaType: 'application/vnd.oci.artifact.manifest.v1+json' },
    ]);
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toEqual([]);
    expect(found.skipped.map((s) => s.code)).toEqual(['NOT_IMAGE_MANIFEST', 'NOT_IMAGE_MANIFEST']);
  });

  it('a listed manifest declared over maxManifestBytes is skipped without downloading it', async () => {
    const server = await registryWith(indexOf([{ ...entryFor(cosignReferrer()), size: DEFAULT_LIMITS.maxManifestBytes + 1 }]));
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found.skipped).toMatchObject([{ code: 'MANIFEST_TOO_LARGE' }]);
    expect(server.requests.some((r) => r.url.includes('/manifests/'))).toBe(false);
  });

  it('a registry serving other bytes for a listed digest fails with DIGEST_MISMATCH', async () => {
    const claimed = editedReferrer((m) => {
      m['annotations'] = {};
    });
    // The listing names `claimed`; the registry answers that digest with the real referrer's bytes.
    const server = await registryWith(indexOf([entryFor(claimed)]), [{ bytes: cosignReferrer(), mediaType: OCI_MANIFEST, tags: [sha256Digest(claimed)] }]);
    await expectCode(discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS), 'DIGEST_MISMATCH');
  });

  it('counts a referrer listed twice once', async () => {
    const server = await registryWith(indexOf([entryFor(cosignReferrer()), entryFor(cosignReferrer())]));
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found.candidates).toHaveLength(1);
    expect(found.skipped).toEqual([]);
  });

  it('more bundle referrers than maxReferrers is LIMIT_EXCEEDED, not a truncation', async () => {
    const referrers = [0, 1, 2].map((n) => editedReferrer((m) => { m['annotations'] = { n: String(n) }; }));
    const server = await registryWith(indexOf(referrers.map((r) => entryFor(r))), referrers.map((bytes) => ({ bytes, mediaType: OCI_MANIFEST })));
    await expectCode(discoverBundles(clientFor(server), SUBJECT, resolveLimits({ maxReferrers: 2 })), 'LIMIT_EXCEEDED');
    expect((await discoverBundles(clientFor(server), SUBJECT, resolveLimits({ maxReferrers: 3 }))).candidates).toHaveLength(3);
  });

  it('an API with an empty listing means no referrers: the fallback tag is not consulted', async () => {
    const server = await registryWith(indexOf([]), [{ bytes: file(`fallback-tag-index.${FALLBACK_TAG}.synth.json`), mediaType: OCI_INDEX, tags: [FALLBACK_TAG] }]);
    const found = await discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS);
    expect(found).toEqual({ source: 'referrers-api', candidates: [], skipped: [] });
  });

  it('without the API (text/html answer) it falls back to the referrers tag', async () => {
    const server = await registryWith({ status: 200, contentType: 'text/html', body: '<html>login</html>' }, [
      { bytes: file(`fallback-tag-index.${FALLBACK_TAG}.synth.json`), mediaType: OCI_INDEX, tags: [FALLBACK_TAG] },
    ]);
    const client = clientFor(server);
    expect(await discoverBundles(client, SUBJECT, DEFAULT_LIMITS)).toEqual({ source: 'fallback-tag', candidates: [expectedCandidate(client.description)], skipped: [] });
  });

  it('a garbage body with the index content type fails closed (MANIFEST_INVALID), with no fallback', async () => {
    const server = await registryWith({ body: '{"schemaVersion":2,"manifests":"nope"}' }, [
      { bytes: file(`fallback-tag-index.${FALLBACK_TAG}.synth.json`), mediaType: OCI_INDEX, tags: [FALLBACK_TAG] },
    ]);
    await expectCode(discoverBundles(clientFor(server), SUBJECT, DEFAULT_LIMITS), 'MANIFEST_INVALID');
    expect(server.requests.some((r) => r.url.includes(FALLBACK_TAG))).toBe(false);
  });
});

describeInterop('interop: discovery through the referrers tag on the real docker-registry (no referrers API)', () => {
  let registry: RunningRegistry | undefined;
  const running = (): RunningRegistry => {
    if (registry === undefined) throw new Error('registry not started');
    return registry;
  };
  const clientFor = (repository: string): RegistryClient =>
    new RegistryClient({ registry: running().host, repository, limits: testLimits, sleep: recordingSleep().sleep });

  /** Replays the subject image (tag `latest`) into `repo`, and optionally the referrer and the fallback index. */
  async function replay(repo: string, withReferrers: boolean): Promise<void> {
    const { url } = running();
    for (const blob of blobs()) await pushBlob(url, repo, blob);
    expect(await pushManifest(url, repo, 'latest', subjectManifest(), DOCKER_MANIFEST)).toBe(SUBJECT);
    if (!withReferrers) return;
    // cosign PUTs the referrer by digest (pkg/oci/remote/write.go); the fallback index names exactly these bytes.
    const referrer = cosignReferrer();
    await pushManifest(url, repo, sha256Digest(referrer), referrer, OCI_MANIFEST);
    await pushManifest(url, repo, FALLBACK_TAG, file(`fallback-tag-index.${FALLBACK_TAG}.synth.json`), OCI_INDEX);
  }

  beforeAll(async () => {
    registry = await startRegistry();
    await replay('interop/signed', true);
    await replay('interop/unsigned', false);
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('the registry has no referrers API', async () => {
    expect(await clientFor('interop/signed').getReferrers(SUBJECT)).toEqual({ kind: 'unsupported' });
  });

  it('finds exactly the one bundle; the hint comes from the referrer manifest (the fallback index has no annotations)', async () => {
    const client = clientFor('interop/signed');
    const found = await discoverBundles(client, SUBJECT, DEFAULT_LIMITS);
    expect(found).toEqual({ source: 'fallback-tag', candidates: [expectedCandidate(client.description)], skipped: [] });
    const [candidate] = found.candidates;
    if (candidate === undefined) throw new Error('no candidate');
    expect(await client.getBlob(candidate.layer.digest, candidate.layer.size, 64 * 1024)).toEqual(new Uint8Array(file('bundle-blob.sigstore.json')));
  });

  it('no API and no referrers tag: zero candidates, source "none"', async () => {
    expect(await discoverBundles(clientFor('interop/unsigned'), SUBJECT, DEFAULT_LIMITS)).toEqual({ source: 'none', candidates: [], skipped: [] });
  });

  it('a referrers tag holding an image manifest is reported, not silently ignored', async () => {
    const repo = 'interop/not-an-index';
    await replay(repo, false);
    await pushManifest(running().url, repo, FALLBACK_TAG, subjectManifest(), DOCKER_MANIFEST);
    const client = clientFor(repo);
    const found = await discoverBundles(client, SUBJECT, DEFAULT_LIMITS);
    expect(found).toEqual({
      source: 'none',
      candidates: [],
      skipped: [{ origin: `${client.description}:${FALLBACK_TAG} (referrers tag)`, code: 'FALLBACK_NOT_INDEX', reason: expect.any(String) as unknown }],
    });
  });
});

describeInterop('interop: discovery in an OCI image layout (no referrers API)', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const object = (bytes: Buffer, mediaType: string, blobList: readonly Buffer[] = [], manifests: readonly OciObject[] = []): OciObject => ({
    mediaType,
    manifestBytes: bytes,
    digest: sha256Digest(bytes),
    blobs: new Map(blobList.map((b) => [sha256Digest(b), b])),
    manifests,
  });

  it('finds the bundle through the referrers tag', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigverify-referrers-'));
    const referrer = object(cosignReferrer(), OCI_MANIFEST, [file('bundle-blob.sigstore.json'), file('empty-config-blob.json')]);
    await writeOciLayout(dir, [
      { object: object(subjectManifest(), DOCKER_MANIFEST, [file('subject-image-config.json')]), tag: 'latest' },
      { object: object(file(`fallback-tag-index.${FALLBACK_TAG}.synth.json`), OCI_INDEX, [], [referrer]), tag: FALLBACK_TAG },
    ]);
    const store = new LayoutStore(dir);
    expect(await store.getReferrers(SUBJECT)).toEqual({ kind: 'unsupported' });
    expect(await discoverBundles(store, SUBJECT, DEFAULT_LIMITS)).toEqual({ source: 'fallback-tag', candidates: [expectedCandidate(store.description)], skipped: [] });
  });
});
