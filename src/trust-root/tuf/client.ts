import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from 'tuf-js';
import { LengthOrHashMismatchError, UnsignedMetadataError } from '@tufjs/models/dist/error.js';
import { BadVersionError, DownloadHTTPError, DownloadLengthMismatchError, ExpiredMetadataError, PersistError } from 'tuf-js/dist/error.js';
import { SigverifyError } from '../../errors.ts';
import { readCapped } from '../../io/read-capped.ts';
import { DEFAULT_LIMITS, type Limits } from '../../limits.ts';
import { type ExpiredMetadata, type TrustRoot, parseTrustedRoot } from '../trusted-root.ts';
import { TRUSTED_ROOT_TARGET, TufCache, writeAtomic } from './cache.ts';
import { type TufFetcher, fetcherFor, roleOf } from './fetchers.ts';
import { type TrustedMetadata, checkMetadata, checkTarget, expiredError, metadataError, parseRole, targetInfo } from './metadata.ts';
import type { CachedMetadata, ExportedRepository, TufIdentity, TufOperations, TufRepositoryLocation, TufSourceOptions } from './source.ts';
import { readOwnedCapped } from '../../io/local-files.ts';

/**
 * One TUF client for every TUF source: the public-good repository, a private
 * Sigstore's mirror, a repository directory carried in on removable media.
 * tuf-js's `Updater` runs the client workflow (TUF specification §5: root
 * rotation, signatures and thresholds, expiry, rollback, consistent
 * snapshots, target length and hashes) with our fetchers; this module anchors
 * the cache to the pinned root, turns tuf-js's failures into our codes, and
 * holds the one path tuf-js cannot take: expired metadata accepted on request.
 * Loaded on first use by `tufSource` (source.ts).
 */
export function tufClient(options: TufSourceOptions, identity: TufIdentity): TufOperations {
  return new TufClient(options, identity);
}

function updaterConfig(limits: Limits): Partial<Config> {
  return {
    maxRootRotations: limits.maxTufRootRotations,
    rootMaxLength: limits.maxTufRootBytes,
    timestampMaxLength: limits.maxTufTimestampBytes,
    snapshotMaxLength: limits.maxTufSnapshotBytes,
    targetsMaxLength: limits.maxTufTargetsBytes,
    // §5.7.3 with consistent snapshots: targets are fetched as `<hash>.<name>`.
    prefixTargetsWithHash: true,
  };
}

type Phase = 'metadata' | 'target';

class TufClient implements TufOperations {
  readonly repository: TufRepositoryLocation;
  readonly cachePath: string;
  readonly description: string;
  readonly #options: TufSourceOptions;
  readonly #limits: Limits;
  readonly #cache: TufCache;

  constructor(options: TufSourceOptions, identity: TufIdentity) {
    this.repository = identity.repository;
    this.cachePath = identity.cachePath;
    this.description = identity.description;
    this.#options = options;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.#cache = new TufCache(this.cachePath, this.#limits);
  }

  load(): Promise<TrustRoot> {
    return this.#run(() => this.#update(true));
  }

  refresh(): Promise<TrustRoot> {
    return this.#run(() => this.#update(false));
  }

  async initialise(): Promise<TrustRoot> {
    if (this.#options.initialRoot === undefined && (await this.#cache.readRoot()) === undefined) {
      throw new SigverifyError('TRUST_CONFIG_INVALID', `${this.description}: an initial root.json is needed to initialise ${this.cachePath}`);
    }
    await this.#anchor(true);
    return this.refresh();
  }

  async cachedMetadata(): Promise<CachedMetadata> {
    const cached = await this.#cache.readAll();
    if (cached.root === undefined) return { initialised: false, roles: [], expired: [] };
    const checked = this.#check(cached.root, cached, { checkExpiry: false });
    return { initialised: true, roles: checked.roles, expired: checked.expired };
  }

