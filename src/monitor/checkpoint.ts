import { createPublicKey } from 'node:crypto';
import { crypto } from '@sigstore/core';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { SigverifyError } from '../errors.ts';
import { quote } from '../text/quote.ts';
import { parseSignedNote } from '../verify/checkpoint.ts';

/**
 * A log checkpoint (C2SP tlog-checkpoint), verified: signed by a
 * transparency-log key of the trust root. The key is chosen by the signature
 * line's key hint, the first four bytes of the trust root's log ID (for Rekor
 * v1 the sha256 of the key, for Rekor v2 the signed-note key ID), as
 * sigstore-go does; the signer name is not trusted for anything.
 */
export interface VerifiedCheckpoint {
  readonly origin: string;
  readonly treeSize: bigint;
  readonly rootHash: Buffer;
  /** hex log ID (trust root `logId.keyId`) of the key that signed it. */
  readonly logId: string;
  /** The signed note as received: evidence for a fork report. */
  readonly envelope: string;
}

const SIZE = /^(0|[1-9][0-9]{0,19})$/;
const ROOT = /^[A-Za-z0-9+/]{43}=$/;

function invalid(what: string, message: string, details: Record<string, unknown> = {}): SigverifyError {
  return new SigverifyError('LOG_CHECKPOINT_INVALID', `${what}: checkpoint ${message}`, { details });
}

/** Verifies `envelope` with the trust root's log keys; `what` names the log in messages. */
export function verifyCheckpoint(envelope: string, root: TrustedRoot, what: string): VerifiedCheckpoint {
  let signed;
  try {
    signed = parseSignedNote(envelope);
  } catch (cause) {
    throw invalid(what, `is not a signed note (${cause instanceof Error ? cause.message : String(cause)})`);
  }
  const lines = signed.note.split('\n');
  const [origin, size, rootHash] = lines;
  if (origin === undefined || origin === '' || size === undefined || !SIZE.test(size) || rootHash === undefined || !ROOT.test(rootHash)) {
    throw invalid(what, 'body is not "origin, tree size, root hash"');
  }
  const note = Buffer.from(signed.note, 'utf8');
  for (const tlog of root.tlogs) {
    const keyId = tlog.logId?.keyId;
    const raw = tlog.publicKey?.rawBytes;
    if (keyId === undefined || raw === undefined) continue;
    const hint = Buffer.from(keyId).subarray(0, 4);
    for (const s of signed.signatures.filter((x) => x.keyHint.equals(hint))) {
      let ok = false;
      try {
        ok = crypto.verify(note, createPublicKey({ key: Buffer.from(raw), format: 'der', type: 'spki' }), s.signature);
      } catch {
        ok = false; // a key node:crypto cannot use verifies nothing
      }
      if (ok) {
        return { origin, treeSize: BigInt(size), rootHash: Buffer.from(rootHash, 'base64'), logId: Buffer.from(keyId).toString('hex'), envelope };
      }
    }
  }
  throw invalid(what, `${quote(origin, 80)} is not signed by a transparency-log key of the trust root`);
}
