import { canonicalJson } from './jcs.ts';
import { ecdsaSign, generateKeyPair, sha256, spkiDer, type KeyPair } from './keys.ts';

/**
 * A Rekor v1 stand-in. Legacy cosign signatures carry only the signed entry
 * timestamp (SET), which is what verifiers check offline (docs/formats.md §1.4,
 * §4.3); bundles (§2.2) also carry an inclusion proof to a signed checkpoint.
 * There is no shared Merkle tree: each entry is proven as the single leaf of
 * its own one-entry shard, as @sigstore/mock does (`rekor/tlog.js`): proof
 * index 0, tree size 1, root = sha256(0x00 ‖ body) (RFC 6962 §2.1). The
 * entry's own `logIndex` stays the global ("virtual") index the SET signs;
 * the proof's is the shard-local one, as on the real log.
 */

/** cosign's `dev.sigstore.cosign/bundle` annotation (`pkg/cosign/bundle/rekor.go`), key order as Go writes it. */
export interface RekorBundleAnnotation {
  readonly SignedEntryTimestamp: string;
  readonly Payload: {
    readonly body: string;
    readonly integratedTime: number;
    readonly logIndex: number;
    readonly logID: string;
  };
}

/** What Rekor signs (sigstore/rekor `pkg/api/entries.go`): JCS of these four fields. */
export interface SetPayload {
  /** base64 of the canonicalised entry body. */
  readonly body: string;
  readonly integratedTime: number;
  /** hex sha256 of the log's DER SPKI. */
  readonly logID: string;
  readonly logIndex: number;
}

/**
 * A `TransparencyLogEntry` in protobuf JSON form (protobuf-specs
 * `dev.sigstore.rekor.v1`), as bundles carry it; int64 fields are strings,
 * bytes are base64.
 */
export interface TransparencyLogEntryJson {
  readonly logIndex: string;
  readonly logId: { readonly keyId: string };
  readonly kindVersion: { readonly kind: string; readonly version: string };
  readonly integratedTime: string;
  readonly inclusionPromise?: { readonly signedEntryTimestamp: string };
  readonly inclusionProof?: {
    readonly logIndex: string;
    readonly rootHash: string;
    readonly treeSize: string;
    readonly hashes: readonly string[];
    readonly checkpoint: { readonly envelope: string };
  };
  readonly canonicalizedBody: string;
}

export interface TransparencyLogEntryOptions {
  /** Include the SET (`inclusionPromise`); default true. Rekor v1 always returns one. */
  readonly inclusionPromise?: boolean;
  /** Include the inclusion proof and checkpoint; default true. */
  readonly inclusionProof?: boolean;
}

export interface Rekor {
  /** Base URL, as the trusted root's `baseUrl` names it. */
  readonly url: string;
  /** Checkpoint origin `<host> - <tree ID>` (Rekor v1 `pkg/util/checkpoint.go`); its signer name is the host. */
  readonly origin: string;
  readonly keyPair: KeyPair;
  readonly spkiDer: Buffer;
  /** sha256(DER SPKI): the trusted root's `logId.keyId`. */
  readonly logId: Buffer;
  /** The same, hex: the annotation's `Payload.logID`. */
  readonly logIdHex: string;
  /** Index the next entry gets. */
  readonly nextLogIndex: number;
  /**
   * Logs an entry and returns the cosign annotation. An object body is stored
   * as its JCS form (what Rekor stores); bytes are stored as given.
   */
  logEntry(body: object | Uint8Array, integratedTime: number): RekorBundleAnnotation;
  /** Logs an entry and returns it as a bundle's `tlogEntries[]` element (promise, proof and checkpoint). */
  logTransparencyEntry(
    body: object | Uint8Array,
    integratedTime: number,
    options?: TransparencyLogEntryOptions,
  ): TransparencyLogEntryJson;
}

export interface CreateRekorOptions {
  /** Default `https://rekor.sigverify.test`. */
  readonly url?: string;
  readonly keyPair?: KeyPair;
  /** First logIndex handed out; entries count up from it. Default 0. */
  readonly firstLogIndex?: number;
}

