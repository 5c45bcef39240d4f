import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSigverifyError } from '../errors.ts';
import { LayoutStore } from '../layout/store.ts';
import type { Limits } from '../limits.ts';
import { parseManifest } from '../oci/index.ts';
import { type Digest, TAG_PATTERN, isDigest, sha256Digest } from '../reference/index.ts';

/**
 * The qualification's registry: a minimal, read-only OCI distribution server
 * (distribution-spec v1.1 "Pull") on 127.0.0.1, so the protocol runs the real
 * HTTP path with no Docker and no network. Every repository serves the
 * fixture image layout (tags from its `index.json`) and, in front of it, the
 * objects its case modified at run time: manifests by tag, and blobs. A case
 * gets a repository of its own, so no case sees another's modifications.
 *
 * Routes: `GET /v2/` (API version check); `GET|HEAD /v2/<name>/manifests/<tag|digest>`,
 * with the manifest's own media type as Content-Type; `GET|HEAD /v2/<name>/blobs/<digest>`.
 * By default there is no referrers API (404, like distribution 2.8): clients
 * find referrers through the `sha256-<hex>` tag schema, which the layout
 * carries; a repository added with `referrersApi` serves the API instead.
 * Errors are the spec's JSON error bodies (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`,
 * `NAME_UNKNOWN`, `UNSUPPORTED`).
 */

export interface ServedManifest {
  readonly bytes: Uint8Array;
  /** Served as Content-Type. */
  readonly mediaType: string;
}

/** What a repository serves besides the layout: manifests by tag (each also by its digest), and blobs by digest. */
export interface RepositoryOverlay {
  readonly manifests?: Readonly<Record<string, ServedManifest>>;
  readonly blobs?: readonly Uint8Array[];
  /**
   * Serve the referrers API (distribution-spec v1.1 "Listing Referrers")
   * from the layout's referrers tags (`sha256-<hex>`, the index cosign v3
   * maintains), and hide those tags: a client finds the referrers only
   * through the API, as on a registry that implements it.
   */
  readonly referrersApi?: boolean;
}

interface Repository {
  readonly manifests: ReadonlyMap<string, ServedManifest>;
  readonly blobs: ReadonlyMap<Digest, Uint8Array>;
  readonly referrersApi: boolean;
}

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

const ROUTE = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/;
const REFERRERS_TAG = /^sha256-[0-9a-f]{64}$/;
const EMPTY_INDEX = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));

export class QualificationRegistry {
  readonly #server: Server;
  readonly #layout: LayoutStore;
  readonly #repositories = new Map<string, Repository>();

  private constructor(layout: LayoutStore) {
    this.#layout = layout;
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
  }

  /** Serves the OCI image layout at `layoutDir` on a free loopback port. */
  static async start(layoutDir: string, limits?: Limits): Promise<QualificationRegistry> {
    const registry = new QualificationRegistry(new LayoutStore(layoutDir, limits));
    const server = registry.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return registry;
  }

  /** `127.0.0.1:<port>`: the registry part of an image reference. */
  get host(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Adds repository `name` (the layout, then `overlay` in front of it) and returns `host/name`. */
  addRepository(name: string, overlay: RepositoryOverlay = {}): string {
    const manifests = new Map<string, ServedManifest>();
    for (const [tag, manifest] of Object.entries(overlay.manifests ?? {})) {
      manifests.set(tag, manifest);
      manifests.set(sha256Digest(manifest.bytes), manifest);
    }
    const blobs = new Map((overlay.blobs ?? []).map((bytes) => [sha256Digest(bytes), bytes] as const));
    this.#repositories.set(name, { manifests, blobs, referrersApi: overlay.referrersApi === true });
    return `${this.host}/${name}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => {
        resolve();
      });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.#route(req.method ?? '', new URL(req.url ?? '/', 'http://registry').pathname);
    } catch (error) {
      // The layout on disk is damaged (a blob that does not hash to its name): say so, serve nothing.
      reply = errorReply(500, 'UNKNOWN', isSigverifyError(error) ? `[${error.code}] ${error.message}` : String(error));
    }
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.body?.byteLength ?? 0) });
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  }

  async #route(method: string, path: string): Promise<Reply> {
    if (method !== 'GET' && method !== 'HEAD') return { ...errorReply(405, 'UNSUPPORTED', `${method} is not supported: this registry is read-only`), headers: { allow: 'GET, HEAD', 'content-type': 'application/json' } };
    if (path === '/v2/' || path === '/v2') {
      return { status: 200, headers: { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' }, body: Buffer.from('{}') };
    }
    const match = ROUTE.exec(path);
    if (match === null) return errorReply(404, 'UNSUPPORTED', `no such route: ${path}`);
    const [, name = '', kind, reference = ''] = match;
    const repository = this.#repositories.get(name);
    if (repository === undefined) return errorReply(404, 'NAME_UNKNOWN', `repository ${name} is not known to this registry`);
    if (kind === 'referrers') {
      if (!repository.referrersApi) return errorReply(404, 'UNSUPPORTED', 'this repository has no referrers API');
      if (!isDigest(reference)) return errorReply(400, 'DIGEST_INVALID', `${reference} is no digest`);
      const index = (await this.#layout.getManifest(`sha256-${reference.slice('sha256:'.length)}`))?.bytes ?? EMPTY_INDEX;
      return { status: 200, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: index };
    }
    if (kind === 'manifests') {
      if (repository.referrersApi && REFERRERS_TAG.test(reference)) return errorReply(404, 'MANIFEST_UNKNOWN', `manifest ${reference} is not in ${name}`);
      const manifest = await this.#manifest(repository, reference);
      if (manifest === undefined) return errorReply(404, 'MANIFEST_UNKNOWN', `manifest ${reference} is not in ${name}`);
      return { status: 200, headers: { 'content-type': manifest.mediaType, 'docker-content-digest': sha256Digest(manifest.bytes) }, body: manifest.bytes };
    }
    const blob = isDigest(reference) ? repository.blobs.get(reference) ?? (await this.#layout.getManifest(reference))?.bytes : undefined;
    if (blob === undefined) return errorReply(404, 'BLOB_UNKNOWN', `blob ${reference} is not in ${name}`);
    return { status: 200, headers: { 'content-type': 'application/octet-stream', 'docker-content-digest': sha256Digest(blob) }, body: blob };
  }

  /** A manifest by tag or digest: the overlay's, else the layout's, with the media type its own bytes declare. */
  async #manifest(repository: Repository, reference: string): Promise<ServedManifest | undefined> {
    if (!isDigest(reference) && !TAG_PATTERN.test(reference)) return undefined;
    const overlaid = repository.manifests.get(reference);
    if (overlaid !== undefined) return overlaid;
    // A layout keeps manifests and blobs alike under blobs/sha256/, read hash-checked by digest.
    const fetched = await this.#layout.getManifest(reference);
    if (fetched === undefined) return undefined;
    try {
      return { bytes: fetched.bytes, mediaType: parseManifest(fetched.bytes, `${this.#layout.description}@${fetched.digest}`).mediaType };
    } catch (error) {
      // A blob that is no manifest (a layer, a config) is not served from the manifests endpoint.
      if (isSigverifyError(error, 'MANIFEST_INVALID')) return undefined;
      throw error;
    }
  }
}

function errorReply(status: number, code: string, message: string): Reply {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ errors: [{ code, message }] })) };
}
