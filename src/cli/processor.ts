import {
  AuditLog,
  DEFAULT_LIMITS,
  type GateOptions,
  type GateResult,
  type ModuleCheck,
  ModuleGate,
  ResultCache,
  SigverifyError,
  type VerificationResult,
  checkProcessorConfig,
  configuredTrustSource,
  loadProcessorConfigFile,
  readPolicyFile,
  trustedRootFile,
} from '../index.ts';
import { readCheckpointSigner } from './checkpoint-key.ts';
import { GATE_REFUSAL_MEDIA_TYPE, errorDocument, failedResult } from './documents.ts';
import { asksForJson, parseFlags, requireFiles, usage } from './flags.ts';
import { CHECK_CONFIG_HELP, CHECK_MODULE_HELP } from './help.ts';
import { type Io, describeOutcome, describeSigner } from './io.ts';

/**
 * `sigverify check-module FILE` and `sigverify check-config FILE`: the
 * processor gate from a shell. check-module prints the digest-pinned
 * reference to run on stdout (and nothing else, in text mode); reasons go to
 * stderr. Exit codes as `verify`: 0 may run, 1 refused, 2 usage or invalid
 * policy, 3 undecided (registry, trust root or audit trail unavailable).
 */

const EXIT = { ok: 0, refused: 1, usage: 2, undecided: 3 } as const;

export const CONFIG_CHECK_MEDIA_TYPE = 'application/vnd.sigverify.config-check+json;version=1';

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  'audit-log': { type: 'string' },
  'audit-processor': { type: 'string' },
  'audit-checkpoint-key': { type: 'string' },
  'audit-checkpoint-every': { type: 'string' },
  'result-cache': { type: 'string' },
  'result-cache-ttl': { type: 'string' },
  'trusted-root': { type: 'string' },
  'allow-http-registry': { type: 'boolean' },
  'base-dir': { type: 'string' },
  'allow-test-trust-root-unsafe': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface Parsed {
  /** A path, or `-` for stdin. */
  readonly file: string;
  readonly baseDir: string | undefined;
  readonly output: 'text' | 'json';
  readonly options: GateOptions;
  readonly help: boolean;
  readonly notes: readonly string[];
}

async function parse(command: string, argv: readonly string[], io: Io): Promise<Parsed> {
  // The gate's result cache is --result-cache (the TUF cache is --tuf-cache elsewhere); --cache-dir was its first name.
  const { values, positionals, notes } = parseFlags({ command, options: OPTIONS, aliases: { 'cache-dir': 'result-cache', 'cache-ttl': 'result-cache-ttl' } }, argv);
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw usage(`--output must be text or json, not "${output}"`);
  if (values.help === true) return { file: '', baseDir: undefined, output, options: {}, help: true, notes };
  if (positionals.length !== 1) throw usage(`${command} takes exactly one FILE, got ${positionals.length}`);
  const ttl = values['result-cache-ttl'];
  if (ttl !== undefined && values['result-cache'] === undefined) throw usage('--result-cache-ttl needs --result-cache');
  const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
  if (ttlSeconds !== undefined && !(Number.isFinite(ttlSeconds) && ttlSeconds >= 0)) throw usage(`--result-cache-ttl must be a number of seconds, not "${ttl ?? ''}"`);
  const cacheDir = values['result-cache'];
  const auditLog = values['audit-log'];
  for (const flag of ['audit-processor', 'audit-checkpoint-key', 'audit-checkpoint-every'] as const) {
    if (values[flag] !== undefined && auditLog === undefined) throw usage(`--${flag} needs --audit-log`);
  }
  const every = values['audit-checkpoint-every'];
  if (every !== undefined && (values['audit-checkpoint-key'] === undefined || !/^[1-9]\d{0,8}$/.test(every))) throw usage('--audit-checkpoint-every takes a number of records (at least 1) and needs --audit-checkpoint-key');
  const checkpointKey = values['audit-checkpoint-key'];
  const signer = checkpointKey === undefined ? undefined : await readCheckpointSigner(checkpointKey);
  const trustedRoot = values['trusted-root'];
  const file = positionals[0] as string;
  const baseDir = values['base-dir'];
  // Never a temporary file: the policy on stdin, with the directory its relative paths start from named explicitly.
  if (file === '-' && baseDir === undefined) throw usage('a policy on stdin ("-") needs --base-dir DIR, the directory its relative paths start from');
  requireFiles({ 'policy file': file === '-' ? undefined : file, '--base-dir': baseDir, '--trusted-root': trustedRoot });
  return {
    file,
    baseDir,
    output,
    help: false,
    notes,
    options: {
      ...(trustedRoot === undefined ? {} : { trust: trustedRootFile(trustedRoot) }),
      // Modules without their own trust use the source `sigverify trust init` recorded, as verify does.
      defaultTrust: configuredTrustSource(),
      ...(values['allow-http-registry'] === true ? { allowHttpRegistry: true } : {}),
      ...(values['allow-test-trust-root-unsafe'] === true ? { allowTestTrustRootUnsafe: true } : {}),
      ...(auditLog === undefined
        ? {}
        : {
            audit: new AuditLog(auditLog, {
              ...(values['audit-processor'] === undefined ? {} : { processor: values['audit-processor'] }),
              ...(signer === undefined ? {} : { checkpoint: { signer, ...(every === undefined ? {} : { every: Number(every) }) } }),
            }),
          }),
      ...(cacheDir === undefined
        ? {}
        : {
            cache: new ResultCache({
              directory: cacheDir,
              ...(ttlSeconds === undefined ? {} : { ttlMs: ttlSeconds * 1000 }),
              onWarning: (message) => { io.stderr(`warning: ${message}\n`); },
            }),
          }),
    },
  };
}