export function createRekor(options: CreateRekorOptions = {}): Rekor {
  const url = options.url ?? 'https://rekor.sigverify.test';
  const keyPair = options.keyPair ?? generateKeyPair('P-256');
  const spki = spkiDer(keyPair.publicKey);
  const logId = sha256(spki);
  // A stable tree ID per key (Trillian tree IDs are random int64s).
  const origin = `${new URL(url).host} - ${logId.readUIntBE(0, 6)}`;
  let next = options.firstLogIndex ?? 0;

  const append = (body: object | Uint8Array, integratedTime: number): SetPayload & { readonly bodyBytes: Buffer; readonly set: string } => {
    const bodyBytes = body instanceof Uint8Array ? Buffer.from(body) : Buffer.from(canonicalJson(body), 'utf8');
    const payload: SetPayload = { body: bodyBytes.toString('base64'), integratedTime, logID: logId.toString('hex'), logIndex: next++ };
    return { ...payload, bodyBytes, set: signEntryTimestamp(keyPair, payload) };
  };

  return {
    url,
    origin,
    keyPair,
    spkiDer: spki,
    logId,
    logIdHex: logId.toString('hex'),
    get nextLogIndex() {
      return next;
    },
    logEntry(body, integratedTime) {
      const entry = append(body, integratedTime);
      return {
        SignedEntryTimestamp: entry.set,
        Payload: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logID },
      };
    },
    logTransparencyEntry(body, integratedTime, entryOptions = {}) {
      const entry = append(body, integratedTime);
      const kind = JSON.parse(entry.bodyBytes.toString('utf8')) as { kind: string; apiVersion: string };
      const rootHash = sha256(Buffer.concat([Buffer.from([0]), entry.bodyBytes]));
      return {
        logIndex: String(entry.logIndex),
        logId: { keyId: logId.toString('base64') },
        kindVersion: { kind: kind.kind, version: kind.apiVersion },
        integratedTime: String(integratedTime),
        ...(entryOptions.inclusionPromise === false ? {} : { inclusionPromise: { signedEntryTimestamp: entry.set } }),
        ...(entryOptions.inclusionProof === false
          ? {}
          : {
              inclusionProof: {
                logIndex: '0',
                rootHash: rootHash.toString('base64'),
                treeSize: '1',
                hashes: [],
                checkpoint: { envelope: signCheckpoint(keyPair, { origin, treeSize: 1, rootHash, timestamp: integratedTime }) },
              },
            }),
        canonicalizedBody: entry.body,
      };
    },
  };
}

export interface Checkpoint {
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  /** Seconds; written as Rekor's `Timestamp: <nanoseconds>` extra line. */
  readonly timestamp: number;
}

/**
 * A Rekor v1 checkpoint as a C2SP signed note: the note body, a blank line,
 * and `— <name> base64(keyhint(4) ‖ ECDSA signature)` where the key hint is
 * the first 4 bytes of the log ID and the name is the origin's host
 * (sigstore-js accepts it only as a substring of the trusted root's
 * `baseUrl`: docs/formats.md pitfall 11).
 */
export function signCheckpoint(keyPair: KeyPair, checkpoint: Checkpoint, signerName?: string): string {
  const note = `${checkpoint.origin}\n${checkpoint.treeSize}\n${Buffer.from(checkpoint.rootHash).toString('base64')}\nTimestamp: ${BigInt(checkpoint.timestamp) * 1_000_000_000n}\n`;
  const name = signerName ?? checkpoint.origin.split(' ')[0] ?? checkpoint.origin;
  const keyHint = sha256(spkiDer(keyPair.publicKey)).subarray(0, 4);
  const signature = ecdsaSign(keyPair.privateKey, Buffer.from(note, 'utf8'), 'sha256');
  return `${note}\n\u2014 ${name} ${Buffer.concat([keyHint, signature]).toString('base64')}\n`;
}

/** The SET: ECDSA-SHA256 (DER, base64) over JCS(payload). Exposed so tests can forge or re-sign variants. */
export function signEntryTimestamp(keyPair: KeyPair, payload: SetPayload): string {
  const canonical = canonicalJson({
    body: payload.body,
    integratedTime: payload.integratedTime,
    logID: payload.logID,
    logIndex: payload.logIndex,
  });
  return ecdsaSign(keyPair.privateKey, Buffer.from(canonical, 'utf8'), 'sha256').toString('base64');
}
