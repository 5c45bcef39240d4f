import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { canonicalDigest } from '../audit/canonical-json.ts';
import { ensurePrivateDirectory, readOwnedFileIfPresent, writePrivateFile } from '../io/local-files.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { type Digest, isDigest } from '../reference/index.ts';
import { RESULT_MEDIA_TYPE, type VerificationResult } from '../verify/index.ts';

/**
 * What a cached decision is valid for. Every member must match for an entry
 * to be used: the same image (repository and digest: signatures live in the
 * repository), the same policy (policy digest), the same trust root.
 */
export interface CacheKey {
  /** `registry/repository` (or `oci:DIR`) the image was verified in. */
  readonly subject: string;
  readonly digest: Digest;
  readonly policyDigest: Digest;
  /** sha256 of the trusted_root.json; undefined when none was needed (key mode without the log). */
  readonly trustRootDigest: Digest | undefined;
}

export interface CachedVerification {
  /** The signature verification, as it was reached. */
  readonly result: VerificationResult;
  /** Each required attestation's verification, of the same digest. */
  readonly attestations: readonly VerificationResult[];
  /** When it was stored, ms since the epoch. */
  readonly storedAt: number;
}

export interface ResultCacheOptions {
  /** How long a decision is reused, in ms (default 5 minutes; 0 disables the cache). */
  readonly ttlMs?: number;
  /**
   * Also keep entries in this directory, one JSON file per key, shared by
   * every process of the same user. Created with mode 0700; a directory (or
   * an entry) that another user owns or may write is not used, since whoever
   * can write an entry can make an image pass.
   */
  readonly directory?: string;
  /** Clock, ms since the epoch (tests inject one). */
  readonly now?: () => number;
  /** `maxCacheEntries` (memory) and `maxCacheEntryBytes` (disk). */
  readonly limits?: Partial<Limits>;
  /** Told when the disk cache is unusable or an entry cannot be written (the cache carries on in memory). */
  readonly onWarning?: (message: string) => void;
}

export const DEFAULT_CACHE_TTL_MS = 5 * 60 * 1000;
export const CACHE_ENTRY_MEDIA_TYPE = 'application/vnd.sigverify.result-cache-entry+json;version=1';

/**
 * Verification results reused for a TTL, so a processor that starts the same
 * module thousands of times a day verifies it once per TTL. Only decisions to
 * run are cached (verified results); refusals are always re-checked. Tag
 * resolution is never cached: callers resolve first and look up by digest.
 *
 * In memory: a map bounded by `maxCacheEntries`, least recently used out
 * first; a hit is a map lookup and a clock read. On disk: written to a
 * temporary file and renamed (readers never see half an entry), read with a
 * byte cap, schema-checked, its key compared member by member and its
 * checksum recomputed; anything expired, malformed or for another key is
 * ignored (and expired entries removed). The checksum catches corruption and
 * careless edits, not an attacker who can write the directory: that is what
 * the ownership and mode checks are for.
 */
export class ResultCache {
  readonly ttlMs: number;
  readonly #memory = new Map<string, CachedVerification>();
  readonly #now: () => number;
  readonly #limits: Limits;
  readonly #warn: (message: string) => void;
  readonly #directory: string | undefined;
  #directoryReady: Promise<boolean> | undefined;

  constructor(options: ResultCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_CACHE_TTL_MS;
    if (!Number.isFinite(this.ttlMs) || this.ttlMs < 0) throw new RangeError(`ttlMs must be a non-negative number of ms, not ${this.ttlMs}`);
    this.#now = options.now ?? Date.now;
    this.#limits = resolveLimits(options.limits);
    this.#warn = options.onWarning ?? (() => undefined);
    this.#directory = options.directory;
  }

