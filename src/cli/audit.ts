import { AUDIT_DECISIONS, type AuditSummary, type DurationStats, SigverifyError, summarizeAuditLog, verifyAuditLog } from '../index.ts';
import { rotateAuditLog } from '../qualify/index.ts';
import { readCheckpointSigner, readCheckpointVerifier } from './checkpoint-key.ts';
import { errorDocument } from './documents.ts';
import { asksForJson, parseFlags } from './flags.ts';
import { AUDIT_HELP } from './help.ts';
import type { Io } from './io.ts';
import { table } from './processor.ts';

/**
 * `sigverify audit verify FILE` and `sigverify audit summary FILE`.
 * verify: exit 0 when the hash chain is intact (and holds `--expect-head` /
 * at least `--expect-count` records), 1 when it is broken (the first bad line
 * is reported), 2 on usage errors, 3 when the file cannot be read.
 */
export const AUDIT_VERIFICATION_MEDIA_TYPE = 'application/vnd.sigverify.audit-verification+json;version=1';
export const AUDIT_SUMMARY_MEDIA_TYPE = 'application/vnd.sigverify.audit-summary+json;version=1';
export const AUDIT_ROTATION_MEDIA_TYPE = 'application/vnd.sigverify.audit-rotation+json;version=1';

const EXIT = { ok: 0, broken: 1, usage: 2, unreadable: 3 } as const;

