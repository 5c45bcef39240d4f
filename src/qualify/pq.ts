import { hostname } from 'node:os';
import * as z from 'zod';
import { AUDIT_CHECKPOINT_MEDIA_TYPE, type AuditVerification, percentile, verifyAuditLog } from '../audit/index.ts';
import { AuditRecordSchema } from '../audit/record.ts';
import { readLines } from '../audit/lines.ts';
import { SigverifyError } from '../errors.ts';
import { readFileCapped } from '../io/read-capped.ts';
import { parseJson } from '../json/parse.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { VERSION } from '../version.ts';
import { installationIntegrity, systemIdentity, type Installation, type SystemIdentity } from './installation.ts';
import { type WrittenReport, writeReportFiles } from './files.ts';
import { documentHead, escapeHtml, newReportId, signatureBlock } from './report.ts';

/**
 * Performance qualification (PQ): how the gate behaved in production over a
 * period, from the evidence it left — the audit trail (one or more segments,
 * in order) and the log monitor's reports. Decisions per module, refusals
 * with their reasons, verification time against the acceptance limit, the
 * trust roots and sigverify versions that decided, and what the monitor found.
 * The report is JSON (versioned) and one printable HTML page.
 */
export const PQ_REPORT_MEDIA_TYPE = 'application/vnd.sigverify.pq-report+json;version=1';
export const PQ_PROTOCOL = { name: 'sigverify performance qualification', version: 1, document: 'docs/qualification.md' } as const;
/** The acceptance limit for one gate decision: a module waits at most this long for its verdict. */
export const PQ_DURATION_LIMIT_MS = 60_000;

/** The members of a log monitor report PQ reads (the monitor's schema, schemas/log-monitor-report.v1.json, has more). */
const MonitorReportSchema = z.looseObject({
  mediaType: z.literal('application/vnd.sigverify.log-monitor-report+json;version=1'),
  generatedAt: z.iso.datetime({ offset: true }),
  outcome: z.enum(['clean', 'unexpected', 'inconsistent', 'undecided']),
  logs: z.array(z.looseObject({
    url: z.string(),
    version: z.union([z.literal(1), z.literal(2)]),
    // null when the monitor could not read a verified checkpoint from the log
    checkpoint: z.looseObject({ treeSize: z.number().int().nonnegative(), rootHash: z.string() }).nullable(),
    consistent: z.boolean(),
    entriesScanned: z.number().int().nonnegative(),
  })),
  unexpected: z.array(z.looseObject({
    logUrl: z.string(),
    logIndex: z.number().int().nonnegative(),
    // null for Rekor v2, which records no integration time
    integratedTime: z.union([z.string(), z.number()]).nullable(),
    identity: z.string(),
    issuer: z.string(),
    // null when the entry records no artifact digest the monitor could read
    digest: z.string().nullable(),
    imageReference: z.string().optional(),
  })),
  expectedCount: z.number().int().nonnegative(),
});
type MonitorReport = z.output<typeof MonitorReportSchema>;

export interface PqOptions {
  /** Audit trail segments, oldest first (a segment after rotation continues from the one before). */
  readonly auditLogs: readonly string[];
  readonly from: Date;
  readonly to: Date;
  readonly monitorReports?: readonly string[];
  readonly site?: { readonly name?: string; readonly processor?: string; readonly operator?: string };
  readonly now?: () => Date;
}

export interface PqDurations {
  readonly count: number;
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly max: number | undefined;
  /** Decisions slower than the limit. */
  readonly overLimit: number;
}

