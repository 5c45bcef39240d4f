import { SigverifyError, configuredTrustSource, isSigverifyError } from '../index.ts';
import {
  type QualificationCaseResult,
  type QualificationReport,
  defaultReportDirectory,
  describeExpectation,
  describeObservation,
  runPerformanceQualification,
  runQualification,
  runSiteQualification,
  writePqReport,
  writeQualificationReport,
} from '../qualify/index.ts';
import { parseFlags } from './flags.ts';
import { QUALIFY_HELP } from './help.ts';
import type { Io } from './io.ts';
import { table } from './processor.ts';

/**
 * `sigverify qualify`: operational qualification on this machine. Runs the
 * protocol (`src/qualify/`) offline against the qualification kit shipped
 * with sigverify, writes report.json and report.html, and prints one line per
 * case and the summary (or, with `--output json`, the report). Exit 0 only
 * when every case behaved as expected, 1 when one did not, 2 on usage errors,
 * 3 when the protocol could not run or the report could not be written.
 */
const EXIT = { passed: 0, failed: 1, usage: 2, undecided: 3 } as const;

const OPTIONS = {
  'output-dir': { type: 'string' },
  site: { type: 'string' },
  'site-name': { type: 'string' },
  processor: { type: 'string' },
  operator: { type: 'string' },
  'allow-test-trust-root-unsafe': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

const PQ_OPTIONS = {
  'audit-log': { type: 'string', multiple: true },
  from: { type: 'string' },
  to: { type: 'string' },
  'monitor-report': { type: 'string', multiple: true },
  'site-name': { type: 'string' },
  processor: { type: 'string' },
  operator: { type: 'string' },
  'output-dir': { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runQualify(argv: readonly string[], io: Io): Promise<number> {
  if (argv[0] === 'pq') return runPq(argv.slice(1), io);
  try {
    const { values } = parseFlags({ command: 'qualify', options: OPTIONS, allowPositionals: false }, argv);
    if (values.help === true) {
      io.stdout(QUALIFY_HELP);
      return EXIT.passed;
    }
    const output = values.output ?? 'text';
    if (output !== 'text' && output !== 'json') throw new SigverifyError('USAGE', `--output must be text or json, not "${output}"`);
    if (values['output-dir'] === '') throw new SigverifyError('USAGE', '--output-dir needs a directory');

    const sitePath = values.site;
    if (sitePath === '') throw new SigverifyError('USAGE', '--site needs a site file');
    if (sitePath !== undefined && (values['site-name'] !== undefined || values.processor !== undefined)) {
      throw new SigverifyError('USAGE', '--site-name and --processor are for the shipped protocol; with --site, the site file names them');
    }
    if (sitePath === undefined && values['allow-test-trust-root-unsafe'] === true) throw new SigverifyError('USAGE', '--allow-test-trust-root-unsafe is for --site (the shipped protocol always runs on the test trust root)');
    const report = sitePath === undefined
      ? await runQualification({
          site: {
            ...(values['site-name'] === undefined ? {} : { name: values['site-name'] }),
            ...(values.processor === undefined ? {} : { processor: values.processor }),
            ...(values.operator === undefined ? {} : { operator: values.operator }),
          },
        })
      : await runSiteQualification(sitePath, {
          defaultTrust: configuredTrustSource(),
          ...(values.operator === undefined ? {} : { operator: values.operator }),
          ...(values['allow-test-trust-root-unsafe'] === true ? { allowTestTrustRootUnsafe: true } : {}),
        });
    const written = await writeQualificationReport(report, values['output-dir'] ?? defaultReportDirectory(report.reportId));
    io.stdout(output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    io.stderr(`Qualification report: ${written.json}\n                      ${written.html}\n`);
    // A case not executed is not passed: with no failure, the protocol is incomplete, which is
    // "could not decide" (3) rather than success, so that a pipeline reading only the exit code
    // does not take a partial qualification for a full one. The report says which cases and why.
    if (!report.passed) return EXIT.failed;
    return report.summary.notExecuted === 0 ? EXIT.passed : EXIT.undecided;
  } catch (error) {
    const code = isSigverifyError(error) ? error.code : 'INTERNAL_ERROR';
    io.stderr(`sigverify qualify: [${code}] ${error instanceof Error ? error.message : String(error)}\n`);
    if (isSigverifyError(error) && error.kind === 'usage') {
      io.stderr('Run "sigverify qualify --help" for usage.\n');
      return EXIT.usage;
    }
    return isSigverifyError(error) && error.kind === 'rejected' ? EXIT.failed : EXIT.undecided;
  }
}

/** One line per case (PASS/FAIL, id, title, what was observed, duration; a failure also says what was expected), then the summary. */
function formatReport(report: QualificationReport): string {
  const line = (c: QualificationCaseResult): string[] => [
    c.status === 'passed' ? 'PASS' : c.status === 'failed' ? 'FAIL' : 'NOT EXECUTED',
    c.id,
    c.title,
    c.observation === undefined ? '-' : `${c.durationMs.toFixed(1)} ms`,
    c.observation === undefined
      ? c.notExecuted ?? ''
      : `${describeObservation(c.observation)}${c.passed ? '' : `; expected ${describeExpectation(c.expectation)}: ${c.observation.message}`}`,
  ];
  const { total, passed, failed, notExecuted } = report.summary;
  const verdict = report.passed ? (notExecuted === 0 ? 'PASSED' : 'PASSED WITH DEVIATIONS') : 'FAILED';
  return `${table(report.cases.map(line))}${report.protocol.name.replace(/^sigverify /, '').replace(/^./, (c) => c.toUpperCase())} ${verdict}: ${passed} of ${total} cases passed${failed === 0 ? '' : `, ${failed} failed`}${notExecuted === 0 ? '' : `, ${notExecuted} not executed`}; report ${report.reportId} (sigverify ${report.versions.sigverify}, Node.js ${report.versions.node}, @sigstore/verify ${report.versions['@sigstore/verify']}, host ${report.host})\n`;
}

function time(value: string | undefined, flag: string): Date {
  const date = value === undefined ? undefined : new Date(value);
  if (date === undefined || Number.isNaN(date.getTime()) || !/^\d{4}-\d\d-\d\d/.test(value ?? '')) throw new SigverifyError('USAGE', `${flag} takes an ISO 8601 time (2026-11-01 or 2026-11-01T00:00:00Z), not "${value ?? ''}"`);
  return date;
}

/**
 * `sigverify qualify pq`: performance qualification over a period, from the
 * audit trail (segments oldest first) and the log monitor's reports. Exit 0
 * when the period meets its acceptance criteria, 1 when it does not, 2 on
 * usage errors, 3 when the evidence cannot be read or the report written.
 */
async function runPq(argv: readonly string[], io: Io): Promise<number> {
  try {
    const { values } = parseFlags({ command: 'qualify pq', options: PQ_OPTIONS, allowPositionals: false }, argv);
    if (values.help === true) {
      io.stdout(QUALIFY_HELP);
      return EXIT.passed;
    }
    const output = values.output ?? 'text';
    if (output !== 'text' && output !== 'json') throw new SigverifyError('USAGE', `--output must be text or json, not "${output}"`);
    const auditLogs = values['audit-log'] ?? [];
    if (auditLogs.length === 0) throw new SigverifyError('USAGE', 'qualify pq needs --audit-log FILE (repeat it for rotated segments, oldest first)');
    const report = await runPerformanceQualification({
      auditLogs,
      from: time(values.from, '--from'),
      to: time(values.to, '--to'),
      monitorReports: values['monitor-report'] ?? [],
      site: {
        ...(values['site-name'] === undefined ? {} : { name: values['site-name'] }),
        ...(values.processor === undefined ? {} : { processor: values.processor }),
        ...(values.operator === undefined ? {} : { operator: values.operator }),
      },
    });
    const written = await writePqReport(report, values['output-dir'] ?? `sigverify-${report.reportId}`);
    if (output === 'json') {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const d = report.durationMs.all;
      const ms = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
      io.stdout(table([
        ['MODULE', 'TOTAL', 'DECISIONS', 'CACHED'],
        ...Object.entries(report.modules).map(([name, m]) => [name, String(m.total), Object.entries(m.decisions).map(([k, n]) => `${k} ${n}`).join(', '), String(m.cached)]),
      ]));
      io.stdout(`Verification time: p50 ${ms(d.p50)}, p95 ${ms(d.p95)}, max ${ms(d.max)} (limit ${report.durationMs.limit / 1000} s, ${d.overLimit} over)\n`);
      for (const f of report.findings) io.stdout(`finding: ${f}\n`);
      io.stdout(`Performance qualification ${report.passed ? 'ACCEPTED' : 'NOT ACCEPTED'}: ${report.decisions} decisions from ${report.period.from} to ${report.period.to}; report ${report.reportId}\n`);
    }
    io.stderr(`PQ report: ${written.json}\n           ${written.html}\n`);
    return report.passed ? EXIT.passed : EXIT.failed;
  } catch (error) {
    const code = isSigverifyError(error) ? error.code : 'INTERNAL_ERROR';
    io.stderr(`sigverify qualify pq: [${code}] ${error instanceof Error ? error.message : String(error)}\n`);
    if (isSigverifyError(error) && error.kind === 'usage') {
      io.stderr('Run "sigverify qualify --help" for usage.\n');
      return EXIT.usage;
    }
    return EXIT.undecided;
  }
}
