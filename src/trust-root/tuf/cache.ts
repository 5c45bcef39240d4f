import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SigverifyError } from '../../errors.ts';
import { readFileCapped } from '../../io/read-capped.ts';
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
 * (cosign-formats §8.4).
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
      for (const dir of [this.metadataDir, this.targetDir, this.historyDir]) await mkdir(dir, { recursive: true });
    } catch (cause) {
      throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot create the TUF cache ${this.dir}: ${(cause as Error).message}`, { cause, details: { path: this.dir } });
    }
  }

  /** Removes everything cached for this source (a `trust init` that starts from an unrelated root). */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  readRoot(): Promise<Buffer | undefined> {
    return this.#read(join(this.metadataDir, 'root.json'), this.#limits.maxTufRootBytes);
  }

  async readAll(): Promise<CachedFiles> {
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
    let bytes: Buffer | undefined;
    try {
      bytes = await readFileCapped(path, maxBytes);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unreadable(path, cause);
    }
    if (bytes === undefined) throw new SigverifyError('TRUST_METADATA_INVALID', `cached ${path} is larger than ${maxBytes} bytes`, { details: { path } });
    return bytes;
  }
}

function unreadable(path: string, cause: unknown): SigverifyError {
  return new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot read the TUF cache ${path}: ${(cause as Error).message}`, { cause, details: { path } });
}

/** Write to a temporary name, then rename: a reader never sees half a file. */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot write ${path}: ${(cause as Error).message}`, { cause, details: { path } });
  }
}
