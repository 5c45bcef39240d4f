import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, DEFAULT_LIMITS, SigverifyError, trustedRootFile } from '../index.ts';
import { readKeyFile, writePrivateFile } from '../io/local-files.ts';
import { type LogMonitorReport, type MonitoredLog, formatReport, monitorAuditEntry, runLogMonitor } from '../monitor/index.ts';
import { errorDocument } from './documents.ts';
import { asksForJson, parseFlags, requireFiles, usage } from './flags.ts';
import { LOG_HELP } from './help.ts';
import type { Io } from './io.ts';
import { defaultTrust } from './verify.ts';

/**
 * `sigverify log audit`: the site's transparency-log audit. Exit 0 clean,
 * 1 unexpected entries or an inconsistent log, 2 usage, 3 could not decide.
 */
const EXIT = { clean: 0, unexpected: 1, inconsistent: 1, usage: 2, undecided: 3 } as const;

const OPTIONS = {
  'rekor-url': { type: 'string', multiple: true },
  'rekor-v2-url': { type: 'string', multiple: true },
  'certificate-identity': { type: 'string', multiple: true },
  'certificate-oidc-issuer': { type: 'string', multiple: true },
  key: { type: 'string', multiple: true },
  'state-dir': { type: 'string' },
  since: { type: 'string' },
  'audit-log': { type: 'string' },
  'audit-segment': { type: 'string', multiple: true },
  module: { type: 'string', multiple: true },
  approved: { type: 'string' },
  'trusted-root': { type: 'string' },
  'tuf-cache': { type: 'string' },
  report: { type: 'string' },
  'allow-http': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `$SIGVERIFY_LOG_STATE`, else `$XDG_STATE_HOME/sigverify/log-monitor`, else `~/.local/state/sigverify/log-monitor`. */
export function defaultStateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIGVERIFY_LOG_STATE !== undefined && env.SIGVERIFY_LOG_STATE !== '') return env.SIGVERIFY_LOG_STATE;
  const base = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'sigverify', 'log-monitor');
}

/** `sigverify log …`: argv is what follows `log`. */
export async function runLog(argv: readonly string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'audit') return await audit(rest, io);
    if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
      io.stdout(LOG_HELP);
      return 0;
    }
    throw usage(`unknown log command "${sub}" (audit)`);
  } catch (error) {
    const known = error instanceof SigverifyError;
    const code = known ? error.code : 'INTERNAL_ERROR';
    const message = error instanceof Error ? error.message : String(error);
    const isUsage = known && error.kind === 'usage';
    io.stderr(`sigverify: [${code}] ${message}\n${isUsage ? 'Run "sigverify log --help" for usage.\n' : ''}`);
    if (asksForJson(rest)) io.stdout(`${JSON.stringify(errorDocument({ code, message }), null, 2)}\n`);
    return isUsage ? EXIT.usage : known && error.kind === 'rejected' ? EXIT.inconsistent : EXIT.undecided;
  }
}

async function audit(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags({ command: 'log audit', options: OPTIONS }, argv);
  if (values.help === true) {
    io.stdout(LOG_HELP);
    return 0;
  }
  if (positionals.length > 0) throw usage(`log audit takes no arguments, got ${positionals.length}`);
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw usage(`--output must be text or json, not "${output}"`);
  const logs: MonitoredLog[] = [
    ...(values['rekor-url'] ?? []).map((url) => ({ url, version: 1 as const })),
    ...(values['rekor-v2-url'] ?? []).map((url) => ({ url, version: 2 as const })),
  ];
  if (logs.length === 0) throw usage('name at least one log: --rekor-url URL (Rekor v1) or --rekor-v2-url URL (Rekor v2 checkpoint and tiles)');
  const identities = values['certificate-identity'] ?? [];
  const issuers = values['certificate-oidc-issuer'] ?? [];
  const keyFiles = values.key ?? [];
  if (identities.length === 0 && keyFiles.length === 0) throw usage('name what to watch: --certificate-identity with --certificate-oidc-issuer, or --key FILE');
  if (identities.length > 0 && issuers.length !== 1 && issuers.length !== identities.length) {
    throw usage('--certificate-identity (repeatable) and --certificate-oidc-issuer: one issuer for all, or one per identity in the same order');
  }
  if (identities.length === 0 && issuers.length > 0) throw usage('--certificate-oidc-issuer needs --certificate-identity');
  const watch = identities.map((identity, i) => ({ identity, issuer: (issuers.length === 1 ? issuers[0] : issuers[i]) as string }));
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since !== undefined && Number.isNaN(since.getTime())) throw usage(`--since takes an ISO 8601 time, not "${values.since ?? ''}"`);
  requireFiles({
    '--trusted-root': values['trusted-root'],
    '--approved': values.approved,
    ...Object.fromEntries((values.module ?? []).map((m) => [`--module ${m}`, m])),
    ...Object.fromEntries(keyFiles.map((k) => [`--key ${k}`, k])),
  });
  const watchKeys = await Promise.all(keyFiles.map((k) => readKeyFile(k, DEFAULT_LIMITS.maxConfigFileBytes)));
  const trust = values['trusted-root'] !== undefined ? trustedRootFile(values['trusted-root']) : defaultTrust(values['tuf-cache'], false);

  const t0 = performance.now();
  const report = await runLogMonitor({
    logs,
    watch,
    watchKeys,
    trust,
    stateDirectory: values['state-dir'] ?? defaultStateDirectory(),
    ...(since === undefined ? {} : { since }),
    approvals: {
      ...(values['audit-log'] === undefined ? {} : { auditLog: values['audit-log'] }),
      ...(values['audit-segment'] === undefined ? {} : { auditSegments: values['audit-segment'] }),
      ...(values.module === undefined ? {} : { modules: values.module }),
      ...(values.approved === undefined ? {} : { approvedList: values.approved }),
    },
    allowHttp: values['allow-http'] === true,
  });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (values.report !== undefined) await writePrivateFile(values.report, Buffer.from(json));
  let unrecorded: SigverifyError | undefined;
  if (values['audit-log'] !== undefined) {
    const digest = createHash('sha256').update(json).digest('hex');
    try {
      await new AuditLog(values['audit-log']).append(monitorAuditEntry(report, digest, performance.now() - t0));
    } catch (error) {
      if (!(error instanceof SigverifyError)) throw error;
      unrecorded = error;
    }
  }
  io.stderr(formatReport(report));
  if (output === 'json') io.stdout(json);
  // The report stands, but a run the audit trail does not show was not done as the procedure requires.
  if (unrecorded !== undefined) {
    io.stderr(`sigverify: [${unrecorded.code}] ${unrecorded.message}\n`);
    return report.outcome === 'clean' ? EXIT.undecided : exitCode(report);
  }
  return exitCode(report);
}

function exitCode(report: LogMonitorReport): number {
  return EXIT[report.outcome];
}
