import { join, resolve } from 'node:path';
import { SigverifyError } from '../../errors.ts';
import type { Limits } from '../../limits.ts';
import { type TrustSource, sourceKey } from '../sources.ts';
import type { ExpiredMetadata, TrustRoot } from '../trusted-root.ts';
import type { RoleState } from './metadata.ts';

/**
 * Where a TUF repository lives: a mirror URL (a private Sigstore, or the
 * public good) or a directory (carried into an air-gapped site on removable
 * media). Both use the consistent-snapshot layout of a published repository:
 * `N.root.json`, `timestamp.json`, `V.snapshot.json`, `V.targets.json` at the
 * top, targets under `targets/` as `<hash>.<name>`.
 */
export type TufRepositoryLocation = { readonly kind: 'http'; readonly url: string } | { readonly kind: 'directory'; readonly path: string };

/**
 * A TUF source: one repository, its cache and its initial root. `TrustConfig`
 * (`config.ts`) builds these; the options are the library's lower level.
 */
export interface TufSourceOptions {
  /** Names the cache subdirectory, `<cacheDir>/<id>/`. */
  readonly id: string;
  readonly repository: TufRepositoryLocation;
  /** The cache base directory (see `defaultTufCachePath`). */
  readonly cacheDir: string;
  /**
   * The initial trusted root (§5.2): a root.json path or its bytes. Required
   * until the cache holds a root; when given, every load checks that the cached
   * root descends from it.
   */
  readonly initialRoot?: string | Uint8Array;
  /** Accept expired metadata after verifying everything else, and record it in the TrustRoot. Unsafe. */
  readonly allowExpiredMetadataUnsafe?: boolean;
  readonly limits?: Limits;
  /** For HTTP mirrors; default the global fetch. */
  readonly fetch?: typeof fetch;
}

/** A TrustSource backed by a TUF repository, with what `sigverify trust` needs besides `load`. */
export interface TufTrustSource extends TrustSource {
  readonly kind: 'tuf';
  readonly id: string;
  readonly repository: TufRepositoryLocation;
  /** This source's cache directory, `<cacheDir>/<id>`. */
  readonly cachePath: string;
  /**
   * `load` uses the cache without any request while timestamp, snapshot and
   * targets are unexpired; `refresh` always asks the repository for newer metadata.
   */
  refresh(): Promise<TrustRoot>;
  /** `trust init`: anchors the cache to the initial root (clearing it if it holds an unrelated one), then refreshes. */
  initialise(): Promise<TrustRoot>;
  /** The cached roles, verified except for expiry (nothing is fetched). */
  cachedMetadata(): Promise<CachedMetadata>;
  /** `trust export`: writes a verified, self-contained repository that `trust init --from-dir` accepts. */
  exportRepository(dir: string): Promise<ExportedRepository>;
}

export interface CachedMetadata {
  /** false until a root has been stored (`trust init`, or the first load of a source with a pinned root). */
  readonly initialised: boolean;
  readonly roles: readonly RoleState[];
  /** Roles past their expiry now. */
  readonly expired: readonly ExpiredMetadata[];
}

export interface ExportedRepository {
  readonly directory: string;
  /** Root versions written (`N.root.json`), oldest first. */
  readonly rootVersions: readonly number[];
  readonly roles: readonly RoleState[];
  /** Every file written, relative to `directory`. */
  readonly files: readonly string[];
}

export function isTufTrustSource(source: TrustSource): source is TufTrustSource {
  return (source as Partial<TufTrustSource>).kind === 'tuf';
}

/** For messages and results: `TUF repository https://…` or `TUF repository directory /…`. */
export function describeRepository(location: TufRepositoryLocation): string {
  if (location.kind === 'directory') return `TUF repository directory ${resolve(location.path)}`;
  const url = new URL(location.url);
  return `TUF repository ${url.origin}${url.pathname}`;
}

/**
 * A TUF source. The client (`client.ts`: tuf-js and @tufjs/models) is loaded
 * on first use, so a verifier with a pinned trusted_root.json or a public key
 * never loads a TUF client at all.
 */
export function tufSource(options: TufSourceOptions): TufTrustSource {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.id)) throw new SigverifyError('TRUST_CONFIG_INVALID', `TUF source id "${options.id}" is not a plain directory name`);
  const repository: TufRepositoryLocation = options.repository.kind === 'directory' ? { kind: 'directory', path: resolve(options.repository.path) } : options.repository;
  const identity = { repository, cachePath: join(resolve(options.cacheDir), options.id), description: describeRepository(repository) };
  let client: Promise<TufOperations> | undefined;
  const run = async <T>(operation: (c: TufOperations) => Promise<T>): Promise<T> => {
    client ??= import('./client.ts').then((m) => m.tufClient(options, identity));
    return operation(await client);
  };
  return {
    kind: 'tuf',
    id: options.id,
    ...identity,
    key: sourceKey({
      source: 'tuf',
      id: options.id,
      repository,
      cachePath: identity.cachePath,
      initialRoot: typeof options.initialRoot === 'string' ? resolve(options.initialRoot) : options.initialRoot,
      allowExpiredMetadataUnsafe: options.allowExpiredMetadataUnsafe === true,
    }),
    load: () => run((c) => c.load()),
    refresh: () => run((c) => c.refresh()),
    initialise: () => run((c) => c.initialise()),
    cachedMetadata: () => run((c) => c.cachedMetadata()),
    exportRepository: (dir) => run((c) => c.exportRepository(dir)),
  };
}

/** What the client implements; `tufSource` adds the identity. */
export type TufOperations = Pick<TufTrustSource, 'load' | 'refresh' | 'initialise' | 'cachedMetadata' | 'exportRepository'>;

/** The resolved identity `tufSource` hands the client. */
export interface TufIdentity {
  readonly repository: TufRepositoryLocation;
  readonly cachePath: string;
  readonly description: string;
}