  /** The entry for exactly this key, if one is fresh: memory first, then disk. */
  async get(key: CacheKey): Promise<CachedVerification | undefined> {
    if (this.ttlMs === 0) return undefined;
    const id = keyString(key);
    const now = this.#now();
    const hit = this.#memory.get(id);
    if (hit !== undefined) {
      this.#memory.delete(id);
      if (this.#fresh(hit.storedAt, now)) {
        this.#memory.set(id, hit);
        return hit;
      }
    }
    if (this.#directory === undefined) return undefined;
    const fromDisk = await this.#read(key, id, now);
    if (fromDisk !== undefined) this.#remember(id, fromDisk);
    return fromDisk;
  }

  /** Stores a verified result (and its attestations) for this key. */
  async set(key: CacheKey, value: Omit<CachedVerification, 'storedAt'>): Promise<void> {
    if (this.ttlMs === 0) return;
    if (!isValidFor(key, value.result, value.attestations)) throw new TypeError('only a verified result of the key digest can be cached');
    const entry: CachedVerification = { result: value.result, attestations: value.attestations, storedAt: this.#now() };
    const id = keyString(key);
    this.#remember(id, entry);
    if (this.#directory !== undefined) await this.#write(key, id, entry);
  }

  /** Forgets everything in memory (entries on disk stay until they expire). */
  clear(): void {
    this.#memory.clear();
  }

  #fresh(storedAt: number, now: number): boolean {
    // An entry from the future (the clock was set back) is not trusted either.
    return storedAt <= now && now - storedAt < this.ttlMs;
  }

  #remember(id: string, entry: CachedVerification): void {
    this.#memory.delete(id);
    this.#memory.set(id, entry);
    while (this.#memory.size > this.#limits.maxCacheEntries) {
      const oldest = this.#memory.keys().next();
      if (oldest.done === true) break;
      this.#memory.delete(oldest.value);
    }
  }

  async #read(key: CacheKey, id: string, now: number): Promise<CachedVerification | undefined> {
    if (!(await this.#usableDirectory())) return undefined;
    const path = this.#path(id);
    const bytes = await readOwnFile(path, this.#limits.maxCacheEntryBytes);
    if (bytes === undefined) return undefined;
    let parsed;
    try {
      parsed = DiskEntry.safeParse(JSON.parse(bytes.toString('utf8')));
    } catch {
      return undefined;
    }
    if (!parsed.success) return undefined;
    const { checksum, ...content } = parsed.data;
    const entryKey = content.key;
    if (entryKey.subject !== key.subject || entryKey.digest !== key.digest || entryKey.policyDigest !== key.policyDigest || (entryKey.trustRootDigest ?? undefined) !== key.trustRootDigest) return undefined;
    if (canonicalDigest(content) !== checksum) return undefined;
    const result = content.result as unknown as VerificationResult;
    const attestations = content.attestations as unknown as VerificationResult[];
    if (!isValidFor(key, result, attestations)) return undefined;
    if (!this.#fresh(content.storedAt, now)) {
      if (content.storedAt <= now) await unlink(path).catch(() => undefined);
      return undefined;
    }
    return { result, attestations, storedAt: content.storedAt };
  }

  async #write(key: CacheKey, id: string, entry: CachedVerification): Promise<void> {
    if (!(await this.#usableDirectory())) return;
    const content = {
      mediaType: CACHE_ENTRY_MEDIA_TYPE,
      key: { subject: key.subject, digest: key.digest, policyDigest: key.policyDigest, trustRootDigest: key.trustRootDigest ?? null },
      storedAt: entry.storedAt,
      result: entry.result,
      attestations: entry.attestations,
    };
    // Round-trip through JSON first, so the checksum covers what a reader will parse.
    const plain = JSON.parse(JSON.stringify(content)) as Record<string, unknown>;
    const bytes = Buffer.from(JSON.stringify({ ...plain, checksum: canonicalDigest(plain) }), 'utf8');
    const path = this.#path(id);
    try {
      await writePrivateFile(path, bytes);
    } catch (error) {
      this.#warn(`result cache: cannot write ${path}: ${(error as Error).message}`);
    }
  }

  #path(id: string): string {
    return join(this.#directory as string, `${createHash('sha256').update(id).digest('hex')}.json`);
  }

  /** Creates the directory (0700) once, and uses it only if it is private (io/local-files.ts). */
  #usableDirectory(): Promise<boolean> {
    this.#directoryReady ??= (async () => {
      const dir = this.#directory as string;
      try {
        await ensurePrivateDirectory(dir, 'result cache directory');
        return true;
      } catch (error) {
        this.#warn(`result cache: ${(error as Error).message}; caching in memory only`);
        return false;
      }
    })();
    return this.#directoryReady;
  }
}

function keyString(key: CacheKey): string {
  return `${key.subject}\n${key.digest}\n${key.policyDigest}\n${key.trustRootDigest ?? 'none'}`;
}

/**
 * A result may stand for this key only if it is verified, of the key's
 * digest (with a platform: of the index, or of the child it names), under the
 * key's trust root; attestations must name the same image to run.
 */
function isValidFor(key: CacheKey, result: VerificationResult, attestations: readonly VerificationResult[]): boolean {
  return [result, ...attestations].every((r) =>
    r.verified
    && (r.digest === key.digest || r.digest === r.platform?.digest)
    && r.trustRoot.digest === key.trustRootDigest
    && r.pinnedReference === result.pinnedReference);
}

/** An entry file, only if it is a private regular file of this user (io/local-files.ts); anything else is no entry. */
async function readOwnFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
  try {
    return (await readOwnedFileIfPresent(path, maxBytes, 'result cache entry'))?.bytes;
  } catch {
    return undefined;
  }
}

const digest = z.string().refine(isDigest);
const CachedResult = z.looseObject({
  mediaType: z.literal(RESULT_MEDIA_TYPE),
  verified: z.literal(true),
  digest,
  pinnedReference: z.string(),
  signatures: z.array(z.looseObject({ outcome: z.string() })),
  trustRoot: z.looseObject({ source: z.string(), digest: digest.optional() }),
  verifiedAt: z.string(),
});
const DiskEntry = z.strictObject({
  mediaType: z.literal(CACHE_ENTRY_MEDIA_TYPE),
  key: z.strictObject({ subject: z.string(), digest, policyDigest: digest, trustRootDigest: digest.nullable() }),
  storedAt: z.number().int().nonnegative(),
  result: CachedResult,
  attestations: z.array(CachedResult),
  checksum: digest,
});