/** The command line, or the exit code when it was a request for help or a usage error (already reported). */
async function start(command: string, argv: readonly string[], io: Io): Promise<Parsed | number> {
  try {
    const cmd = await parse(command, argv, io);
    for (const note of cmd.notes) io.stderr(`${note}\n`);
    if (!cmd.help) return cmd;
    io.stdout(command === 'check-module' ? CHECK_MODULE_HELP : CHECK_CONFIG_HELP);
    return EXIT.ok;
  } catch (error) {
    return usageError(error, io, command, argv);
  }
}

/** `sigverify check-module FILE`: argv is what follows the command name. */
export async function runCheckModule(argv: readonly string[], io: Io): Promise<number> {
  const cmd = await start('check-module', argv, io);
  if (typeof cmd === 'number') return cmd;
  let module: unknown;
  let baseDirectory: string;
  try {
    ({ value: module, baseDirectory } = await readPolicyInput(cmd));
  } catch (error) {
    return refused(error, io, cmd.file, cmd.output, undefined);
  }
  const name = memberOf(module, 'module_name') ?? cmd.file;
  io.stderr(`Checking module ${name} (${memberOf(module, 'docker_tag') ?? 'no docker_tag'})\n`);
  try {
    const gate = await new ModuleGate({ ...cmd.options, baseDirectory }).check(module);
    reportPass(gate, io);
    io.stdout(cmd.output === 'json' ? `${JSON.stringify(gate, null, 2)}\n` : `${gate.reference}\n`);
    return EXIT.ok;
  } catch (error) {
    return refused(error, io, name, cmd.output, memberOf(module, 'docker_tag'));
  }
}

/** The policy file, or stdin; `--base-dir` replaces the file's directory as the start of relative paths. */
async function readPolicyInput(cmd: Parsed): Promise<{ value: unknown; baseDirectory: string }> {
  if (cmd.file === '-') return readPolicyFile({ bytes: await readStdin(), baseDirectory: cmd.baseDir as string });
  const read = await readPolicyFile(cmd.file);
  return cmd.baseDir === undefined ? read : { ...read, baseDirectory: cmd.baseDir };
}

/** All of stdin, up to one byte past the configuration cap (readPolicyFile refuses what is over it). */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const bytes = chunk as Buffer;
    chunks.push(bytes);
    total += bytes.length;
    if (total > DEFAULT_LIMITS.maxConfigFileBytes) break;
  }
  return Buffer.concat(chunks);
}

/** `sigverify check-config FILE`: every module of a processor configuration, as a table. */
export async function runCheckConfig(argv: readonly string[], io: Io): Promise<number> {
  const cmd = await start('check-config', argv, io);
  if (typeof cmd === 'number') return cmd;
  let checks: ModuleCheck[];
  try {
    const { config, baseDirectory } = await loadProcessorConfigFile(cmd.file === '-' ? { bytes: await readStdin(), baseDirectory: cmd.baseDir as string } : cmd.file);
    checks = await checkProcessorConfig(config, { ...cmd.options, baseDirectory });
  } catch (error) {
    return refused(error, io, cmd.file, cmd.output, undefined);
  }
  const rows = checks.map(row);
  if (cmd.output === 'json') {
    io.stdout(`${JSON.stringify({ mediaType: CONFIG_CHECK_MEDIA_TYPE, ok: rows.every((r) => r.ok), modules: rows.map((r) => r.json) }, null, 2)}\n`);
  } else {
    io.stdout(table([['MODULE', 'DECISION', 'REFERENCE OR REASON'], ...rows.map((r) => [r.module, r.decision, r.detail])]));
  }
  for (const r of rows) if (!r.ok) io.stderr(`✗ ${r.module}: ${r.detail}\n`);
  const failed = rows.filter((r) => !r.ok);
  io.stderr(failed.length === 0 ? `All ${rows.length} modules may run.\n` : `${failed.length} of ${rows.length} modules may not run.\n`);
  if (failed.length === 0) return EXIT.ok;
  // Most specific first: a configuration error, then a definite refusal, then "could not decide".
  if (failed.some((r) => r.exit === EXIT.usage)) return EXIT.usage;
  return failed.some((r) => r.exit === EXIT.refused) ? EXIT.refused : EXIT.undecided;
}

