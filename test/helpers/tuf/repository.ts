import { type KeyObject, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, MetaFile, Metadata, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';

/**
 * A private TUF repository for tests, the way a private Sigstore publishes
 * one: root, targets, snapshot and timestamp signed with Ed25519 test keys
 * (@tufjs/models `Metadata.sign`), consistent snapshots, targets stored as
 * `targets/<sha256>.<name>`. `files()` is the published layout, written to a
 * directory (`writeTo`) or served from loopback (`serveRepository`). Every
 * piece stays reachable so tests can publish a bad version of one role.
 */

export interface TufSigningKey {
  readonly keyId: string;
  readonly key: Key;
  readonly privateKey: KeyObject;
}

const SPEC_VERSION = '1.0.31';
/** Far enough that the happy path never needs a fixed clock. */
export const LONG_EXPIRY = new Date('2100-01-01T00:00:00Z');

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** A fresh Ed25519 key; its key ID is sha256 of the canonical JSON of the public key (TUF §4.2). */
export function tufKey(): TufSigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  const keyId = sha256(canonicalize({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw } }));
  return { keyId, key: new Key({ keyID: keyId, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: raw } }), privateKey };
}

type AnyMetadata = Metadata<Root> | Metadata<Timestamp> | Metadata<Snapshot> | Metadata<Targets>;

function signedBytes(metadata: AnyMetadata, signers: readonly TufSigningKey[]): Buffer {
  for (const signer of signers) {
    metadata.sign((data) => new Signature({ keyID: signer.keyId, sig: sign(null, data, signer.privateKey).toString('hex') }));
  }
  return Buffer.from(JSON.stringify(metadata.toJSON(), null, 1));
}

const iso = (date: Date): string => date.toISOString().replace('.000Z', 'Z');

export interface RoleKeys {
  readonly root: readonly TufSigningKey[];
  readonly timestamp: readonly TufSigningKey[];
  readonly snapshot: readonly TufSigningKey[];
  readonly targets: readonly TufSigningKey[];
}

export interface RepositoryOptions {
  /** Keys per role; default one new key each (two for root). */
  readonly keys?: Partial<RoleKeys>;
  /** Signature thresholds per role; default 1. */
  readonly thresholds?: Partial<Record<keyof RoleKeys, number>>;
  /** Expiry of root version 1; default {@link LONG_EXPIRY}. */
  readonly rootExpires?: Date;
}

export interface PublishOptions {
  /** Expiry per role of this publication; default {@link LONG_EXPIRY}. */
  readonly expires?: Partial<Record<'timestamp' | 'snapshot' | 'targets', Date>>;
  /** Sign the timestamp with these keys instead of the root's timestamp keys. */
  readonly timestampSigners?: readonly TufSigningKey[];
  /** false: timestamp and snapshot describe the files they list by version only (TUF allows it), no length or hashes. */
  readonly metaHashes?: boolean;
}

export class TestTufRepository {
  keys: RoleKeys;
  thresholds: Record<keyof RoleKeys, number>;
  /** Every root version published, bytes; index 0 is version 1. */
  readonly roots: Buffer[] = [];
  timestamp: Buffer | undefined;
  snapshot: Buffer | undefined;
  targets: Buffer | undefined;
  readonly versions = { timestamp: 0, snapshot: 0, targets: 0 };
  /** Target files by name, as the next publication lists them. */
  readonly targetFiles = new Map<string, Buffer>();

  constructor(options: RepositoryOptions = {}) {
    this.keys = {
      root: options.keys?.root ?? [tufKey(), tufKey()],
      timestamp: options.keys?.timestamp ?? [tufKey()],
      snapshot: options.keys?.snapshot ?? [tufKey()],
      targets: options.keys?.targets ?? [tufKey()],
    };
    this.thresholds = { root: 1, timestamp: 1, snapshot: 1, targets: 1, ...options.thresholds };
    this.roots.push(this.#root(1, this.keys, options.rootExpires ?? LONG_EXPIRY, this.keys.root));
  }

  /** Root version `version` (default 1), the initial root a client is given. */
  rootJson(version = 1): Buffer {
    const root = this.roots[version - 1];
    if (root === undefined) throw new Error(`no root version ${version}`);
    return root;
  }

  get rootVersion(): number {
    return this.roots.length;
  }

  #root(version: number, keys: RoleKeys, expires: Date, signers: readonly TufSigningKey[]): Buffer {
    // Built from JSON: @tufjs/models does not export its Role class.
    const roles = Object.fromEntries(
      (['root', 'timestamp', 'snapshot', 'targets'] as const).map((role) => [role, { keyids: keys[role].map((k) => k.keyId), threshold: this.thresholds[role] }]),
    );
    const allKeys = Object.fromEntries(Object.values(keys).flat().map((k: TufSigningKey) => [k.keyId, k.key.toJSON()]));
    const signed = Root.fromJSON({ _type: 'root', spec_version: SPEC_VERSION, version, expires: iso(expires), keys: allKeys, roles, consistent_snapshot: true });
    return signedBytes(new Metadata(signed), signers);
  }

