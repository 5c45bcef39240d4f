import type { Digest } from '../../src/reference/index.ts';
import { digestOf, startServer, type TestServer } from './helpers.ts';

/**
 * An in-process registry serving fixed content (distribution-spec "Pull"),
 * with a referrers API answering what the test says. For the lies and the
 * referrers API the real test registry (distribution 2.8.2) lacks; anything
 * it does not know answers 404.
 */
export interface FakeManifest {
  readonly bytes: Uint8Array;
  readonly mediaType: string;
  /** Tags it is also served under; it is always served by digest. */
  readonly tags?: readonly string[];
}

/** What `GET /v2/<repo>/referrers/<digest>` answers; undefined → 404, as a registry without the API. */
export interface ReferrersReply {
  readonly status?: number;
  readonly contentType?: string;
  readonly body: Uint8Array | string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface FakeRegistryContent {
  readonly repository: string;
  readonly manifests?: readonly FakeManifest[];
  readonly blobs?: readonly Uint8Array[];
  /** Given the subject digest and the request's query string. */
  readonly referrers?: (subject: string, query: URLSearchParams) => ReferrersReply | undefined;
}

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export async function startFakeRegistry(content: FakeRegistryContent): Promise<TestServer> {
  const manifests = new Map<string, FakeManifest>();
  for (const manifest of content.manifests ?? []) {
    manifests.set(digestOf(manifest.bytes), manifest);
    for (const tag of manifest.tags ?? []) manifests.set(tag, manifest);
  }
  const blobs = new Map<Digest, Uint8Array>((content.blobs ?? []).map((bytes) => [digestOf(bytes), bytes]));
  const prefix = `/v2/${content.repository}/`;
  const route = (method: string | undefined, path: string): Reply => {
    if (method !== 'GET' || !path.startsWith(prefix)) return NOT_FOUND;
    const url = new URL(path, 'http://fake');
    const [kind, reference, ...rest] = url.pathname.slice(prefix.length).split('/');
    if (reference === undefined || rest.length > 0) return NOT_FOUND;
    if (kind === 'manifests') {
      const manifest = manifests.get(reference);
      if (manifest === undefined) return NOT_FOUND;
      return { status: 200, headers: { 'content-type': manifest.mediaType, 'docker-content-digest': digestOf(manifest.bytes) }, body: manifest.bytes };
    }
    if (kind === 'blobs') {
      const blob = blobs.get(reference as Digest);
      return blob === undefined ? NOT_FOUND : { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: blob };
    }
    if (kind === 'referrers') {
      const reply = content.referrers?.(reference, url.searchParams);
      if (reply === undefined) return NOT_FOUND;
      return { status: reply.status ?? 200, headers: { 'content-type': reply.contentType ?? OCI_INDEX, ...reply.headers }, body: reply.body };
    }
    return NOT_FOUND;
  };
  return startServer((req, res) => {
    const reply = route(req.method, req.url ?? '/');
    res.writeHead(reply.status, reply.headers).end(reply.body);
  });
}

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | string;
}

// What distribution 2.8.2 answers for a route it does not know.
const NOT_FOUND: Reply = { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '404 page not found\n' };