  async exportRepository(directory: string): Promise<ExportedRepository> {
    // Verified as any load is (refreshing stale metadata, or accepting it expired with the opt-out).
    await this.load();
    const { root, timestamp, snapshot, targets, target } = await this.#cache.readAll();
    if (root === undefined || timestamp === undefined || snapshot === undefined || targets === undefined || target === undefined) throw this.#notInitialised();
    // The whole chain again, from the oldest root recorded: what the importing client will walk.
    const history = await this.#cache.readHistory();
    const checked = this.#check(
      history[0]?.bytes ?? root,
      { roots: history.slice(1).map((h) => h.bytes), timestamp, snapshot, targets },
      { checkExpiry: this.#options.allowExpiredMetadataUnsafe !== true },
    );
    const last = checked.rootChain.at(-1);
    if (last === undefined || !Buffer.from(last.bytes).equals(root) || checked.snapshot === undefined || checked.targets === undefined) {
      throw metadataError('TRUST_METADATA_INVALID', this.description, `the root history in ${this.#cache.historyDir} does not lead to the cached root; run "sigverify trust init" again`);
    }
    const info = targetInfo(checked.targets, TRUSTED_ROOT_TARGET, this.description);
    await checkTarget(info, target, this.description);

    const consistent = checked.root.signed.consistentSnapshot;
    const files = new Map<string, Uint8Array>();
    for (const version of checked.rootChain) files.set(`${version.version}.root.json`, version.bytes);
    files.set('timestamp.json', timestamp);
    files.set(consistent ? `${checked.snapshot.signed.version}.snapshot.json` : 'snapshot.json', snapshot);
    files.set(consistent ? `${checked.targets.signed.version}.targets.json` : 'targets.json', targets);
    // §5.7.3: `<hash>.<name>`; a client may take any listed hash (tuf-js takes the first).
    for (const hash of consistent ? new Set(Object.values(info.hashes)) : [undefined]) {
      files.set(`targets/${hash === undefined ? '' : `${hash}.`}${TRUSTED_ROOT_TARGET}`, target);
    }
    const out = resolve(directory);
    await createEmptyDirectory(out);
    for (const [name, bytes] of files) await writeAtomic(join(out, name), bytes);
    return { directory: out, rootVersions: checked.rootChain.map((r) => r.version), roles: checked.roles, files: [...files.keys()] };
  }

  /**
   * Failure policy around one update. A repository that cannot be reached
   * while the cache has expired is reported as the expiry (the reason the
   * repository was needed). Expired metadata is accepted only with the opt-out.
   */
  async #run(update: () => Promise<TrustRoot>): Promise<TrustRoot> {
    try {
      return await update();
    } catch (error) {
      let failure = error instanceof SigverifyError ? error : this.#unexplained(error, 'metadata');
      if (failure.code === 'TRUST_ROOT_UNAVAILABLE') {
        const stale = await this.cachedMetadata().then((m) => m.expired[0], () => undefined);
        if (stale !== undefined) failure = expiredError(this.description, stale, failure);
      }
      if (failure.code === 'TRUST_METADATA_EXPIRED' && this.#options.allowExpiredMetadataUnsafe === true) return this.#acceptExpired(failure);
      throw failure;
    }
  }

