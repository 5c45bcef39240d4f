import { SigverifyError, configuredTrustSource, isSigverifyError } from '../index.ts';
import {
  type QualificationCaseResult,
  type QualificationReport,
  defaultReportDirectory,
  describeExpectation,
  describeObservation,
  runQualification,
  runSiteQualification,
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

export async function runQualify(argv: readonly string[], io: Io): Promise<number> {
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
    return report.passed ? EXIT.passed : EXIT.failed;
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