export interface PqReport {
  readonly mediaType: typeof PQ_REPORT_MEDIA_TYPE;
  readonly reportId: string;
  readonly protocol: typeof PQ_PROTOCOL;
  readonly date: string;
  readonly period: { readonly from: string; readonly to: string };
  readonly host: string;
  readonly system: SystemIdentity;
  readonly site: { readonly name?: string; readonly processor?: string; readonly operator?: string };
  readonly sigverify: string;
  readonly installation: Installation;
  /** Each segment, verified in order (a later one continuing from the one before). */
  readonly auditTrails: readonly { readonly path: string; readonly records: number; readonly intact: boolean; readonly head?: string; readonly problem?: string }[];
  /** Decisions in the period. */
  readonly decisions: number;
  readonly modules: Readonly<Record<string, { readonly total: number; readonly decisions: Readonly<Record<string, number>>; readonly cached: number }>>;
  readonly refusals: readonly { readonly module: string; readonly decision: string; readonly reason: string; readonly signatureReasons: string; readonly count: number; readonly first: string; readonly last: string }[];
  readonly durationMs: { readonly limit: number; readonly all: PqDurations; readonly uncached: PqDurations };
  readonly trustRoots: readonly { readonly source: string; readonly location?: string; readonly digest?: string; readonly decisions: number }[];
  readonly versions: Readonly<Record<string, number>>;
  readonly writers: readonly { readonly host: string; readonly processor?: string; readonly decisions: number }[];
  readonly monitor: readonly {
    readonly file: string;
    readonly generatedAt: string;
    readonly outcome: string;
    readonly expectedCount: number;
    readonly logs: MonitorReport['logs'];
    readonly unexpected: MonitorReport['unexpected'];
  }[];
  /** Why the period does not meet its acceptance criteria (empty when it does). */
  readonly findings: readonly string[];
  readonly passed: boolean;
}

async function readMonitorReport(path: string): Promise<MonitorReport> {
  const fail = (reason: string, cause?: unknown): SigverifyError => new SigverifyError('USAGE', `the log monitor report ${path} is not usable: ${reason}`, cause === undefined ? {} : { cause });
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileCapped(path, DEFAULT_LIMITS.maxVerificationBytes);
  } catch (cause) {
    throw fail((cause as Error).message, cause);
  }
  if (bytes === undefined) throw fail(`larger than ${DEFAULT_LIMITS.maxVerificationBytes} bytes`);
  return parseJson(MonitorReportSchema, bytes, fail);
}

function durations(values: number[]): PqDurations {
  const sorted = values.sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted.at(-1), overLimit: sorted.filter((v) => v > PQ_DURATION_LIMIT_MS).length };
}