  /** The client workflow through tuf-js; with `forceCache`, no request while the cached metadata is unexpired. */
  async #update(forceCache: boolean): Promise<TrustRoot> {
    await this.#anchor(false);
    const before = await this.#cache.readAll();
    const fetcher = this.#fetcher();
    let phase: Phase = 'metadata';
    try {
      // tuf-js is loaded when a TUF repository is first read, not with this module: it loads `debug`, which reads
      // DEBUG and the terminal's colours on load, and the single executable's startup snapshot must not hold those.
      const { Updater } = await import('tuf-js');
      const updater = new Updater({
        metadataDir: this.#cache.metadataDir,
        metadataBaseUrl: fetcher.metadataBaseUrl,
        targetDir: this.#cache.targetDir,
        targetBaseUrl: fetcher.targetBaseUrl,
        fetcher,
        // tuf-js's forceCache, with no cached timestamp, fetches one without updating the root
        // first (§5.3 skipped); without a cached timestamp, run the whole workflow.
        forceCache: forceCache && before.timestamp !== undefined,
        config: updaterConfig(this.#limits),
      });
      // 5.3–5.6: root, timestamp, snapshot, targets; then the target's description.
      const info = await updater.getTargetInfo(TRUSTED_ROOT_TARGET);
      if (info === undefined) {
        throw metadataError('TRUST_TARGET_MISMATCH', this.description, `the repository lists no ${TRUSTED_ROOT_TARGET}`, { target: TRUSTED_ROOT_TARGET });
      }
      if (info.length > this.#limits.maxTrustFileBytes) {
        throw new SigverifyError('LIMIT_EXCEEDED', `${this.description}: ${TRUSTED_ROOT_TARGET} is ${info.length} bytes, more than ${this.#limits.maxTrustFileBytes}`);
      }
      // 5.7: the cached target if it still matches, else download it.
      phase = 'target';
      const path = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
      const bytes = await readCapped(path, this.#limits.maxTrustFileBytes);
      // The bytes parsed are the bytes verified (tuf-js verified the file before we read it).
      await checkTarget(info, bytes, this.description);
      return this.#trustRoot(bytes, []);
    } catch (error) {
      throw this.#explain(error, fetcher, before, phase);
    } finally {
      await this.#recordRootHistory(fetcher);
      await this.#cache.tighten();
    }
  }

  /**
   * Anchors the cache to the initial root (§5.2). Without a cached root, the
   * initial one is stored. With one, it must descend from the initial root
   * through the recorded history; a newer initial root replaces it (a newer
   * pinned root). Anything else is refused, or cleared when re-initialising.
   */
  async #anchor(reinitialise: boolean): Promise<void> {
    const cached = await this.#cache.readRoot();
    if (this.#options.initialRoot === undefined) {
      if (cached === undefined) throw this.#notInitialised();
      return;
    }
    const initial = await this.#readInitialRoot(this.#options.initialRoot);
    const pinned = this.#check(initial, {}, { checkExpiry: false }).root;
    if (cached !== undefined) {
      if (await this.#descends(initial, cached)) return;
      const cachedVersion = (() => {
        try {
          return parseRole('root', cached, this.description).signed.version;
        } catch {
          return 0;
        }
      })();
      if (reinitialise) {
        await this.#cache.clear();
      } else if (cachedVersion >= pinned.signed.version) {
        throw metadataError(
          'TRUST_METADATA_UNSIGNED',
          this.description,
          `the cached root (version ${cachedVersion}) in ${this.cachePath} does not descend from the initial root (version ${pinned.signed.version}); ` +
            'run "sigverify trust init" to start again from a root you trust',
          { role: 'root', version: cachedVersion },
        );
      }
      // Else a newer pinned root: start from it, keeping the cached timestamp and snapshot for rollback protection.
      await this.#cache.create();
      await this.#cache.clearHistory();
    }
    await this.#cache.create();
    await this.#cache.writeMetadata('root', initial);
    await this.#cache.writeHistory(pinned.signed.version, initial);
  }

  async #descends(initial: Uint8Array, cached: Buffer): Promise<boolean> {
    try {
      const history = await this.#cache.readHistory();
      const chain = this.#check(initial, { roots: history.map((h) => h.bytes) }, { checkExpiry: false }).rootChain;
      // The chain may run past the cached root only if a walk was interrupted; the cached root must be on it.
      return chain.some((root) => Buffer.from(root.bytes).equals(cached));
    } catch {
      return false;
    }
  }

