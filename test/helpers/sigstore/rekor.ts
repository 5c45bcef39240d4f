import { canonicalJson } from './jcs.ts';
import { ecdsaSign, generateKeyPair, sha256, spkiDer, type KeyPair } from './keys.ts';

/**
 * A Rekor v1 stand-in that issues signed entry timestamps (SETs) without a
 * Merkle tree: legacy cosign signatures carry only the SET, which is what
 * verifiers check offline (cosign-formats §1.4, §4.3).
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

export interface Rekor {
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
}

export interface CreateRekorOptions {
  readonly keyPair?: KeyPair;
  /** First logIndex handed out; entries count up from it. Default 0. */
  readonly firstLogIndex?: number;
}

export function createRekor(options: CreateRekorOptions = {}): Rekor {
  const keyPair = options.keyPair ?? generateKeyPair('P-256');
  const spki = spkiDer(keyPair.publicKey);
  const logId = sha256(spki);
  let next = options.firstLogIndex ?? 0;
  return {
    keyPair,
    spkiDer: spki,
    logId,
    logIdHex: logId.toString('hex'),
    get nextLogIndex() {
      return next;
    },
    logEntry(body, integratedTime) {
      const bodyBytes = body instanceof Uint8Array ? Buffer.from(body) : Buffer.from(canonicalJson(body), 'utf8');
      const payload: SetPayload = {
        body: bodyBytes.toString('base64'),
        integratedTime,
        logID: logId.toString('hex'),
        logIndex: next++,
      };
      return {
        SignedEntryTimestamp: signEntryTimestamp(keyPair, payload),
        Payload: {
          body: payload.body,
          integratedTime: payload.integratedTime,
          logIndex: payload.logIndex,
          logID: payload.logID,
        },
      };
    },
  };
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