interface Row {
  readonly module: string;
  readonly ok: boolean;
  readonly decision: string;
  readonly detail: string;
  readonly exit: number;
  readonly json: Record<string, unknown>;
}

function row(check: ModuleCheck): Row {
  const { module, outcome } = check;
  if (outcome.ok) {
    const g = outcome.gate;
    return {
      module,
      ok: true,
      decision: `${g.decision}${g.cached ? ' (cached)' : ''}`,
      detail: g.reference,
      exit: EXIT.ok,
      json: { module, decision: g.decision, reference: g.reference, digest: g.digest, cached: g.cached, policyDigest: g.policyDigest, ...(g.audit === undefined ? {} : { audit: { seq: g.audit.seq, hash: g.audit.hash } }) },
    };
  }
  const { code, message, exit, decision } = describeError(outcome.error);
  return { module, ok: false, decision, detail: `[${code}] ${firstLine(message)}`, exit, json: { module, decision, error: { code, message } } };
}

function describeError(error: unknown): { code: string; message: string; exit: number; decision: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof SigverifyError)) return { code: 'INTERNAL_ERROR', message, exit: EXIT.undecided, decision: 'unavailable' };
  const exit = error.kind === 'usage' ? EXIT.usage : error.kind === 'unavailable' ? EXIT.undecided : EXIT.refused;
  return { code: error.code, message, exit, decision: error.kind === 'usage' ? 'invalid' : error.kind };
}

function reportPass(gate: GateResult, io: Io): void {
  const name = gate.module ?? gate.requestedReference;
  if (gate.decision === 'signature-not-required') {
    io.stderr(`! Module ${name}: no signature required (require_signature: false); pinned ${gate.reference} WITHOUT verification\n`);
  } else {
    const result = gate.result as VerificationResult;
    const reuse = gate.cached ? ` (cached decision of ${result.verifiedAt})` : '';
    for (const s of result.signatures.filter((x) => x.outcome === 'verified' && x.duplicateOf === undefined)) {
      io.stderr(`✓ Module ${name}: signature verification PASSED for ${gate.reference}: ${describeSigner(s, 'the configured public key')}${reuse}\n`);
    }
    for (const a of gate.attestations ?? []) {
      const s = a.signatures.find((x) => x.outcome === 'verified');
      io.stderr(`✓ Module ${name}: attestation ${a.purpose.predicateType} verified${s === undefined ? '' : `: ${describeSigner(s, 'the configured public key')}`}\n`);
    }
  }
  if (gate.audit !== undefined) io.stderr(`  audit record ${gate.audit.seq}: ${gate.audit.hash}\n`);
}

function refused(error: unknown, io: Io, name: string, output: 'text' | 'json', requested: string | undefined): number {
  const { code, message, exit, decision } = describeError(error);
  io.stderr(`✗ Module ${name} may NOT run${requested === undefined ? '' : ` (${requested})`}: [${code}] ${message}\n`);
  const result = error instanceof SigverifyError ? error.result : undefined;
  if ((result?.signatures.length ?? 0) > 1) {
    for (const s of result?.signatures ?? []) io.stderr(describeOutcome(s));
  }
  if (error instanceof SigverifyError && error.kind === 'usage') io.stderr('Run "sigverify check-module --help" for usage.\n');
  if (output === 'json') {
    const document = {
      mediaType: GATE_REFUSAL_MEDIA_TYPE,
      module: name,
      ...(requested === undefined ? {} : { requestedReference: requested }),
      decision,
      error: { code, message },
      ...(result === undefined ? {} : { result: failedResult(result) }),
    };
    io.stdout(`${JSON.stringify(document, null, 2)}\n`);
  }
  return exit;
}

/** A command line that could not be parsed: one `sigverify:` line (and, asked for JSON, the error document). */
function usageError(error: unknown, io: Io, command: string, argv: readonly string[]): number {
  const code = error instanceof SigverifyError ? error.code : 'INTERNAL_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`sigverify: [${code}] ${message}\nRun "sigverify ${command} --help" for usage.\n`);
  if (asksForJson(argv)) io.stdout(`${JSON.stringify(errorDocument({ code, message }), null, 2)}\n`);
  return error instanceof SigverifyError && error.kind !== 'usage' ? EXIT.undecided : EXIT.usage;
}

function memberOf(value: unknown, member: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[member];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function firstLine(text: string): string {
  const newline = text.indexOf('\n');
  return newline === -1 ? text : text.slice(0, newline);
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}\n`).join('');
}