  /**
   * Publishes root version N+1 with new keys (by default new root keys only),
   * signed by the old root keys and the new ones (TUF §5.3.4), or by `signers`.
   */
  rotateRoot(options: { keys?: Partial<RoleKeys>; thresholds?: Partial<Record<keyof RoleKeys, number>>; expires?: Date; signers?: readonly TufSigningKey[] } = {}): void {
    const old = this.keys.root;
    this.keys = { ...this.keys, root: [tufKey(), tufKey()], ...options.keys };
    this.thresholds = { ...this.thresholds, ...options.thresholds };
    this.roots.push(this.#root(this.roots.length + 1, this.keys, options.expires ?? LONG_EXPIRY, options.signers ?? [...old, ...this.keys.root]));
  }

  setTarget(name: string, bytes: Uint8Array): void {
    this.targetFiles.set(name, Buffer.from(bytes));
  }

  /** Publishes new targets, snapshot and timestamp versions listing the current target files. */
  publish(options: PublishOptions = {}): void {
    const expires = (role: 'timestamp' | 'snapshot' | 'targets'): string => iso(options.expires?.[role] ?? LONG_EXPIRY);
    const targets = new Targets({ version: ++this.versions.targets, specVersion: SPEC_VERSION, expires: expires('targets') });
    for (const [name, bytes] of this.targetFiles) targets.addTarget(new TargetFile({ path: name, length: bytes.length, hashes: { sha256: sha256(bytes) } }));
    this.targets = signedBytes(new Metadata(targets), this.keys.targets);

    const snapshot = new Snapshot({
      version: ++this.versions.snapshot,
      specVersion: SPEC_VERSION,
      expires: expires('snapshot'),
      meta: { 'targets.json': metaFile(this.versions.targets, this.targets, options.metaHashes) },
    });
    this.snapshot = signedBytes(new Metadata(snapshot), this.keys.snapshot);

    const timestamp = new Timestamp({
      version: ++this.versions.timestamp,
      specVersion: SPEC_VERSION,
      expires: expires('timestamp'),
      snapshotMeta: metaFile(this.versions.snapshot, this.snapshot, options.metaHashes),
    });
    this.timestamp = signedBytes(new Metadata(timestamp), options.timestampSigners ?? this.keys.timestamp);
  }

  /** The published repository: relative path → bytes. Older snapshot and targets versions are not kept. */
  files(): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    this.roots.forEach((bytes, i) => files.set(`${i + 1}.root.json`, bytes));
    if (this.timestamp !== undefined) files.set('timestamp.json', this.timestamp);
    if (this.snapshot !== undefined) files.set(`${this.versions.snapshot}.snapshot.json`, this.snapshot);
    if (this.targets !== undefined) files.set(`${this.versions.targets}.targets.json`, this.targets);
    for (const [name, bytes] of this.targetFiles) files.set(`targets/${sha256(bytes)}.${name}`, bytes);
    return files;
  }

  async writeTo(dir: string): Promise<void> {
    await writeFiles(dir, this.files());
  }
}

function metaFile(version: number, bytes: Buffer, hashes = true): MetaFile {
  return hashes ? new MetaFile({ version, length: bytes.length, hashes: { sha256: sha256(bytes) } }) : new MetaFile({ version });
}

export async function writeFiles(dir: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  for (const [name, bytes] of files) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), bytes);
  }
}

export interface ServedRepository {
  readonly url: string;
  /** Paths requested, in order (`/timestamp.json`, …). */
  readonly requests: string[];
  /** Served instead of the repository's own file (a tampered or stale copy). */
  readonly overrides: Map<string, Buffer>;
  close(): Promise<void>;
}

/** Serves `files()` (read at each request, so later publications show) on a loopback port. */
export async function serveRepository(source: { files(): ReadonlyMap<string, Buffer> }): Promise<ServedRepository> {
  const requests: string[] = [];
  const overrides = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    requests.push(`/${path}`);
    const body = overrides.get(path) ?? source.files().get(path);
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    overrides,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }),
  };
}
