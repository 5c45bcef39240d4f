import type * as z from 'zod';
import { type Limits, resolveLimits } from '../limits.ts';
import { sha256Hex } from './canonical-json.ts';
import { AUDIT_CHECKPOINT_MEDIA_TYPE, AuditCheckpointSchema, type CheckpointVerifier, checkpointSignedBytes } from './checkpoint.ts';
import { readLines } from './lines.ts';
import { DEFAULT_CHECKPOINT_EVERY } from './log.ts';
import { AuditRecordSchema, GENESIS_PREV, recordHash } from './record.ts';

/**
 * What `audit verify` found wrong first. The chain is checked line by line:
 * each line must be a record or checkpoint (`NOT_JSON`, `NOT_A_RECORD`), its
 * `hash` must be that of its content (`HASH_MISMATCH`: edited), its `prev` the
 * hash of the line before (`PREV_MISMATCH`: a record removed, inserted or
 * moved before it, or the line before edited; for the first line, the head
 * the segment continues from), its `seq` one more than the one before
 * (`SEQ_MISMATCH`). With a checkpoint key, every signed checkpoint must be
 * signed by that key over the chain as it is (`CHECKPOINT_INVALID`: history
 * before it was rewritten, or it was forged), and no more than the interval
 * of records may follow the last one (`CHECKPOINT_MISSING`: checkpoints were
 * removed, as a rewrite must remove them).
 */
export type AuditProblem =
  | 'LINE_TOO_LONG'
  | 'INCOMPLETE_LINE'
  | 'NOT_JSON'
  | 'NOT_A_RECORD'
  | 'HASH_MISMATCH'
  | 'PREV_MISMATCH'
  | 'SEQ_MISMATCH'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_MISSING'
  /** `expectHead` names no record of the (intact) trail: records were cut from its end, or it is another trail. */
  | 'HEAD_NOT_FOUND'
  /** Fewer records than `expectCount`: records were cut from its end. */
  | 'TOO_FEW_RECORDS';

export interface AuditVerification {
  readonly ok: boolean;
  /** Lines read and found intact (before the first problem): records and checkpoints. */
  readonly records: number;
  /** `hash` of the last intact record: note it somewhere else to detect later truncation. */
  readonly head: string | undefined;
  /** The sequence number of the last intact line and the sha256 of that line: what the next segment continues from (`--continues-from SEQ:SHA256`). */
  readonly tail?: { readonly seq: number; readonly line: string };
  /** With a checkpoint key: signed checkpoints verified, the last one's seq, and how many lines follow it (not anchored: removing them would go unnoticed). */
  readonly checkpoints?: { readonly verified: number; readonly last: number | undefined; readonly unanchored: number };
  /** The first problem; `line` is 1-based (absent for the end-of-trail checks). */
  readonly problem?: { readonly code: AuditProblem; readonly line?: number; readonly message: string };
}

export interface AuditVerifyOptions {
  /**
   * A head noted earlier (`hash` of what was the last record then): the
   * trail must still hold that record. A hash chain alone cannot tell a trail
   * cut short from one that ends there; an anchor kept elsewhere can.
   */
  readonly expectHead?: string;
  /** The trail must hold at least this many records (a count noted earlier). */
  readonly expectCount?: number;
  /** A segment after rotation: it continues from the previous segment's last line (its seq and the sha256 of the line). */
  readonly continuesFrom?: { readonly seq: number; readonly line: string };
  /** Verify keyed checkpoints with the site's public key. */
  readonly checkpointKey?: CheckpointVerifier;
  /** At most this many lines may follow the last signed checkpoint (default {@link DEFAULT_CHECKPOINT_EVERY}, the writer's default interval). */
  readonly checkpointEvery?: number;
  readonly limits?: Partial<Limits>;
}

/**
 * Checks an audit trail (or a segment of one) line by line. Detects any
 * edited, removed, inserted or reordered line, reporting the first line
 * where the chain breaks. Records removed from the end leave an intact,
 * shorter chain: only `expectHead` / `expectCount` detect that. Without a
 * key, the chain shows accidents and tampering by anyone who does not
 * rewrite every later record; with `checkpointKey`, rewriting also needs the
 * site key. File-system errors reject as they are.
 */
