import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/oci/index.ts';
import { QualificationRegistry } from '../../src/qualify/registry.ts';
import { modifyImage, tamperSignedEntryTimestamp } from '../../src/qualify/tamper.ts';
import { sha256Digest } from '../../src/reference/index.ts';
import { RegistryClient } from '../../src/registry/index.ts';
import { FIXTURE_LAYOUT, fixtureDigest } from '../helpers/fixtures.ts';
import { expectCode, manifestBytes } from '../registry/helpers.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const blob = (digest: string): Promise<Buffer> => readFile(join(FIXTURE_LAYOUT, 'blobs', 'sha256', digest.slice('sha256:'.length)));
const signatureTag = (digest: string): string => `sha256-${digest.slice('sha256:'.length)}.sig`;

let registry: QualificationRegistry;
const extra = manifestBytes('served at run time');
beforeAll(async () => {
  registry = await QualificationRegistry.start(FIXTURE_LAYOUT);
  registry.addRepository('plain/layout');
  registry.addRepository('with/overlay', { manifests: { signed: { bytes: extra, mediaType: OCI_MANIFEST } }, blobs: [Buffer.from('a blob')] });
});
afterAll(async () => {
  await registry.close();
});

const get = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`http://${registry.host}${path}`, init);

describe('the qualification registry', () => {
  it('answers the API version check', async () => {
    const response = await get('/v2/');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('serves layout manifests by tag and digest with their own media type, through the real client', async () => {
    const client = new RegistryClient({ registry: registry.host, repository: 'plain/layout' });
    const byTag = await client.getManifest('signed');
    expect(byTag).toMatchObject({ digest: fixtureDigest('signed'), contentType: OCI_MANIFEST });
    const index = await client.getManifest(fixtureDigest('multiarch'));
    expect(index?.contentType).toBe('application/vnd.oci.image.index.v1+json');
    const manifest = parseManifest(byTag?.bytes ?? new Uint8Array(), 'signed');
    const layer = manifest.kind === 'manifest' ? manifest.layers[0] : undefined;
    expect(await client.getBlob(layer?.digest ?? 'sha256:', layer?.size ?? 0, 1 << 20)).toEqual(new Uint8Array(await blob(layer?.digest ?? '')));
    expect(await client.getReferrers(fixtureDigest('signed'))).toEqual({ kind: 'unsupported' });
  });

  it('serves the overlay in front of the layout, by tag and by digest, and only in its repository', async () => {
    const overlay = new RegistryClient({ registry: registry.host, repository: 'with/overlay' });
    expect((await overlay.getManifest('signed'))?.digest).toBe(sha256Digest(extra));
    expect((await overlay.getManifest(sha256Digest(extra)))?.digest).toBe(sha256Digest(extra));
    expect((await overlay.getManifest('unsigned'))?.digest).toBe(fixtureDigest('unsigned'));
    expect(Buffer.from(await overlay.getBlob(sha256Digest(Buffer.from('a blob')), 6, 100)).toString()).toBe('a blob');
    const plain = new RegistryClient({ registry: registry.host, repository: 'plain/layout' });
    expect((await plain.getManifest('signed'))?.digest).toBe(fixtureDigest('signed'));
    expect(await plain.getManifest(sha256Digest(extra))).toBeUndefined();
  });

  it('answers HEAD with the headers and no body', async () => {
    const response = await get('/v2/plain/layout/manifests/signed', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(fixtureDigest('signed'));
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await response.text()).toBe('');
  });

  it.each([
    ['an unknown repository', '/v2/no/such/manifests/signed', 404, 'NAME_UNKNOWN'],
    ['an unknown tag', '/v2/plain/layout/manifests/nope', 404, 'MANIFEST_UNKNOWN'],
    ['a reference that is neither tag nor digest', '/v2/plain/layout/manifests/-bad', 404, 'MANIFEST_UNKNOWN'],
    ['an unknown blob', `/v2/plain/layout/blobs/sha256:${'0'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
    ['a blob that is no digest', '/v2/plain/layout/blobs/latest', 404, 'BLOB_UNKNOWN'],
    ['an unknown route', '/v2/plain/layout/tags/list', 404, 'UNSUPPORTED'],
  ])('answers %s with the spec error', async (_, path, status, code) => {
    const response = await get(path);
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ errors: [{ code, message: expect.any(String) as unknown }] });
  });

  it('does not serve a layer from the manifests endpoint', async () => {
    const manifest = parseManifest(await blob(fixtureDigest('signed')), 'signed');
    const layer = manifest.kind === 'manifest' ? manifest.layers[0]?.digest : undefined;
    expect((await get(`/v2/plain/layout/manifests/${layer ?? ''}`)).status).toBe(404);
  });

  it('is read-only', async () => {
    const response = await get('/v2/plain/layout/manifests/signed', { method: 'PUT', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('the protocol attacks', () => {
  it('modifies one byte of the signed image layer; the manifest changes only in that digest', async () => {
    const manifest = await blob(fixtureDigest('signed'));
    const parsed = parseManifest(manifest, 'signed');
    const layer = parsed.kind === 'manifest' ? parsed.layers[0] : undefined;
    const original = await blob(layer?.digest ?? '');
    const modified = modifyImage(manifest, layer?.digest ?? 'sha256:', original);
    expect(modified.layer.length).toBe(original.length);
    expect([...modified.layer].filter((b, i) => b !== original[i])).toHaveLength(1);
    expect(modified.manifest.toString()).toBe(manifest.toString().replace(layer?.digest ?? '', sha256Digest(modified.layer)));
    expect(sha256Digest(modified.manifest)).not.toBe(fixtureDigest('signed'));
  });

  it('tampers one byte of the signed entry timestamp', async () => {
    const signature = await blob((await registryManifestDigest(signatureTag(fixtureDigest('signed')))) ?? '');
    const tampered = tamperSignedEntryTimestamp(signature);
    expect(tampered.length).toBe(signature.length);
    expect([...tampered].filter((b, i) => b !== signature[i])).toHaveLength(1);
  });

  it('refuses a manifest without a Rekor bundle, or without the layer, as a damaged kit', async () => {
    await expectCode(Promise.resolve().then(() => tamperSignedEntryTimestamp(extra)), 'QUALIFICATION_KIT_INVALID');
    await expectCode(Promise.resolve().then(() => modifyImage(manifestBytes(), fixtureDigest('signed'), Buffer.from('x'))), 'QUALIFICATION_KIT_INVALID');
  });
});

async function registryManifestDigest(tag: string): Promise<string | undefined> {
  return (await new RegistryClient({ registry: registry.host, repository: 'plain/layout' }).getManifest(tag))?.digest;
}