const VERIFY_OPTIONS = {
  'expect-head': { type: 'string' },
  'expect-count': { type: 'string' },
  'continues-from': { type: 'string' },
  'checkpoint-key': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ROTATE_OPTIONS = {
  to: { type: 'string' },
  'checkpoint-key': { type: 'string' },
  processor: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SUMMARY_OPTIONS = {
  since: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `sigverify audit …`: argv is what follows `audit`. */
export async function runAudit(argv: readonly string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'verify') return await auditVerify(rest, io);
    if (sub === 'summary') return await auditSummary(rest, io);
    if (sub === 'rotate') return await auditRotate(rest, io);
    if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
      io.stdout(AUDIT_HELP);
      return EXIT.ok;
    }
    throw new SigverifyError('USAGE', `unknown audit command "${sub}" (verify, summary or rotate)`);
  } catch (error) {
    if (error instanceof SigverifyError && error.kind === 'usage') {
      io.stderr(`sigverify: [${error.code}] ${error.message}\nRun "sigverify audit --help" for usage.\n`);
      if (asksForJson(rest)) io.stdout(`${JSON.stringify(errorDocument({ code: error.code, message: error.message }), null, 2)}\n`);
      return EXIT.usage;
    }
    io.stderr(`sigverify: cannot read the audit trail: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.unreadable;
  }
}

function parse<O extends typeof VERIFY_OPTIONS | typeof SUMMARY_OPTIONS | typeof ROTATE_OPTIONS>(options: O, argv: readonly string[], command: string) {
  const parsed = parseFlags({ command: `audit ${command}`, options }, argv);
  const output = (parsed.values as { output?: string }).output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new SigverifyError('USAGE', `--output must be text or json, not "${output}"`);
  if ((parsed.values as { help?: boolean }).help !== true && parsed.positionals.length !== 1) {
    throw new SigverifyError('USAGE', `audit ${command} takes exactly one FILE, got ${parsed.positionals.length}`);
  }
  return { values: parsed.values, file: parsed.positionals[0] ?? '', output };
}

async function auditVerify(argv: readonly string[], io: Io): Promise<number> {
  const { values, file, output } = parse(VERIFY_OPTIONS, argv, 'verify');
  if (values.help === true) {
    io.stdout(AUDIT_HELP);
    return EXIT.ok;
  }
  const head = values['expect-head'];
  if (head !== undefined && !/^[0-9a-f]{64}$/.test(head)) throw new SigverifyError('USAGE', '--expect-head takes a record hash: 64 lowercase hex characters');
  const count = values['expect-count'];
  if (count !== undefined && !/^\d+$/.test(count)) throw new SigverifyError('USAGE', `--expect-count takes a number of records, not "${count}"`);
  const continues = values['continues-from'];
  const link = continues === undefined ? undefined : /^([1-9]\d{0,15}):([0-9a-f]{64})$/.exec(continues);
  if (link === null) throw new SigverifyError('USAGE', '--continues-from takes SEQ:SHA256, the previous segment\'s last sequence number and line hash (its "audit verify" prints them)');
  const every = values['checkpoint-every'];
  if (every !== undefined && (values['checkpoint-key'] === undefined || !/^[1-9]\d{0,8}$/.test(every))) throw new SigverifyError('USAGE', '--checkpoint-every takes a number of records (at least 1) and needs --checkpoint-key');
  const key = values['checkpoint-key'] === undefined ? undefined : await readCheckpointVerifier(values['checkpoint-key']);
  const verification = await verifyAuditLog(file, {
    ...(head === undefined ? {} : { expectHead: head }),
    ...(count === undefined ? {} : { expectCount: Number(count) }),
    ...(link === undefined ? {} : { continuesFrom: { seq: Number(link[1]), line: link[2] as string } }),
    ...(key === undefined ? {} : { checkpointKey: key }),
    ...(every === undefined ? {} : { checkpointEvery: Number(every) }),
  });
  if (output === 'json') {
    io.stdout(`${JSON.stringify({ mediaType: AUDIT_VERIFICATION_MEDIA_TYPE, file, ...verification, ...(verification.ok ? {} : { error: { code: 'AUDIT_CHAIN_BROKEN' } }) }, null, 2)}\n`);
  }
  const { checkpoints, tail } = verification;
  const anchoring = checkpoints === undefined
    ? ''
    : checkpoints.unanchored === 0
      ? `; every record is covered by a checkpoint signed by ${key?.keyId ?? ''}`
      : `; ${checkpoints.unanchored} records after the last signed checkpoint${checkpoints.last === undefined ? ' (there is none yet)' : ` (seq ${checkpoints.last})`} are not anchored: records removed from the end after it would go unnoticed`;
  if (verification.ok) {
    io.stderr(`✓ Audit trail ${file} is intact: ${verification.records} records${link === undefined ? '' : `, continuing from seq ${link[1] ?? ''}`}${anchoring}\n`);
    if (output === 'text') {
      io.stdout(`${verification.records} records, head ${verification.head ?? 'none (empty trail)'}${tail === undefined ? '' : `; a next segment continues from ${tail.seq}:${tail.line}`}\n`);
    }
    return EXIT.ok;
  }
  const { problem } = verification;
  io.stderr(`✗ Audit trail ${file} is BROKEN: [AUDIT_CHAIN_BROKEN ${problem?.code ?? ''}] ${problem?.message ?? ''}\n`);
  io.stderr(`  ${verification.records} records before it are intact${verification.head === undefined ? '' : ` (last intact record ${verification.head})`}\n`);
  return EXIT.broken;
}

async function auditRotate(argv: readonly string[], io: Io): Promise<number> {
  const { values, file, output } = parse(ROTATE_OPTIONS, argv, 'rotate');
  if (values.help === true) {
    io.stdout(AUDIT_HELP);
    return EXIT.ok;
  }
  if (values.to === undefined || values.to === '') throw new SigverifyError('USAGE', 'audit rotate needs --to SEGMENT, the file the current trail becomes');
  const signer = values['checkpoint-key'] === undefined ? undefined : await readCheckpointSigner(values['checkpoint-key']);
  let rotation;
  try {
    rotation = await rotateAuditLog(file, values.to, { ...(signer === undefined ? {} : { signer }), ...(values.processor === undefined ? {} : { processor: values.processor }) });
  } catch (error) {
    io.stderr(`sigverify audit rotate: [${error instanceof SigverifyError ? error.code : 'INTERNAL_ERROR'}] ${(error as Error).message}\n`);
    return EXIT.unreadable;
  }
  const continuesFrom = `${rotation.head.seq}:${rotation.head.line}`;
  if (output === 'json') {
    io.stdout(`${JSON.stringify({ mediaType: AUDIT_ROTATION_MEDIA_TYPE, file, segment: rotation.segment, head: rotation.head, continuesFrom, checkpoint: rotation.checkpoint }, null, 2)}\n`);
  } else {
    io.stdout(`${continuesFrom}\n`);
  }
  io.stderr(`✓ Rotated ${file} to ${rotation.segment} (records up to seq ${rotation.head.seq}); ${file} continues from it${signer === undefined ? ' (unsigned checkpoint: no --checkpoint-key)' : `, checkpoint signed by ${signer.keyId}`}\n`);
  io.stderr(`  verify the new segment with: sigverify audit verify ${file} --continues-from ${continuesFrom}\n`);
  return EXIT.ok;
}

async function auditSummary(argv: readonly string[], io: Io): Promise<number> {
  const { values, file, output } = parse(SUMMARY_OPTIONS, argv, 'summary');
  if (values.help === true) {
    io.stdout(AUDIT_HELP);
    return EXIT.ok;
  }
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since !== undefined && Number.isNaN(since.getTime())) throw new SigverifyError('USAGE', `--since takes an ISO 8601 time, not "${values.since ?? ''}"`);
  const summary = await summarizeAuditLog(file, since === undefined ? {} : { since });
  if (output === 'json') {
    io.stdout(`${JSON.stringify({ mediaType: AUDIT_SUMMARY_MEDIA_TYPE, file, ...(since === undefined ? {} : { since: since.toISOString() }), ...summary }, null, 2)}\n`);
  } else {
    io.stdout(formatSummary(file, summary));
  }
  if (summary.unreadable > 0) io.stderr(`warning: ${summary.unreadable} lines are not audit records; run "sigverify audit verify ${file}"\n`);
  return EXIT.ok;
}

function formatSummary(file: string, s: AuditSummary): string {
  const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2));
  const durations = (label: string, d: DurationStats): string[] => [label, String(d.count), ms(d.p50), ms(d.p95), ms(d.max)];
  const lines = [
    `Audit trail ${file}: ${s.records} records${s.first === undefined ? '' : ` from ${s.first} to ${s.last ?? s.first}`}\n`,
    `Decisions: ${AUDIT_DECISIONS.map((d) => `${d} ${s.decisions[d]}`).join(', ')}; cache hits ${s.cached}\n`,
    '\n',
    table([
      ['DURATION (ms)', 'COUNT', 'P50', 'P95', 'MAX'],
      durations('all', s.durationMs.all),
      durations('cached', s.durationMs.cached),
      durations('uncached', s.durationMs.uncached),
    ]),
    '\n',
    table([
      ['MODULE', 'TOTAL', ...AUDIT_DECISIONS.map((d) => d.toUpperCase()), 'CACHED'],
      ...Object.entries(s.modules).map(([name, m]) => [name, String(m.total), ...AUDIT_DECISIONS.map((d) => String(m.decisions[d])), String(m.cached)]),
    ]),
  ];
  return lines.join('');
}
