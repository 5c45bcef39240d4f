import { type KeyObject, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import type { Digest } from '../reference/index.ts';
import { canonicalJson, sha256Hex } from './canonical-json.ts';
import type { AuditWriter } from './record.ts';

/**
 * Keyed checkpoints. The hash chain alone shows any edit by someone who does
 * not rewrite every later record; someone who can write the file can do
 * exactly that. A checkpoint is a line in the chain, signed with a site key
 * the writer of the file does not hold (ECDSA P-256 or Ed25519): its `prev`
 * is the hash of the line before it, so its signature covers the whole
 * history up to there. Rewriting a record before a checkpoint invalidates the
 * checkpoint's signature; dropping the checkpoints to hide that leaves more
 * unanchored records than the site's interval allows.
 *
 * A checkpoint is written every N records (`interval`) and as the first line
 * of a segment after rotation (`rotation`), where it attests the previous
 * segment's head. Without a key, a rotation still writes one (unsigned) so
 * the new segment's chain continues from the old one.
 */
export const AUDIT_CHECKPOINT_MEDIA_TYPE = 'application/vnd.sigverify.audit-checkpoint+json;version=1';

export type CheckpointReason = 'interval' | 'rotation';

export type CheckpointAlgorithm = 'ecdsa-p256-sha256' | 'ed25519';

export interface AuditCheckpoint extends Partial<AuditWriter> {
  readonly mediaType: typeof AUDIT_CHECKPOINT_MEDIA_TYPE;
  readonly seq: number;
  /** sha256 (hex) of the previous line: the head this checkpoint attests. */
  readonly prev: string;
  readonly time: string;
  readonly reason: CheckpointReason;
  /** sha256 of the signing key's DER SubjectPublicKeyInfo. */
  readonly keyId?: Digest;
  readonly algorithm?: CheckpointAlgorithm;
  /** base64 signature over the canonical JSON of this line without `signature` and `hash`. */
  readonly signature?: string;
  readonly hash: string;
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const AuditCheckpointSchema = z.looseObject({
  mediaType: z.literal(AUDIT_CHECKPOINT_MEDIA_TYPE),
  seq: z.number().int().positive(),
  prev: hex64,
  time: z.iso.datetime({ offset: true }),
  reason: z.enum(['interval', 'rotation']),
  host: z.string().optional(),
  processor: z.string().optional(),
  keyId: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(),
  algorithm: z.enum(['ecdsa-p256-sha256', 'ed25519']).optional(),
  signature: z.base64().optional(),
  hash: hex64,
});

/** The site key that signs checkpoints. */
export interface CheckpointSigner {
  readonly keyId: Digest;
  readonly algorithm: CheckpointAlgorithm;
  sign(data: Uint8Array): string;
}

/** The public half, for `audit verify --checkpoint-key`. */
export interface CheckpointVerifier {
  readonly keyId: Digest;
  readonly algorithm: CheckpointAlgorithm;
  verify(data: Uint8Array, signature: string): boolean;
}

function algorithmOf(key: KeyObject, what: string): CheckpointAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256-sha256';
  throw new SigverifyError('KEY_INVALID', `${what} must be an ECDSA P-256 or Ed25519 key, not ${key.asymmetricKeyType ?? 'unknown'}${key.asymmetricKeyDetails?.namedCurve === undefined ? '' : ` ${key.asymmetricKeyDetails.namedCurve}`}`);
}

function keyIdOf(publicKey: KeyObject): Digest {
  return `sha256:${sha256Hex(publicKey.export({ type: 'spki', format: 'der' }))}`;
}

/** A signer from an unencrypted PEM private key (PKCS#8 or SEC1). */
export function checkpointSigner(pem: string, what = 'the checkpoint key'): CheckpointSigner {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (cause) {
    throw new SigverifyError('KEY_INVALID', `${what} is no unencrypted PEM private key: ${(cause as Error).message}`, { cause });
  }
  const algorithm = algorithmOf(key, what);
  return {
    keyId: keyIdOf(createPublicKey(key)),
    algorithm,
    sign: (data) => sign(algorithm === 'ed25519' ? null : 'sha256', data, key).toString('base64'),
  };
}

/** A verifier from a PEM public key (SubjectPublicKeyInfo). */
export function checkpointVerifier(pem: string, what = 'the checkpoint key'): CheckpointVerifier {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (cause) {
    throw new SigverifyError('KEY_INVALID', `${what} is no PEM public key: ${(cause as Error).message}`, { cause });
  }
  const algorithm = algorithmOf(key, what);
  return {
    keyId: keyIdOf(key),
    algorithm,
    verify: (data, signature) => {
      try {
        return verify(algorithm === 'ed25519' ? null : 'sha256', data, key, Buffer.from(signature, 'base64'));
      } catch {
        return false;
      }
    },
  };
}

/** The bytes a checkpoint's signature covers: its canonical JSON without `signature` and `hash`. */
export function checkpointSignedBytes(checkpoint: Readonly<Record<string, unknown>>): Buffer {
  const { signature: _signature, hash: _hash, ...content } = checkpoint;
  return Buffer.from(canonicalJson(content), 'utf8');
}

/** Seals checkpoint `seq` after the line whose hash is `prev`, signed when there is a signer; returns it and its line (with newline). */
export function sealCheckpoint(seq: number, prev: string, reason: CheckpointReason, time: string, writer: AuditWriter, signer?: CheckpointSigner): { checkpoint: AuditCheckpoint; line: string } {
  const content = {
    mediaType: AUDIT_CHECKPOINT_MEDIA_TYPE,
    seq,
    prev,
    time,
    reason,
    ...writer,
    ...(signer === undefined ? {} : { keyId: signer.keyId, algorithm: signer.algorithm }),
  } as const;
  const signed = signer === undefined ? content : { ...content, signature: signer.sign(checkpointSignedBytes(content)) };
  const checkpoint: AuditCheckpoint = { ...signed, hash: sha256Hex(canonicalJson(signed)) };
  return { checkpoint, line: `${canonicalJson(checkpoint)}\n` };
}
