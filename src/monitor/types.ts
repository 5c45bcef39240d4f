import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { Limits } from '../limits.ts';
import type { VerifiedCheckpoint } from './checkpoint.ts';
import type { WatchedKey, WatchedSigner } from './entry.ts';
import type { LogHttp } from './log-http.ts';

/** The last checkpoint verified for a log, as the state directory keeps it. */
export interface StoredCheckpoint {
  readonly url: string;
  readonly logId: string;
  readonly origin: string;
  /** Decimal, as in the checkpoint. */
  readonly treeSize: string;
  /** base64, as in the checkpoint. */
  readonly rootHash: string;
  /** The signed note itself: with a later contradicting one, the evidence of a fork. */
  readonly envelope: string;
  readonly verifiedAt: string;
}

/** A log entry an accepted gate decision relied on (audit trail `tlog`). */
export interface AuditedEntry {
  readonly logId: string;
  readonly logIndex: number;
  readonly integratedTime?: string;
  readonly identity?: string;
  readonly issuer?: string;
  /** Key mode: sha256 of the key the record names. */
  readonly publicKeySha256?: string;
  /** The audit record that names it. */
  readonly seq: number;
}

/** An entry by a watched signer whose inclusion and certificate verified. */
export interface MatchedEntry {
  readonly logIndex: number;
  readonly uuid?: string;
  /** Rekor v1: the integrated time its signed entry timestamp covers; Rekor v2 records none. */
  readonly integratedTime?: Date;
  /** Keyless: the watched SAN. Key: the key's `sha256:<hex>`. */
  readonly identity: string;
  /** Keyless: the watched issuer. Key: empty. */
  readonly issuer: string;
  readonly publicKeySha256?: string;
  readonly digest: string | undefined;
  readonly digestOf: string;
  readonly kind: string;
  /** Keyless only. */
  readonly certificateSerial?: string;
}

/** An entry that names a watched signer but whose certificate the trust root's CA did not issue. */
export interface UntrustedEntry {
  readonly logIndex: number;
  readonly uuid?: string;
  readonly identity: string;
  readonly reason: string;
}

export interface ScanInput {
  readonly http: LogHttp;
  readonly root: TrustedRoot;
  readonly watch: readonly WatchedSigner[];
  readonly keys: readonly WatchedKey[];
  readonly previous: StoredCheckpoint | undefined;
  /** Report only entries integrated at or after this time (Rekor v1; Rekor v2 has no integrated time). */
  readonly since: Date | undefined;
  readonly audited: readonly AuditedEntry[];
  readonly limits: Limits;
  readonly what: string;
}

export interface ScanOutput {
  readonly checkpoint: VerifiedCheckpoint;
  readonly entriesScanned: number;
  readonly matches: readonly MatchedEntry[];
  readonly untrusted: readonly UntrustedEntry[];
  readonly auditedChecked: number;
}