export async function verifyAuditLog(path: string, options: AuditVerifyOptions = {}): Promise<AuditVerification> {
  const limits = resolveLimits(options.limits);
  const key = options.checkpointKey;
  const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  let prevLine = options.continuesFrom?.line ?? GENESIS_PREV;
  let seq = options.continuesFrom?.seq ?? 0;
  let records = 0;
  let head: string | undefined;
  let verified = 0;
  let lastCheckpoint: number | undefined;
  let headSeen = options.expectHead === undefined;
  const checkpoints = (): Pick<AuditVerification, 'checkpoints'> =>
    key === undefined ? {} : { checkpoints: { verified, last: lastCheckpoint, unanchored: seq - (lastCheckpoint ?? options.continuesFrom?.seq ?? 0) } };
  const tail = (): Pick<AuditVerification, 'tail'> => (records === 0 && options.continuesFrom === undefined ? {} : { tail: { seq, line: prevLine } });
  const fail = (code: AuditProblem, message: string, line?: number): AuditVerification => ({
    ok: false,
    records,
    head,
    ...tail(),
    ...checkpoints(),
    problem: { code, ...(line === undefined ? {} : { line }), message: line === undefined ? message : `line ${line}: ${message}` },
  });

  for await (const line of readLines(path, limits.maxAuditLineBytes)) {
    if (line.bytes === undefined) return fail('LINE_TOO_LONG', `longer than ${limits.maxAuditLineBytes} bytes`, line.number);
    if (!line.terminated) return fail('INCOMPLETE_LINE', 'the last line has no newline (a write cut short, or bytes appended by hand)', line.number);
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(line.bytes));
    } catch {
      return fail('NOT_JSON', 'not UTF-8 JSON', line.number);
    }
    const isCheckpoint = (value as { mediaType?: unknown } | null)?.mediaType === AUDIT_CHECKPOINT_MEDIA_TYPE;
    const parsed = isCheckpoint ? AuditCheckpointSchema.safeParse(value) : AuditRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail('NOT_A_RECORD', `not an audit ${isCheckpoint ? 'checkpoint' : 'record'} (${issue === undefined ? '' : `${issue.path.join('.') || '(root)'}: ${issue.message}`})`, line.number);
    }
    const record = parsed.data;
    // A member the schema passes through may have no canonical form (`1e999`
    // parses to Infinity; deep nesting overflows the stack): sigverify never
    // wrote such a line. Found by the fuzz suite (test/fuzz/audit.test.ts): the
    // TypeError or RangeError escaped `audit verify`.
    let hash: string;
    try {
      hash = recordHash(value as Record<string, unknown>);
    } catch {
      return fail('NOT_A_RECORD', 'not an audit record (a member has no canonical JSON form)', line.number);
    }
    if (hash !== record.hash) return fail('HASH_MISMATCH', 'the record does not match its hash: it was edited', line.number);
    if (record.prev !== prevLine) {
      return fail('PREV_MISMATCH', line.number === 1
        ? options.continuesFrom === undefined
          ? `the first record does not start the chain: records before it were removed${record.seq > 1 ? ` (or this is a segment after rotation: verify it with the head it continues from, --continues-from ${record.seq - 1}:<sha256 of that line>)` : ''}`
          : `the first record does not continue from line hash ${options.continuesFrom.line}: this segment does not follow that head`
        : `the record does not follow line ${line.number - 1}: a record was removed, inserted or moved here, or line ${line.number - 1} was edited`, line.number);
    }
    if (record.seq !== seq + 1) return fail('SEQ_MISMATCH', `sequence number ${record.seq}, expected ${seq + 1}`, line.number);
    const signature = isCheckpoint ? (record as z.output<typeof AuditCheckpointSchema>).signature : undefined;
    if (key !== undefined && signature !== undefined) {
      const keyId = (record as z.output<typeof AuditCheckpointSchema>).keyId;
      if (keyId !== key.keyId) return fail('CHECKPOINT_INVALID', `checkpoint ${record.seq} is signed by key ${keyId ?? '(none)'}, not the checkpoint key ${key.keyId}`, line.number);
      if (!key.verify(checkpointSignedBytes(value as Record<string, unknown>), signature)) {
        return fail('CHECKPOINT_INVALID', `the signature of checkpoint ${record.seq} does not verify: the records before it were rewritten, or it was forged`, line.number);
      }
      verified += 1;
      lastCheckpoint = record.seq;
    }
    records += 1;
    seq = record.seq;
    head = record.hash;
    prevLine = sha256Hex(line.bytes);
    if (record.hash === options.expectHead) headSeen = true;
  }
  if (!headSeen) return fail('HEAD_NOT_FOUND', `no record has the expected head hash ${options.expectHead ?? ''}: records were removed from the end`);
  if (options.expectCount !== undefined && records < options.expectCount) {
    return fail('TOO_FEW_RECORDS', `${records} records, expected at least ${options.expectCount}: records were removed from the end`);
  }
  if (key !== undefined) {
    const unanchored = seq - (lastCheckpoint ?? options.continuesFrom?.seq ?? 0);
    if (unanchored > every) {
      return fail('CHECKPOINT_MISSING', `${unanchored} records follow the last checkpoint signed by ${key.keyId}${lastCheckpoint === undefined ? ' (there is none)' : ` (seq ${lastCheckpoint})`}, more than the interval of ${every}: checkpoints were removed`);
    }
  }
  return { ok: true, records, head, ...tail(), ...checkpoints() };
}