  async #readInitialRoot(root: string | Uint8Array): Promise<Buffer> {
    if (typeof root !== 'string') return Buffer.from(root);
    try {
      return await readOwnedCapped(root, this.#limits.maxTufRootBytes, 'initial TUF root');
    } catch (cause) {
      if (cause instanceof SigverifyError) throw cause;
      throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot read the initial root ${root}: ${(cause as Error).message}`, { cause, details: { path: root } });
    }
  }

  /** Roots tuf-js accepted on this walk (received, and not newer than the root it stored) join the history. */
  async #recordRootHistory(fetcher: TufFetcher): Promise<void> {
    try {
      const stored = await this.#cache.readRoot();
      if (stored === undefined) return;
      const current = parseRole('root', stored, this.description).signed.version;
      for (const [name, bytes] of fetcher.received) {
        const match = /^(\d+)\.root\.json$/.exec(name);
        const version = Number(match?.[1]);
        if (match === null || version > current) continue;
        if (parseRole('root', bytes, this.description).signed.version === version) await this.#cache.writeHistory(version, bytes);
      }
    } catch {
      // The history serves export and anchoring, which re-verify it; a gap shows there.
    }
  }

  /**
   * tuf-js failure → our code. Fetch failures are the fetcher's own. For
   * verification failures our checker re-runs the workflow over what tuf-js
   * saw (tuf-js 6 wraps errors from loading snapshot and targets into a
   * RuntimeError message, and its messages carry no dates); its verdict
   * names the role and, for expiry, the date. tuf-js's error classes are the
   * fallback.
   */
  #explain(error: unknown, fetcher: TufFetcher, before: Awaited<ReturnType<TufCache['readAll']>>, phase: Phase): SigverifyError {
    if (error instanceof SigverifyError) return error;
    const failed = fetcher.lastFailure;
    if (failed !== undefined) {
      const role = roleOf(failed.name);
      if (failed.error instanceof SigverifyError) return failed.error;
      if (failed.error instanceof DownloadHTTPError) {
        const how = this.repository.kind === 'http' ? ` (HTTP ${failed.error.statusCode})` : '';
        return new SigverifyError('TRUST_ROOT_UNAVAILABLE', `${this.description} has no ${failed.name}${how}: it is not a complete TUF repository`, {
          cause: error,
          details: { source: this.description, file: failed.name, status: failed.error.statusCode },
        });
      }
      if (failed.error instanceof DownloadLengthMismatchError) {
        // Longer than the parent role records (or than our cap): not the file the repository signed.
        return role === undefined
          ? metadataError('TRUST_TARGET_MISMATCH', this.description, `${failed.name}: ${failed.error.message}`, { target: failed.name }, error)
          : metadataError('TRUST_METADATA_INVALID', this.description, `${failed.name}: ${failed.error.message}`, { role }, error);
      }
      return this.#unexplained(failed.error, phase);
    }

    const diagnosis = this.#diagnose(fetcher, before);
    if (diagnosis !== undefined) return new SigverifyError(diagnosis.code, diagnosis.message, { cause: error, details: diagnosis.details });
    return this.#unexplained(error, phase);
  }

  #diagnose(fetcher: TufFetcher, before: Awaited<ReturnType<TufCache['readAll']>>): SigverifyError | undefined {
    if (before.root === undefined) return undefined;
    const latest = (pattern: RegExp): Buffer | undefined => [...fetcher.received].filter(([name]) => pattern.test(name)).at(-1)?.[1];
    try {
      this.#check(
        before.root,
        {
          roots: [...fetcher.received].filter(([name]) => /^\d+\.root\.json$/.test(name)).map(([, bytes]) => bytes),
          timestamp: fetcher.received.get('timestamp.json') ?? before.timestamp,
          snapshot: latest(/^(\d+\.)?snapshot\.json$/) ?? before.snapshot,
          targets: latest(/^(\d+\.)?targets\.json$/) ?? before.targets,
        },
        { checkExpiry: true, previous: before },
      );
      return undefined;
    } catch (error) {
      return error instanceof SigverifyError ? error : undefined;
    }
  }

  /** tuf-js's own error classes, when our checker found nothing more precise. */
  #unexplained(error: unknown, phase: Phase): SigverifyError {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof ExpiredMetadataError ? 'TRUST_METADATA_EXPIRED'
      : error instanceof BadVersionError ? 'TRUST_METADATA_ROLLBACK'
      : error instanceof UnsignedMetadataError ? 'TRUST_METADATA_UNSIGNED'
      : error instanceof LengthOrHashMismatchError ? (phase === 'target' ? 'TRUST_TARGET_MISMATCH' : 'TRUST_METADATA_INVALID')
      : error instanceof PersistError ? 'TRUST_ROOT_UNAVAILABLE'
      : 'TRUST_METADATA_INVALID';
    return metadataError(code, this.description, `TUF client: ${message}`, {}, error);
  }

  /**
   * `allowExpiredMetadataUnsafe`: tuf-js refuses expired metadata outright, so
   * the workflow runs here with every check but expiry: over the repository's
   * current files when it can be read (then cached), else over the cache. The
   * expired roles are recorded in the TrustRoot.
   */
  async #acceptExpired(reason: SigverifyError): Promise<TrustRoot> {
    const cached = await this.#cache.readAll();
    if (cached.root === undefined) throw reason;
    const fetched = await this.#readRepository(cached.root).catch(() => undefined);
    const files = fetched ?? cached;
    if (files.timestamp === undefined || files.snapshot === undefined || files.targets === undefined || files.target === undefined) throw reason;
    const checked = this.#check(
      cached.root,
      { roots: fetched?.roots ?? [], timestamp: files.timestamp, snapshot: files.snapshot, targets: files.targets },
      { checkExpiry: false, previous: cached },
    );
    if (checked.targets === undefined) throw reason;
    await checkTarget(targetInfo(checked.targets, TRUSTED_ROOT_TARGET, this.description), files.target, this.description);
    if (fetched !== undefined) {
      for (const root of checked.rootChain) await this.#cache.writeHistory(root.version, root.bytes);
      await this.#cache.writeMetadata('root', checked.rootChain.at(-1)?.bytes ?? cached.root);
      await this.#cache.writeMetadata('timestamp', files.timestamp);
      await this.#cache.writeMetadata('snapshot', files.snapshot);
      await this.#cache.writeMetadata('targets', files.targets);
      await this.#cache.writeTarget(files.target);
    }
    return this.#trustRoot(files.target, checked.expired);
  }

  /**
   * Reads the repository's current files the way the Updater would (§5.3.3
   * root walk, then timestamp, snapshot, targets and the target by the names
   * and lengths the previous file gives), verifying nothing: `#check` does.
   */
  async #readRepository(trustedRoot: Buffer): Promise<{ roots: Buffer[]; timestamp: Buffer; snapshot: Buffer; targets: Buffer; target: Buffer }> {
    const fetcher = this.#fetcher();
    const limits = this.#limits;
    const roots: Buffer[] = [];
    let root = parseRole('root', trustedRoot, this.description);
    for (let version = root.signed.version + 1; roots.length < limits.maxTufRootRotations; version++) {
      try {
        roots.push(await fetcher.readFile(`${version}.root.json`, limits.maxTufRootBytes));
      } catch (error) {
        if (error instanceof DownloadHTTPError) break;
        throw error;
      }
    }
    const last = roots.at(-1);
    if (last !== undefined) root = parseRole('root', last, this.description);
    const consistent = root.signed.consistentSnapshot;
    const timestamp = await fetcher.readFile('timestamp.json', limits.maxTufTimestampBytes);
    const snapshotMeta = parseRole('timestamp', timestamp, this.description).signed.snapshotMeta;
    const snapshot = await fetcher.readFile(consistent ? `${snapshotMeta.version}.snapshot.json` : 'snapshot.json', snapshotMeta.length ?? limits.maxTufSnapshotBytes);
    const targetsMeta = parseRole('snapshot', snapshot, this.description).signed.meta['targets.json'];
    if (targetsMeta === undefined) throw metadataError('TRUST_METADATA_INVALID', this.description, 'the snapshot does not list targets.json', { role: 'snapshot' });
    const targets = await fetcher.readFile(consistent ? `${targetsMeta.version}.targets.json` : 'targets.json', targetsMeta.length ?? limits.maxTufTargetsBytes);
    const info = targetInfo(parseRole('targets', targets, this.description), TRUSTED_ROOT_TARGET, this.description);
    const hash = Object.values(info.hashes)[0];
    const target = await fetcher.readFile(`targets/${consistent && hash !== undefined ? `${hash}.` : ''}${TRUSTED_ROOT_TARGET}`, info.length);
    return { roots, timestamp, snapshot, targets, target };
  }

  #check(root: Uint8Array, files: Parameters<typeof checkMetadata>[1], options: { checkExpiry: boolean; previous?: { timestamp?: Uint8Array | undefined; snapshot?: Uint8Array | undefined } }): TrustedMetadata {
    return checkMetadata(root, files, {
      source: this.description,
      now: new Date(),
      maxRootRotations: this.#limits.maxTufRootRotations,
      ...options,
    });
  }

