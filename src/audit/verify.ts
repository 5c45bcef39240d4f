import { type Limits, resolveLimits } from '../limits.ts';
import { sha256Hex } from './canonical-json.ts';
import { readLines } from './lines.ts';
import { AuditRecordSchema, GENESIS_PREV, recordHash } from './record.ts';

/**
 * What `audit verify` found wrong first. The chain is checked line by line:
 * each line must be a record (`NOT_JSON`, `NOT_A_RECORD`), its `hash` must be
 * that of its content (`HASH_MISMATCH`: edited), its `prev` the hash of the
 * line before (`PREV_MISMATCH`: a record removed, inserted or moved before
 * it, or the line before edited), its `seq` one more than the one before
 * (`SEQ_MISMATCH`).
 */
export type AuditProblem =
  | 'LINE_TOO_LONG'
  | 'INCOMPLETE_LINE'
  | 'NOT_JSON'
  | 'NOT_A_RECORD'
  | 'HASH_MISMATCH'
  | 'PREV_MISMATCH'
  | 'SEQ_MISMATCH'
  /** `expectHead` names no record of the (intact) trail: records were cut from its end, or it is another trail. */
  | 'HEAD_NOT_FOUND'
  /** Fewer records than `expectCount`: records were cut from its end. */
  | 'TOO_FEW_RECORDS';

export interface AuditVerification {
  readonly ok: boolean;
  /** Records read and found intact (before the first problem). */
  readonly records: number;
  /** `hash` of the last intact record: note it somewhere else to detect later truncation. */
  readonly head: string | undefined;
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
  readonly limits?: Partial<Limits>;
}

/**
 * Checks an audit trail's hash chain. Detects any edited, removed, inserted
 * or reordered record, reporting the first line where the chain breaks.
 * Records removed from the end leave an intact, shorter chain: only
 * `expectHead` / `expectCount` detect that. The chain carries no key, so it
 * shows accidents and tampering by anyone who does not rewrite every later
 * record; anchoring the head elsewhere (a ticket, a second system) closes that.
 * File-system errors reject as they are.
 */
export async function verifyAuditLog(path: string, options: AuditVerifyOptions = {}): Promise<AuditVerification> {
  const limits = resolveLimits(options.limits);
  let prevLine = GENESIS_PREV;
  let records = 0;
  let head: string | undefined;
  let headSeen = options.expectHead === undefined;
  const fail = (code: AuditProblem, message: string, line?: number): AuditVerification => ({
    ok: false,
    records,
    head,
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
    const parsed = AuditRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail('NOT_A_RECORD', `not an audit record (${issue === undefined ? '' : `${issue.path.join('.') || '(root)'}: ${issue.message}`})`, line.number);
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
        ? 'the first record does not start the chain: records before it were removed'
        : `the record does not follow line ${line.number - 1}: a record was removed, inserted or moved here, or line ${line.number - 1} was edited`, line.number);
    }
    if (record.seq !== records + 1) return fail('SEQ_MISMATCH', `sequence number ${record.seq}, expected ${records + 1}`, line.number);
    records += 1;
    head = record.hash;
    prevLine = sha256Hex(line.bytes);
    if (record.hash === options.expectHead) headSeen = true;
  }
  if (!headSeen) return fail('HEAD_NOT_FOUND', `no record has the expected head hash ${options.expectHead ?? ''}: records were removed from the end`);
  if (options.expectCount !== undefined && records < options.expectCount) {
    return fail('TOO_FEW_RECORDS', `${records} records, expected at least ${options.expectCount}: records were removed from the end`);
  }
  return { ok: true, records, head };
}
