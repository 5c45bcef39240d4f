import type { Digest } from '../../src/reference/index.ts';
import { sha256Digest } from '../../src/reference/index.ts';
import type { ContentStore, FetchedManifest, ReferrersListing } from '../../src/registry/types.ts';
import type { OciObject } from '../../test/helpers/sigstore/index.ts';

/**
 * A content store over bytes already in memory, for measuring the CPU cost of
 * verification without I/O. It behaves like the registry client where it
 * matters for cost: every manifest and blob is hashed on the way out (the
 * registry client hashes every body it receives), sizes are checked, and there
 * is no referrers API (so bundles are found through the `sha256-<hex>` tag, as
 * on the loopback registry).
 */
export class MemoryStore implements ContentStore {
  readonly description: string;
  readonly #manifests: ReadonlyMap<string, OciObject>;
  readonly #blobs: ReadonlyMap<Digest, Buffer>;

  constructor(description: string, content: { readonly manifests: ReadonlyMap<string, OciObject>; readonly blobs: ReadonlyMap<Digest, Buffer> }) {
    this.description = description;
    this.#manifests = content.manifests;
    this.#blobs = content.blobs;
  }

  getManifest(reference: string): Promise<FetchedManifest | undefined> {
    const object = this.#manifests.get(reference);
    if (object === undefined) return Promise.resolve(undefined);
    const bytes = object.manifestBytes;
    return Promise.resolve({ digest: sha256Digest(bytes), contentType: object.mediaType, bytes });
  }

  getBlob(digest: Digest, expectedSize: number, maxBytes: number): Promise<Uint8Array> {
    const bytes = this.#blobs.get(digest);
    if (bytes === undefined || expectedSize > maxBytes || bytes.length !== expectedSize || sha256Digest(bytes) !== digest) {
      return Promise.reject(new Error(`memory store: no blob ${digest} of ${expectedSize} bytes`));
    }
    return Promise.resolve(bytes);
  }

  getReferrers(_subject: Digest): Promise<ReferrersListing> {
    return Promise.resolve({ kind: 'unsupported' });
  }
}
