import { Readable } from 'node:stream';
import { Metadata, MetadataKind, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
// @tufjs/models exports its error classes only from this module (its index exports ValueError alone).
import { LengthOrHashMismatchError, UnsignedMetadataError } from '@tufjs/models/dist/error.js';
import * as z from 'zod';
import { type ErrorCode, SigverifyError } from '../../errors.ts';
import { parseJson } from '../../json/parse.ts';
import type { ExpiredMetadata, TufRole } from '../trusted-root.ts';

/**
 * The TUF client workflow's checks (TUF specification v1.0, §5.2–§5.7) over
 * metadata that is already at hand, with @tufjs/models: signatures and
 * thresholds, versions and rollback, lengths and hashes, and expiry unless the
 * caller opts out. tuf-js's `Updater` runs the same workflow over the network;
 * this copy exists for what the Updater cannot do:
 *
 * - accept expired metadata (`allowExpiredMetadataUnsafe`: every check but expiry);
 * - explain an Updater failure precisely (tuf-js 6 flattens errors met while
 *   loading snapshot and targets into a RuntimeError message), with the role and
 *   its expiry date;
 * - verify a cache before it is reported (`trust status`) or exported (`trust export`).
 *
 * Delegated targets roles are not followed: sigverify reads `trusted_root.json`,
 * which Sigstore repositories list in the top-level targets role.
 */

type Signed = { root: Root; timestamp: Timestamp; snapshot: Snapshot; targets: Targets };
type MetadataJson = Parameters<typeof Metadata.fromJSON>[1];

const KIND = {
  root: MetadataKind.Root,
  timestamp: MetadataKind.Timestamp,
  snapshot: MetadataKind.Snapshot,
  targets: MetadataKind.Targets,
} as const;

// The envelope every TUF metadata file shares (§4.2); @tufjs/models checks each role's own fields.
const Envelope = z.looseObject({
  signed: z.looseObject({
    _type: z.string(),
    spec_version: z.string(),
    version: z.int().min(1),
    expires: z.iso.datetime({ offset: true }),
  }),
  signatures: z.array(z.looseObject({ keyid: z.string(), sig: z.string() })),
});

/** One role's metadata as it was verified: its version and expiry. */
export interface RoleState {
  readonly role: TufRole;
  readonly version: number;
  /** RFC 3339, as the metadata states it. */
  readonly expires: string;
}

export function metadataError(code: ErrorCode, source: string, message: string, details: Record<string, unknown> = {}, cause?: unknown): SigverifyError {
  return new SigverifyError(code, `${source}: ${message}`, { ...(cause === undefined ? {} : { cause }), details: { source, ...details } });
}

export function expiredError(source: string, state: RoleState, cause?: unknown): SigverifyError {
  return metadataError(
    'TRUST_METADATA_EXPIRED',
    source,
    `the ${state.role} metadata (version ${state.version}) expired at ${state.expires}; ` +
      'refresh the trust metadata ("sigverify trust refresh", or "sigverify trust init --from-dir" with a newer copy of the repository)',
    { role: state.role, version: state.version, expires: state.expires },
    cause,
  );
}

/** Parses one role's metadata; any failure is TRUST_METADATA_INVALID naming the role. */
export function parseRole<R extends TufRole>(role: R, bytes: Uint8Array, source: string): Metadata<Signed[R]> {
  const fail = (reason: string, cause?: unknown): SigverifyError =>
    metadataError('TRUST_METADATA_INVALID', source, `${role} metadata is malformed: ${reason}`, { role }, cause);
  const json = parseJson(Envelope, bytes, fail);
  if (json.signed._type !== role) throw fail(`its _type is "${json.signed._type}"`);
  try {
    return Metadata.fromJSON(KIND[role] as MetadataKind.Root, json as MetadataJson) as unknown as Metadata<Signed[R]>;
  } catch (cause) {
    throw fail((cause as Error).message, cause);
  }
}

export function roleState<R extends TufRole>(role: R, metadata: Metadata<Signed[R]>): RoleState {
  return { role, version: metadata.signed.version, expires: metadata.signed.expires };
}

/** `delegator` must carry a threshold of valid signatures over `delegate` from the keys it names for `role`. */
function checkSignatures(delegator: Metadata<Root>, role: TufRole, delegate: Metadata<Signed[TufRole]>, source: string): void {
  try {
    delegator.verifyDelegate(role, delegate);
  } catch (cause) {
    const unsigned = cause instanceof UnsignedMetadataError;
    throw metadataError(
      unsigned ? 'TRUST_METADATA_UNSIGNED' : 'TRUST_METADATA_INVALID',
      source,
      `${role} metadata version ${delegate.signed.version} is not signed by a threshold of the keys root version ${delegator.signed.version} names (${(cause as Error).message})`,
      { role, version: delegate.signed.version },
      cause,
    );
  }
}

function checkLengthAndHashes(meta: { verify(data: Buffer): void }, role: TufRole, bytes: Uint8Array, source: string): void {
  try {
    meta.verify(Buffer.from(bytes));
  } catch (cause) {
    if (!(cause instanceof LengthOrHashMismatchError)) throw cause;
    throw metadataError('TRUST_METADATA_INVALID', source, `${role} metadata differs from the length or hashes its parent role records (${cause.message})`, { role }, cause);
  }
}

function rollback(source: string, role: TufRole, message: string, details: Record<string, unknown>): SigverifyError {
  return metadataError('TRUST_METADATA_ROLLBACK', source, `${role} metadata: ${message}`, { role, ...details });
}

/** Newer metadata to check from a trusted root onward; any subset, in workflow order (a role needs the ones before it). */
export interface MetadataFiles {
  /** Root versions newer than the trusted one, in any order; older or equal versions are ignored. */
  readonly roots?: readonly Uint8Array[];
  readonly timestamp?: Uint8Array;
  readonly snapshot?: Uint8Array;
  readonly targets?: Uint8Array;
}

export interface CheckOptions {
  /** For messages: the repository. */
  readonly source: string;
  /** The reference time (§5.1). */
  readonly now: Date;
  /** false only for `allowExpiredMetadataUnsafe`: expired roles are then listed in `expired` instead of refused. */
  readonly checkExpiry: boolean;
  /** The timestamp and snapshot trusted before this update, for rollback protection (§5.4.3, §5.5.5). */
  readonly previous?: { readonly timestamp?: Uint8Array | undefined; readonly snapshot?: Uint8Array | undefined };
  /** Most root versions walked (§5.3.3). */
  readonly maxRootRotations: number;
}

export interface TrustedMetadata {
  readonly root: Metadata<Root>;
  /** The trusted root and every newer version accepted, oldest first, with their exact bytes. */
  readonly rootChain: readonly { readonly version: number; readonly bytes: Uint8Array }[];
  readonly timestamp: Metadata<Timestamp> | undefined;
  readonly snapshot: Metadata<Snapshot> | undefined;
  readonly targets: Metadata<Targets> | undefined;
  /** Every role verified, root first. */
  readonly roles: readonly RoleState[];
  /** Roles past their expiry at the reference time; only ever non-empty when `checkExpiry` is false. */
  readonly expired: readonly ExpiredMetadata[];
}

/**
 * The TUF client workflow from a trusted root (§5.2) over `files`, stopping
 * after the last role given. Throws the SigverifyError of the first check
 * that fails: TRUST_METADATA_UNSIGNED, _ROLLBACK, _EXPIRED or _INVALID.
 */
export function checkMetadata(trustedRoot: Uint8Array, files: MetadataFiles, options: CheckOptions): TrustedMetadata {
  const { source, now } = options;
  const expired: ExpiredMetadata[] = [];
  const freshness = (state: RoleState, isExpired: boolean): void => {
    if (!isExpired) return;
    if (options.checkExpiry) throw expiredError(source, state);
    expired.push(state);
  };

  // 5.2: load the trusted root metadata; it must be signed by its own keys.
  let root = parseRole('root', trustedRoot, source);
  checkSignatures(root, 'root', root, source);
  const rootChain = [{ version: root.signed.version, bytes: trustedRoot }];

  // 5.3: update the root role, one version at a time.
  const newer = (files.roots ?? [])
    .map((bytes) => ({ bytes, metadata: parseRole('root', bytes, source) }))
    .filter((r) => r.metadata.signed.version > root.signed.version)
    .sort((a, b) => a.metadata.signed.version - b.metadata.signed.version);
  if (newer.length > options.maxRootRotations) {
    throw metadataError('TRUST_METADATA_INVALID', source, `more than ${options.maxRootRotations} root versions to walk`, { role: 'root' });
  }
  for (const next of newer) {
    // 5.3.4: signed by a threshold of the trusted root's keys and of its own.
    checkSignatures(root, 'root', next.metadata, source);
    checkSignatures(next.metadata, 'root', next.metadata, source);
    // 5.3.5: exactly the next version.
    if (next.metadata.signed.version !== root.signed.version + 1) {
      throw rollback(source, 'root', `version ${next.metadata.signed.version} follows version ${root.signed.version}`, { version: next.metadata.signed.version });
    }
    root = next.metadata;
    rootChain.push({ version: root.signed.version, bytes: next.bytes });
  }
  const roles: RoleState[] = [roleState('root', root)];
  const done = (extra: Partial<Pick<TrustedMetadata, 'timestamp' | 'snapshot' | 'targets'>> = {}): TrustedMetadata => ({
    root,
    rootChain,
    timestamp: extra.timestamp,
    snapshot: extra.snapshot,
    targets: extra.targets,
    roles,
    expired,
  });
  if (files.timestamp === undefined) return done();

  // 5.3.10: the final root must not have expired (checked once it is used).
  freshness(roleState('root', root), root.signed.isExpired(now));

  // Previously trusted metadata counts for rollback only if the current root still vouches for it (§5.3.11).
  const previous = <R extends 'timestamp' | 'snapshot'>(role: R, bytes: Uint8Array | undefined): Metadata<Signed[R]> | undefined => {
    if (bytes === undefined) return undefined;
    try {
      const metadata = parseRole(role, bytes, source);
      root.verifyDelegate(role, metadata);
      return metadata;
    } catch {
      return undefined;
    }
  };

  // 5.4: timestamp.
  const timestamp = parseRole('timestamp', files.timestamp, source);
  checkSignatures(root, 'timestamp', timestamp, source); // 5.4.2
  const oldTimestamp = previous('timestamp', options.previous?.timestamp);
  if (oldTimestamp !== undefined) {
    // 5.4.3.1, 5.4.3.2: neither the timestamp nor the snapshot it lists may go back.
    if (timestamp.signed.version < oldTimestamp.signed.version) {
      throw rollback(source, 'timestamp', `version ${timestamp.signed.version} is older than the trusted version ${oldTimestamp.signed.version}`, {
        version: timestamp.signed.version,
        trustedVersion: oldTimestamp.signed.version,
      });
    }
    if (timestamp.signed.snapshotMeta.version < oldTimestamp.signed.snapshotMeta.version) {
      throw rollback(source, 'snapshot', `timestamp version ${timestamp.signed.version} lists snapshot version ${timestamp.signed.snapshotMeta.version}, older than the trusted ${oldTimestamp.signed.snapshotMeta.version}`, {
        version: timestamp.signed.snapshotMeta.version,
        trustedVersion: oldTimestamp.signed.snapshotMeta.version,
      });
    }
  }
  roles.push(roleState('timestamp', timestamp));
  freshness(roleState('timestamp', timestamp), timestamp.signed.isExpired(now)); // 5.4.4
  if (files.snapshot === undefined) return done({ timestamp });

  // 5.5: snapshot.
  checkLengthAndHashes(timestamp.signed.snapshotMeta, 'snapshot', files.snapshot, source); // 5.5.2
  const snapshot = parseRole('snapshot', files.snapshot, source);
  checkSignatures(root, 'snapshot', snapshot, source); // 5.5.3
  if (snapshot.signed.version !== timestamp.signed.snapshotMeta.version) {
    // 5.5.4
    throw rollback(source, 'snapshot', `version ${snapshot.signed.version} is not the version ${timestamp.signed.snapshotMeta.version} the timestamp lists`, {
      version: snapshot.signed.version,
    });
  }
  const oldSnapshot = previous('snapshot', options.previous?.snapshot);
  for (const [name, old] of Object.entries(oldSnapshot?.signed.meta ?? {})) {
    // 5.5.5: no targets metadata listed before may disappear or go back.
    const current = snapshot.signed.meta[name];
    if (current === undefined || current.version < old.version) {
      throw rollback(source, 'snapshot', `version ${snapshot.signed.version} lists ${name} ${current === undefined ? 'no more' : `at version ${current.version}`}, the trusted snapshot at version ${old.version}`, {
        version: snapshot.signed.version,
        file: name,
      });
    }
  }
  roles.push(roleState('snapshot', snapshot));
  freshness(roleState('snapshot', snapshot), snapshot.signed.isExpired(now)); // 5.5.6
  if (files.targets === undefined) return done({ timestamp, snapshot });

  // 5.6: top-level targets.
  const targetsMeta = snapshot.signed.meta['targets.json'];
  if (targetsMeta === undefined) throw metadataError('TRUST_METADATA_INVALID', source, `snapshot version ${snapshot.signed.version} does not list targets.json`, { role: 'snapshot' });
  checkLengthAndHashes(targetsMeta, 'targets', files.targets, source); // 5.6.2
  const targets = parseRole('targets', files.targets, source);
  checkSignatures(root, 'targets', targets, source); // 5.6.3
  if (targets.signed.version !== targetsMeta.version) {
    // 5.6.4
    throw rollback(source, 'targets', `version ${targets.signed.version} is not the version ${targetsMeta.version} the snapshot lists`, { version: targets.signed.version });
  }
  roles.push(roleState('targets', targets));
  freshness(roleState('targets', targets), targets.signed.isExpired(now)); // 5.6.5
  return done({ timestamp, snapshot, targets });
}

/** The target `name` as the verified targets role describes it; TRUST_TARGET_MISMATCH when it is not listed. */
export function targetInfo(targets: Metadata<Targets>, name: string, source: string) {
  const info = targets.signed.targets[name];
  if (info === undefined) {
    throw metadataError('TRUST_TARGET_MISMATCH', source, `targets version ${targets.signed.version} does not list ${name}`, { target: name });
  }
  return info;
}

/** 5.7.3: the target's bytes must have exactly the length and hashes the targets role signs. */
export async function checkTarget(info: { readonly path: string; verify(stream: Readable): Promise<void> }, bytes: Uint8Array, source: string): Promise<void> {
  try {
    await info.verify(Readable.from([Buffer.from(bytes)]));
  } catch (cause) {
    throw metadataError('TRUST_TARGET_MISMATCH', source, `${info.path} differs from the length or hashes the targets metadata signs (${(cause as Error).message})`, { target: info.path }, cause);
  }
}
