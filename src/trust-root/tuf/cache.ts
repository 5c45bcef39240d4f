import { chmod, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SigverifyError } from '../../errors.ts';
import { checkPrivateDirectory, ensurePrivateDirectory, readOwnedFileIfPresent, writePrivateFile } from '../../io/local-files.ts';
import type { Limits } from '../../limits.ts';

/**
 * One TUF source's cache directory, `<cacheDir>/<source id>/`:
 *
 * - `metadata/` tuf-js's metadata directory: the trusted `root.json` and the
 *   last verified `timestamp.json`, `snapshot.json`, `targets.json`;
 * - `targets/trusted_root.json`, the verified target;
 * - `root-history/N.root.json`, every root version trusted since the
 *   initial one, so the chain can be re-verified from a pinned root and
 *   exported (`trust export`) for a client that starts from an older root.
 *
 * Nothing read from here is trusted as it is: every load re-verifies it
 * (docs/formats.md, "Trust"). Still, the cached root decides which later
 * roots are accepted, so the cache is private (io/local-files.ts): the base
 * directory and this one are 0700 directories of this user, checked before
 * anything in them is read or written.
 */
export const TRUSTED_ROOT_TARGET = 'trusted_root.json';

export interface CachedFiles {
  readonly root: Buffer | undefined;
  readonly timestamp: Buffer | undefined;
  readonly snapshot: Buffer | undefined;
  readonly targets: Buffer | undefined;
  readonly target: Buffer | undefined;
}

export class TufCache {
  readonly dir: string;
  readonly metadataDir: string;
  readonly targetDir: string;
  readonly historyDir: string;
  readonly #limits: Limits;

  constructor(dir: string, limits: Limits) {
    this.dir = dir;
    this.metadataDir = join(dir, 'metadata');
    this.targetDir = join(dir, 'targets');
    this.historyDir = join(dir, 'root-history');
    this.#limits = limits;
  }

  async create(): Promise<void> {
    try {
      for (const dir of [dirname(this.dir), this.dir, this.metadataDir, this.targetDir, this.historyDir]) await ensurePrivateDirectory(dir, 'TUF cache directory');
    } catch (cause) {
      if (cause instanceof SigverifyError) throw cause;
      throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot create the TUF cache ${this.dir}: ${(cause as Error).message}`, { cause, details: { path: this.dir } });
    }
  }

  /** Refuses a cache directory that is not private before anything in it is read; false when there is none yet. */
  async #check(): Promise<boolean> {
    try {
      if (!(await checkPrivateDirectory(dirname(this.dir), 'TUF cache directory'))) return false;
      if (!(await checkPrivateDirectory(this.dir, 'TUF cache directory'))) return false;
      for (const dir of [this.metadataDir, this.targetDir, this.historyDir]) await checkPrivateDirectory(dir, 'TUF cache directory');
      return true;
    } catch (cause) {
      if (cause instanceof SigverifyError) throw cause;
      throw unreadable(this.dir, cause);
    }
  }

  /**
   * tuf-js writes its metadata with the process umask; make what it wrote
   * private too, so a later run's ownership and mode checks pass.
   */
  async tighten(): Promise<void> {
    for (const dir of [this.metadataDir, this.targetDir]) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) await chmod(join(dir, name), 0o600).catch(() => undefined);
    }
  }

  /** Removes everything cached for this source (a `trust init` that starts from an unrelated root). */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  async readRoot(): Promise<Buffer | undefined> {
    if (!(await this.#check())) return undefined;
    return this.#read(join(this.metadataDir, 'root.json'), this.#limits.maxTufRootBytes);
  }

  async readAll(): Promise<CachedFiles> {
    await this.#check();
    return {
      root: await this.readRoot(),
      timestamp: await this.#read(join(this.metadataDir, 'timestamp.json'), this.#limits.maxTufTimestampBytes),
      snapshot: await this.#read(join(this.metadataDir, 'snapshot.json'), this.#limits.maxTufSnapshotBytes),
      targets: await this.#read(join(this.metadataDir, 'targets.json'), this.#limits.maxTufTargetsBytes),
      target: await this.#read(join(this.targetDir, TRUSTED_ROOT_TARGET), this.#limits.maxTrustFileBytes),
    };
  }

  /** The recorded root history, oldest first (files named `N.root.json`). */
  async readHistory(): Promise<{ version: number; bytes: Buffer }[]> {
    if (!(await this.#check())) return [];
    let names: string[];
    try {
      names = await readdir(this.historyDir);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw unreadable(this.historyDir, cause);
    }
    const history: { version: number; bytes: Buffer }[] = [];
    for (const name of names) {
      const match = /^([1-9]\d{0,8})\.root\.json$/.exec(name);
      if (match === null) continue;
      const bytes = await this.#read(join(this.historyDir, name), this.#limits.maxTufRootBytes);
      if (bytes !== undefined) history.push({ version: Number(match[1]), bytes });
    }
    return history.sort((a, b) => a.version - b.version);
  }

  async clearHistory(): Promise<void> {
    await rm(this.historyDir, { recursive: true, force: true });
    await this.create();
  }

  writeHistory(version: number, bytes: Uint8Array): Promise<void> {
    return writeAtomic(join(this.historyDir, `${version}.root.json`), bytes);
  }

  /** Writes verified metadata where tuf-js's Updater reads it. */
  writeMetadata(role: 'root' | 'timestamp' | 'snapshot' | 'targets', bytes: Uint8Array): Promise<void> {
    return writeAtomic(join(this.metadataDir, `${role}.json`), bytes);
  }

  writeTarget(bytes: Uint8Array): Promise<void> {
    return writeAtomic(join(this.targetDir, TRUSTED_ROOT_TARGET), bytes);
  }

  async #read(path: string, maxBytes: number): Promise<Buffer | undefined> {
    let read;
    try {
      read = await readOwnedFileIfPresent(path, maxBytes, 'cached TUF file');
    } catch (cause) {
      if (cause instanceof SigverifyError) throw cause;
      throw unreadable(path, cause);
    }
    if (read === undefined) return undefined;
    const { bytes } = read;
    if (bytes === undefined) throw new SigverifyError('TRUST_METADATA_INVALID', `cached ${path} is larger than ${maxBytes} bytes`, { details: { path } });
    return bytes;
  }
}

function unreadable(path: string, cause: unknown): SigverifyError {
  return new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot read the TUF cache ${path}: ${(cause as Error).message}`, { cause, details: { path } });
}

/** Writes through an exclusive, randomly named temporary file (io/local-files.ts): a reader never sees half a file. */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writePrivateFile(path, bytes);
  } catch (cause) {
    throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot write ${path}: ${(cause as Error).message}`, { cause, details: { path } });
  }
}