/** Builds the PQ report of a period. */
export async function runPerformanceQualification(options: PqOptions): Promise<PqReport> {
  if (options.auditLogs.length === 0) throw new SigverifyError('USAGE', 'PQ needs at least one audit trail');
  if (!(options.from < options.to)) throw new SigverifyError('USAGE', `the period must end after it starts (${options.from.toISOString()} .. ${options.to.toISOString()})`);
  const date = (options.now ?? (() => new Date()))().toISOString();
  const from = options.from.getTime();
  const to = options.to.getTime();

  // 1. The evidence is intact: each segment's chain, each continuing from the one before.
  const auditTrails: PqReport['auditTrails'][number][] = [];
  let previous: AuditVerification | undefined;
  for (const path of options.auditLogs) {
    const verification: AuditVerification = await verifyAuditLog(path, previous?.tail === undefined ? {} : { continuesFrom: previous.tail });
    auditTrails.push({ path, records: verification.records, intact: verification.ok, ...(verification.head === undefined ? {} : { head: verification.head }), ...(verification.problem === undefined ? {} : { problem: verification.problem.message }) });
    previous = verification;
  }

  // 2. The decisions of the period.
  const modules = new Map<string, { total: number; decisions: Record<string, number>; cached: number }>();
  const refusals = new Map<string, { module: string; decision: string; reason: string; signatureReasons: string; count: number; first: string; last: string }>();
  const trustRoots = new Map<string, { source: string; location?: string; digest?: string; decisions: number }>();
  const versions: Record<string, number> = {};
  const writers = new Map<string, { host: string; processor?: string; decisions: number }>();
  const all: number[] = [];
  const uncached: number[] = [];
  for (const path of options.auditLogs) {
    for await (const line of readLines(path, DEFAULT_LIMITS.maxAuditLineBytes)) {
      if (line.bytes === undefined) continue;
      let value: unknown;
      try {
        value = JSON.parse(line.bytes.toString('utf8'));
      } catch {
        continue;
      }
      if ((value as { mediaType?: unknown } | null)?.mediaType === AUDIT_CHECKPOINT_MEDIA_TYPE) continue;
      const parsed = AuditRecordSchema.safeParse(value);
      if (!parsed.success) continue;
      const r = parsed.data;
      // A log monitor run is not a gate decision: its findings come from the monitor reports.
      if (r.decision === 'log-monitor') continue;
      const time = Date.parse(r.time);
      if (time < from || time >= to) continue;
      const name = r.module ?? '(none)';
      const m = modules.get(name) ?? { total: 0, decisions: {}, cached: 0 };
      m.total += 1;
      m.decisions[r.decision] = (m.decisions[r.decision] ?? 0) + 1;
      if (r.cached) m.cached += 1;
      modules.set(name, m);
      if (r.decision !== 'verified' && r.decision !== 'signature-not-required') {
        const reason = r.reason ?? '(none)';
        const signatureReasons = [...new Set(r.signatureReasons ?? [])].join(', ');
        const key = JSON.stringify([name, r.decision, reason, signatureReasons]);
        const refusal = refusals.get(key) ?? { module: name, decision: r.decision, reason, signatureReasons, count: 0, first: r.time, last: r.time };
        refusal.count += 1;
        if (r.time < refusal.first) refusal.first = r.time;
        if (r.time > refusal.last) refusal.last = r.time;
        refusals.set(key, refusal);
      }
      if (r.trust !== undefined) {
        const key = JSON.stringify([r.trust.source, r.trust.location, r.trust.digest]);
        const t = trustRoots.get(key) ?? { source: r.trust.source, ...(r.trust.location === undefined ? {} : { location: r.trust.location }), ...(r.trust.digest === undefined ? {} : { digest: r.trust.digest }), decisions: 0 };
        t.decisions += 1;
        trustRoots.set(key, t);
      }
      versions[r.sigverifyVersion] = (versions[r.sigverifyVersion] ?? 0) + 1;
      const writerKey = JSON.stringify([r.host ?? '(not recorded)', r.processor]);
      const w = writers.get(writerKey) ?? { host: r.host ?? '(not recorded)', ...(r.processor === undefined ? {} : { processor: r.processor }), decisions: 0 };
      w.decisions += 1;
      writers.set(writerKey, w);
      all.push(r.durationMs);
      if (!r.cached) uncached.push(r.durationMs);
    }
  }

  // 3. What the log monitor found.
  const monitor = [];
  for (const file of options.monitorReports ?? []) {
    const m = await readMonitorReport(file);
    monitor.push({ file, generatedAt: m.generatedAt, outcome: m.outcome, expectedCount: m.expectedCount, logs: m.logs, unexpected: m.unexpected });
  }

  // 4. The acceptance criteria.
  const allDurations = durations(all);
  const findings: string[] = [];
  for (const t of auditTrails) if (!t.intact) findings.push(`the audit trail ${t.path} is not intact: ${t.problem ?? ''}`);
  if (all.length === 0) findings.push('no gate decision was recorded in the period');
  if (allDurations.overLimit > 0) findings.push(`${allDurations.overLimit} decisions took longer than the ${PQ_DURATION_LIMIT_MS / 1000}-second limit (max ${allDurations.max ?? 0} ms)`);
  for (const m of monitor) {
    if (m.outcome !== 'clean') findings.push(`the log monitor report ${m.file} (${m.generatedAt}) is ${m.outcome}${m.unexpected.length === 0 ? '' : `: ${m.unexpected.length} unexpected entries`}`);
  }
  if (monitor.length === 0) findings.push('no log monitor report covers the period');
  const sorted = <T>(map: Map<string, T>): T[] => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return {
    mediaType: PQ_REPORT_MEDIA_TYPE,
    reportId: newReportId('PQ', date),
    protocol: PQ_PROTOCOL,
    date,
    period: { from: options.from.toISOString(), to: options.to.toISOString() },
    host: hostname(),
    system: systemIdentity(),
    site: options.site ?? {},
    sigverify: VERSION,
    installation: await installationIntegrity(undefined),
    auditTrails,
    decisions: all.length,
    modules: Object.fromEntries([...modules.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    refusals: sorted(refusals),
    durationMs: { limit: PQ_DURATION_LIMIT_MS, all: allDurations, uncached: durations(uncached) },
    trustRoots: sorted(trustRoots),
    versions,
    writers: sorted(writers),
    monitor,
    findings,
    passed: findings.length === 0,
  };
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(1)} ms`);

/**
 * The PQ report as one printable HTML page (A4 portrait, page numbers and the
 * report ID in the margins, no scripts, every text escaped). `jsonSha256`:
 * the SHA-256 of pq-report.json, which the page renders.
 */
export function renderPqHtml(report: PqReport, jsonSha256?: string): string {
  const e = escapeHtml;
  const code = (v: string): string => `<code>${e(v)}</code>`;
  const blank = (v: string | undefined): string => (v === undefined || v === '' ? '<span class="blank">&nbsp;</span>' : e(v));
  const field = (k: string, v: string): string => `<tr><th>${e(k)}</th><td>${v}</td></tr>`;
  const table = (head: readonly string[], rows: readonly (readonly string[])[], empty: string): string =>
    rows.length === 0 ? `<p>${e(empty)}</p>` : `<table class="auto"><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
  const verdict = report.passed ? 'ACCEPTED' : 'NOT ACCEPTED';
  const decisionNames = [...new Set(Object.values(report.modules).flatMap((m) => Object.keys(m.decisions)))].sort();
  const d = report.durationMs;
  const durationRow = (label: string, s: PqDurations): string[] => [e(label), String(s.count), ms(s.p50), ms(s.p95), ms(s.max), `<strong class="${s.overLimit === 0 ? 'pass' : 'fail'}">${s.overLimit}</strong>`];
  return `${documentHead(`${report.reportId}: ${report.protocol.name} ${verdict}`, `sigverify performance qualification report ${report.reportId}`)}
<h1>${e(report.protocol.name)}</h1>
<p class="verdict ${report.passed ? 'pass' : 'fail'}">${verdict}: ${report.decisions} decisions from ${e(report.period.from)} to ${e(report.period.to)}</p>
<h2>Record</h2>
<table class="fields"><tbody>
${[
    field('Report ID', `<strong>${code(report.reportId)}</strong>`),
    field('SHA-256 of pq-report.json', jsonSha256 === undefined ? 'not yet written' : code(jsonSha256)),
    field('Protocol', `${e(report.protocol.name)}, version ${report.protocol.version} (${e(report.protocol.document)})`),
    field('Period (UTC)', `${e(report.period.from)} to ${e(report.period.to)} (end excluded)`),
    field('Date (UTC)', e(report.date)),
    field('Site', blank(report.site.name)),
    field('Processor', blank(report.site.processor)),
    field('Operator', blank(report.site.operator)),
    field('Host, OS and kernel', `${e(report.host)}: ${e(report.system.os)} (${e(report.system.arch)})<div class="small">${e(report.system.kernel)}</div>`),
    field('sigverify (this report)', `${e(report.sigverify)}; executable ${code(report.installation.executable.path)}<div class="small">${code(report.installation.executable.sha256)}</div>`),
    field('Acceptance limit', `${d.limit / 1000} seconds per decision`),
    field('Report format', e(report.mediaType)),
  ].join('\n')}
</tbody></table>
<h2>Findings</h2>
${report.findings.length === 0 ? '<p>None: every audit trail is intact, every decision within the limit, every monitor report clean.</p>' : `<ul class="scope">${report.findings.map((f) => `<li class="fail">${e(f)}</li>`).join('')}</ul>`}
<h2>Audit trail</h2>
${table(['Segment', 'Records', 'Chain', 'Head'], report.auditTrails.map((t) => [code(t.path), String(t.records), t.intact ? '<strong class="pass">intact</strong>' : `<strong class="fail">BROKEN</strong><div class="small">${e(t.problem ?? '')}</div>`, t.head === undefined ? '-' : code(t.head)]), 'No audit trail.')}
<h2>Decisions per module</h2>
${table(['Module', 'Total', ...decisionNames, 'Cached'], Object.entries(report.modules).map(([name, m]) => [code(name), String(m.total), ...decisionNames.map((n) => String(m.decisions[n] ?? 0)), String(m.cached)]), 'No decision in the period.')}
<h2>Verification time</h2>
${table(['Decisions', 'Count', 'p50', 'p95', 'Max', `Over ${d.limit / 1000} s`], [durationRow('all', d.all), durationRow('without the cache', d.uncached)], 'No decision.')}
<h2>Refusals and their reasons</h2>
${table(['Module', 'Decision', 'Reason', 'Signature reasons', 'Count', 'First / last'], report.refusals.map((r) => [code(r.module), e(r.decision), code(r.reason), e(r.signatureReasons || '-'), String(r.count), `${e(r.first)}<div class="small">${e(r.last)}</div>`]), 'No module was refused in the period.')}
<h2>Trust roots and versions in use</h2>
${table(['Trust root', 'Location', 'Digest', 'Decisions'], report.trustRoots.map((t) => [e(t.source), t.location === undefined ? '-' : code(t.location), t.digest === undefined ? '-' : code(t.digest), String(t.decisions)]), 'No trust root recorded.')}
${table(['sigverify version', 'Decisions'], Object.entries(report.versions).map(([v, n]) => [code(v), String(n)]), '')}
${table(['Host', 'Processor', 'Decisions'], report.writers.map((w) => [code(w.host), w.processor === undefined ? '-' : code(w.processor), String(w.decisions)]), '')}
<h2>Transparency-log monitor</h2>
${table(['Report', 'Outcome', 'Logs (tree size, consistent, scanned)', 'Unexpected entries'], report.monitor.map((m) => [
    `${code(m.file)}<div class="small">${e(m.generatedAt)}; ${m.expectedCount} expected entries</div>`,
    `<strong class="${m.outcome === 'clean' ? 'pass' : 'fail'}">${e(m.outcome)}</strong>`,
    m.logs.map((l) => `${code(l.url)} (v${l.version}): ${l.checkpoint === null ? 'no verified checkpoint' : String(l.checkpoint.treeSize)}, ${l.consistent ? 'consistent' : '<strong class="fail">INCONSISTENT</strong>'}, ${l.entriesScanned}`).join('<br>'),
    m.unexpected.length === 0 ? 'none' : m.unexpected.map((u) => `${code(`${u.logUrl} #${u.logIndex}`)}: ${e(u.identity)} (${e(u.issuer)}) signed ${u.digest === null ? 'an artifact the log does not name' : code(u.digest)}${u.imageReference === undefined ? '' : ` (${e(u.imageReference)})`}`).join('<br>'),
  ]), 'No log monitor report was given.')}
<h2>Deviations</h2>
${signatureBlock('Deviations (number, description, impact, disposition):', ['Prepared by', 'Reviewed by', 'Approved by (QA)'])}
<p class="small">The SHA-256 above is that of pq-report.json, the electronic record this page renders (sha256sum pq-report.json prints it). Durations are those the gate recorded per decision (tag resolution, discovery, verification, policy, audit); cached decisions are counted in "all".</p>
</body>
</html>
`;
}

/** Writes pq-report.json and pq-report.html into `directory` (never overwriting). */
export async function writePqReport(report: PqReport, directory: string): Promise<WrittenReport> {
  return writeReportFiles(directory, 'pq-report', `${JSON.stringify(report, null, 2)}\n`, (sha256) => renderPqHtml(report, sha256));
}
