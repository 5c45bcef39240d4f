/**
 * Self-test of the integration-test harness: the real `docker-registry`
 * (distribution 2.8.2) starts, accepts what the push client sends, serves it
 * back, lacks the referrers API, and is gone after stop().
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/reference/index.ts';
import { digestHex, sha256Digest } from '../../src/reference/index.ts';
import type { RunningRegistry } from '../helpers/registry/docker-registry.ts';
import { startRegistry, unusedLoopbackAddress } from '../helpers/registry/docker-registry.ts';
import {
  REF_NAME_ANNOTATION,
  deleteManifest,
  pushBlob,
  pushLayoutAll,
  pushLayoutImage,
  pushManifest,
} from '../helpers/registry/push.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
const COSIGN_PAYLOAD = 'application/vnd.dev.cosign.simplesigning.v1+json';

interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

function bytesOf(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function describeBytes(mediaType: string, bytes: Uint8Array): Descriptor {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length };
}

/** A tiny single-layer image: its blobs, its manifest, and the manifest's descriptor. */
function tinyImage(name: string, layerMediaType = OCI_LAYER) {
  const config = bytesOf({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  const layer = new TextEncoder().encode(`layer of ${name}\n`);
  const manifest = bytesOf({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: describeBytes(OCI_CONFIG, config),
    layers: [describeBytes(layerMediaType, layer)],
  });
  const blobs: readonly [config: Uint8Array, layer: Uint8Array] = [config, layer];
  return { blobs, manifest, descriptor: describeBytes(OCI_MANIFEST, manifest) };
}

async function getManifest(registry: RunningRegistry, repo: string, reference: string, accept: string) {
  const response = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, { headers: { accept } });
  return { response, bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** How a TCP connection attempt ends: `connected`, or the error code. */
function connectOutcome(host: string): Promise<string> {
  const url = new URL(`http://${host}`);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => { resolve(error.code ?? error.message); });
  });
}

