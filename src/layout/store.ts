import { join } from 'node:path';
import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import { readCapped } from '../io/read-capped.ts';
import { parseJson } from '../json/parse.ts';
import { DEFAULT_LIMITS, type Limits } from '../limits.ts';
import { type Digest, digestHex, isDigest, sha256Digest } from '../reference/index.ts';
import type { ContentStore, FetchedManifest, ReferrersListing } from '../registry/types.ts';

/**
 * An OCI image-layout directory as a content store (OCI image-spec
 * `image-layout.md`): `index.json` names manifests, tags are the
 * `org.opencontainers.image.ref.name` annotation, blobs live under
 * `blobs/sha256/<hex>`. The equivalent of cosign's `--local-image`, so a
 * verification can run with no network at all. Files on disk get the same
 * treatment as a registry's bytes: capped, hashed, compared.
 */
const REF_NAME = 'org.opencontainers.image.ref.name';

const LayoutIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  manifests: z.array(
    z.looseObject({
      mediaType: z.string(),
      digest: z.string().refine(isDigest, 'digest must be sha256:<64 lowercase hex>'),
      size: z.number().int().nonnegative(),
      annotations: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

export class LayoutStore implements ContentStore {
  readonly description: string;
  readonly #dir: string;
  readonly #limits: Limits;
  #index: Promise<z.output<typeof LayoutIndexSchema>> | undefined;

  constructor(dir: string, limits: Limits = DEFAULT_LIMITS) {
    this.#dir = dir;
    this.#limits = limits;
    this.description = `oci:${dir}`;
  }

  async getManifest(reference: string): Promise<FetchedManifest | undefined> {
    if (isDigest(reference)) {
      const bytes = await this.#readBlob(reference, this.#limits.maxManifestBytes);
      return bytes === undefined ? undefined : { digest: reference, contentType: undefined, bytes };
    }
    const index = await this.#loadIndex();
    const entries = index.manifests.filter((m) => m.annotations?.[REF_NAME] === reference);
    if (entries.length === 0) return undefined;
    if (entries.length > 1 && new Set(entries.map((e) => e.digest)).size > 1) {
      throw new SigverifyError('MANIFEST_INVALID', `${this.description}: tag ${reference} names ${entries.length} different manifests`);
    }
    const entry = entries[0] as (typeof entries)[number];
    const bytes = await this.getBlob(entry.digest, entry.size, this.#limits.maxManifestBytes);
    return { digest: entry.digest, contentType: entry.mediaType, bytes };
  }

  async getBlob(digest: Digest, expectedSize: number, maxBytes: number): Promise<Uint8Array> {
    if (expectedSize > maxBytes) {
      throw new SigverifyError('LIMIT_EXCEEDED', `${this.description}: blob ${digest} declares ${expectedSize} bytes (limit ${maxBytes})`, { details: { digest } });
    }
    const bytes = await this.#readBlob(digest, maxBytes);
    if (bytes === undefined) {
      throw new SigverifyError('BLOB_NOT_FOUND', `${this.description}: blob ${digest} is missing`, { details: { digest } });
    }
    if (bytes.length !== expectedSize) {
      throw new SigverifyError('DIGEST_MISMATCH', `${this.description}: blob ${digest} has ${bytes.length} bytes, descriptor says ${expectedSize}`, { details: { digest } });
    }
    return bytes;
  }

  /**
   * An image layout has no referrers API (image-spec `image-layout.md` defines
   * only `index.json` and blobs); referrers kept in a layout are found through
   * the referrers tag schema, `sha256-<hex>`, like on a registry without the API.
   */
  getReferrers(_subject: Digest): Promise<ReferrersListing> {
    return Promise.resolve({ kind: 'unsupported' });
  }

  /** The blob's bytes, hash-checked; `undefined` when the layout has no such blob. */
  async #readBlob(digest: Digest, maxBytes: number): Promise<Uint8Array | undefined> {
    let bytes: Buffer;
    try {
      // The digest was validated as sha256:<hex>, so the path cannot escape blobs/.
      bytes = await readCapped(join(this.#dir, 'blobs', 'sha256', digestHex(digest)), maxBytes);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (cause instanceof SigverifyError) throw cause;
      throw new SigverifyError('LAYOUT_UNREADABLE', `${this.description}: cannot read blob ${digest}: ${(cause as Error).message}`, { cause, details: { digest } });
    }
    if (sha256Digest(bytes) !== digest) {
      throw new SigverifyError('DIGEST_MISMATCH', `${this.description}: blob ${digest} does not hash to its name`, { details: { digest } });
    }
    return bytes;
  }

  #loadIndex(): Promise<z.output<typeof LayoutIndexSchema>> {
    this.#index ??= (async () => {
      let bytes: Buffer;
      try {
        bytes = await readCapped(join(this.#dir, 'index.json'), this.#limits.maxManifestBytes);
      } catch (cause) {
        if (cause instanceof SigverifyError) throw cause;
        throw new SigverifyError('LAYOUT_UNREADABLE', `${this.description} is not a readable OCI image layout: ${(cause as Error).message}`, { cause });
      }
      return parseJson(LayoutIndexSchema, bytes, (reason, cause) =>
        new SigverifyError('MANIFEST_INVALID', `${this.description}/index.json is invalid: ${reason}`, { cause }),
      );
    })();
    return this.#index;
  }
}