  #trustRoot(bytes: Uint8Array, expired: readonly ExpiredMetadata[]): TrustRoot {
    const location = this.repository.kind === 'http' ? this.repository.url : this.repository.path;
    const root = parseTrustedRoot(bytes, this.description, { kind: 'tuf', location });
    if (expired.length === 0) return root;
    return {
      ...root,
      expiredMetadataAccepted: expired,
      warnings: expired.map((e) => `UNSAFE: expired TUF metadata accepted (allowExpiredMetadataUnsafe): ${e.role} version ${e.version} of ${this.description} expired at ${e.expires}`),
    };
  }

  #fetcher(): TufFetcher {
    return fetcherFor(this.repository, this.#limits, this.#options.fetch);
  }

  #notInitialised(): SigverifyError {
    return new SigverifyError(
      'TRUST_ROOT_UNAVAILABLE',
      `${this.description} is not initialised in ${this.cachePath}: run "sigverify trust init" with the repository's root.json`,
      { details: { source: this.description, cachePath: this.cachePath } },
    );
  }
}

/** `trust export` writes into a new or empty directory only: never over another repository's files. */
async function createEmptyDirectory(path: string): Promise<void> {
  let entries: string[];
  try {
    await mkdir(path, { recursive: true });
    entries = await readdir(path);
    if (entries.length === 0) await mkdir(join(path, 'targets'));
  } catch (cause) {
    throw new SigverifyError('USAGE', `cannot create ${path}: ${(cause as Error).message}`, { cause });
  }
  if (entries.length > 0) throw new SigverifyError('USAGE', `${path} is not empty: export into a new or empty directory`);
}