describe('docker-registry harness', () => {
  let registry: RunningRegistry;
  // Stays undefined when startRegistry fails, leaving afterAll nothing to stop.
  let started: RunningRegistry | undefined;
  beforeAll(async () => {
    started = await startRegistry();
    registry = started;
  });
  afterAll(async () => {
    await started?.stop();
  });

  it('answers GET /v2/ on a loopback address', async () => {
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(registry.url).toBe(`http://${registry.host}`);
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('serves a pushed image by tag and by digest, byte for byte', async () => {
    const image = tinyImage('inline');
    for (const blob of image.blobs) await pushBlob(registry.url, 'harness/inline', blob);
    // A second push of the same blob is a HEAD hit, not a new upload.
    await pushBlob(registry.url, 'harness/inline', image.blobs[0]);
    const digest = await pushManifest(registry.url, 'harness/inline', 'v1', image.manifest, OCI_MANIFEST);
    expect(digest).toBe(image.descriptor.digest);

    for (const reference of ['v1', digest]) {
      const { response, bytes } = await getManifest(registry, 'harness/inline', reference, OCI_MANIFEST);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(response.headers.get('docker-content-digest')).toBe(digest);
      expect(sha256Digest(bytes)).toBe(digest);
      expect(Buffer.from(bytes).equals(Buffer.from(image.manifest))).toBe(true);
    }

    const layer = await fetch(`${registry.url}/v2/harness/inline/blobs/${sha256Digest(image.blobs[1])}`);
    expect(layer.status).toBe(200);
    expect(new Uint8Array(await layer.arrayBuffer())).toEqual(image.blobs[1]);
  });

  it('deletes a manifest by digest', async () => {
    const image = tinyImage('deleted');
    for (const blob of image.blobs) await pushBlob(registry.url, 'harness/deleted', blob);
    const digest = await pushManifest(registry.url, 'harness/deleted', 'gone', image.manifest, OCI_MANIFEST);

    await deleteManifest(registry.url, 'harness/deleted', digest);
    const { response } = await getManifest(registry, 'harness/deleted', digest, OCI_MANIFEST);
    expect(response.status).toBe(404);
  });

  it('fails loudly, with status and body, when the registry refuses a manifest', async () => {
    // The manifest's blobs were never pushed: distribution answers 400 MANIFEST_BLOB_UNKNOWN.
    const image = tinyImage('orphan');
    await expect(pushManifest(registry.url, 'harness/orphan', 'v1', image.manifest, OCI_MANIFEST)).rejects.toThrow(
      /expected HTTP 201, got 400[\s\S]*MANIFEST_BLOB_UNKNOWN/,
    );
  });

  it('does not implement the referrers API (distribution 2.8.2)', async () => {
    const image = tinyImage('subject');
    for (const blob of image.blobs) await pushBlob(registry.url, 'harness/subject', blob);
    const digest = await pushManifest(registry.url, 'harness/subject', 'v1', image.manifest, OCI_MANIFEST);

    const response = await fetch(`${registry.url}/v2/harness/subject/referrers/${digest}`, {
      headers: { accept: OCI_INDEX },
    });
    const body = await response.text();
    // Observed: 404, `text/plain; charset=utf-8`, "404 page not found" (no such route).
    // Discovery code must treat this as "no referrers API" and fall back to the referrers tag.
    const isOciIndex = response.status === 200 && (response.headers.get('content-type') ?? '').startsWith(OCI_INDEX);
    expect(isOciIndex, `referrers API answered ${response.status}: ${body}`).toBe(false);
  });

  describe('OCI image layout push', () => {
    let layoutDir: string;
    afterEach(async () => {
      await rm(layoutDir, { recursive: true, force: true });
    });

    /** Writes an OCI image layout holding `blobs`, with `entries` (tag, descriptor) in index.json. */
    async function writeLayout(blobs: Uint8Array[], entries: [string, Descriptor][]): Promise<string> {
      layoutDir = await mkdtemp(join(tmpdir(), 'sigverify-layout-'));
      await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
      for (const blob of blobs) {
        await writeFile(join(layoutDir, 'blobs', 'sha256', digestHex(sha256Digest(blob))), blob);
      }
      await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      const manifests = entries.map(([tag, descriptor]) => ({
        ...descriptor,
        annotations: { [REF_NAME_ANNOTATION]: tag },
      }));
      await writeFile(join(layoutDir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
      return layoutDir;
    }

    it('pushes every tagged entry: images, indexes with their children, .sig manifests', async () => {
      const amd64 = tinyImage('amd64');
      const arm64 = tinyImage('arm64');
      const index = bytesOf({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [amd64.descriptor, arm64.descriptor] });
      const indexDescriptor = describeBytes(OCI_INDEX, index);
      const signature = tinyImage('signature', COSIGN_PAYLOAD);
      const sigTag = `sha256-${digestHex(amd64.descriptor.digest)}.sig`;
      const dir = await writeLayout(
        [...amd64.blobs, amd64.manifest, ...arm64.blobs, arm64.manifest, index, ...signature.blobs, signature.manifest],
        [
          ['signed', amd64.descriptor],
          ['multi', indexDescriptor],
          [sigTag, signature.descriptor],
        ],
      );

      const pushed = await pushLayoutAll(registry.url, 'harness/layout', dir);
      expect(pushed).toEqual([
        { tag: 'signed', digest: amd64.descriptor.digest, mediaType: OCI_MANIFEST },
        { tag: 'multi', digest: indexDescriptor.digest, mediaType: OCI_INDEX },
        { tag: sigTag, digest: signature.descriptor.digest, mediaType: OCI_MANIFEST },
      ]);
      for (const { tag, digest, mediaType } of pushed) {
        const { response, bytes } = await getManifest(registry, 'harness/layout', tag, mediaType);
        expect(response.status).toBe(200);
        expect(sha256Digest(bytes)).toBe(digest);
      }
      // The index's children are there by digest, with their blobs.
      const child = await getManifest(registry, 'harness/layout', arm64.descriptor.digest, OCI_MANIFEST);
      expect(child.response.status).toBe(200);
      const blob = await fetch(`${registry.url}/v2/harness/layout/blobs/${sha256Digest(arm64.blobs[1])}`);
      expect(blob.status).toBe(200);
    });

    it('pushes one tagged entry under another tag', async () => {
      const image = tinyImage('retagged');
      const dir = await writeLayout([...image.blobs, image.manifest], [['signed', image.descriptor]]);

      const pushed = await pushLayoutImage(registry.url, 'harness/retag', dir, 'signed', 'renamed');
      expect(pushed).toEqual({ tag: 'renamed', digest: image.descriptor.digest, mediaType: OCI_MANIFEST });
      expect((await getManifest(registry, 'harness/retag', 'renamed', OCI_MANIFEST)).response.status).toBe(200);
      expect((await getManifest(registry, 'harness/retag', 'signed', OCI_MANIFEST)).response.status).toBe(404);
    });

    it('refuses a layout blob whose bytes are not what its descriptor names', async () => {
      const image = tinyImage('corrupt');
      const dir = await writeLayout([...image.blobs, image.manifest], [['signed', image.descriptor]]);
      await writeFile(join(dir, 'blobs', 'sha256', digestHex(sha256Digest(image.blobs[1]))), 'tampered');

      await expect(pushLayoutImage(registry.url, 'harness/corrupt', dir, 'signed')).rejects.toThrow(
        /descriptor says sha256:/,
      );
    });

    it('refuses a tag the layout does not have', async () => {
      const image = tinyImage('missing-tag');
      const dir = await writeLayout([...image.blobs, image.manifest], [['signed', image.descriptor]]);

      await expect(pushLayoutImage(registry.url, 'harness/missing', dir, 'unsigned')).rejects.toThrow(
        /0 entries tagged "unsigned" \(tags: signed\)/,
      );
    });
  });
});

describe('docker-registry lifecycle', () => {
  it('closes its port on stop(), and stop() is idempotent', async () => {
    const registry = await startRegistry();
    expect(await connectOutcome(registry.host)).toBe('connected');

    await registry.stop();
    expect(await connectOutcome(registry.host)).toBe('ECONNREFUSED');
    await registry.stop();
  });

  it('offers a loopback address with nothing listening, for "registry down" tests', async () => {
    const host = await unusedLoopbackAddress();
    expect(host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await connectOutcome(host)).toBe('ECONNREFUSED');
  });

  it('names the package to install when the registry binary is missing', async () => {
    const saved = process.env['DOCKER_REGISTRY_BIN'];
    process.env['DOCKER_REGISTRY_BIN'] = join(tmpdir(), 'no-such-docker-registry');
    try {
      await expect(startRegistry()).rejects.toThrow(/apt-get install docker-registry/);
    } finally {
      if (saved === undefined) delete process.env['DOCKER_REGISTRY_BIN'];
      else process.env['DOCKER_REGISTRY_BIN'] = saved;
    }
  });
});
