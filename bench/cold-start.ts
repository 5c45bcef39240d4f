/**
 * Cold start of the single executable against Node itself and today's npm
 * CLI: one new process per run, spawn to exit, medians of BENCH_COLD_RUNS
 * (default 20) after 3 untimed runs; the ratios are to `node -e 0` of the
 * same Node 24 the executable is made from. The target (issue 13): a cold
 * fixture `verify` within 2× of `node -e 0`.
 *
 *   npm run package && npm run bench:cold-start
 *
 * The fixture verify is the demo's (scripts/demo.sh): an OCI layout and a
 * pinned trusted_root.json, no network. Prints a Markdown table.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, REPO_ROOT } from '../test/helpers/fixtures.ts';
import { type Series, processTime, progress } from './lib/measure.ts';
import { type Row, markdownTable, met, ms, ratio } from './lib/report.ts';

const EXECUTABLE = join(REPO_ROOT, 'dist-bin', 'sigverify-linux-x64');
const BIN = join(REPO_ROOT, 'dist', 'cli', 'bin.js');
const RUNS = Number(process.env['BENCH_COLD_RUNS'] ?? 20);
const VERIFY = ['verify', 'oci:fixtures/layout:signed', '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', 'fixtures/trust/trusted_root.json'];

for (const path of [EXECUTABLE, BIN]) {
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run package (and npm run build)`);
}

// No developer TUF cache or Docker credentials; the npm CLI's compile cache lives in the tmpdir, warmed by the untimed runs.
const env = { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent' };
const measure = (label: string, command: string, args: readonly string[]): Promise<[string, Series]> => {
  progress(`${RUNS} runs: ${label}`);
  return processTime(RUNS, 3, { cwd: REPO_ROOT, env, args }, command).then((series) => [label, series]);
};

const node = await measure('node -e 0', process.execPath, ['-e', '0']);
const runs = [
  node,
  await measure('sigverify --version (executable)', EXECUTABLE, ['--version']),
  await measure('sigverify verify, fixture (executable)', EXECUTABLE, VERIFY),
  await measure('node dist/cli/bin.js --version', process.execPath, [BIN, '--version']),
  await measure('node dist/cli/bin.js verify, fixture', process.execPath, [BIN, ...VERIFY]),
];
const floor = node[1].stats.median;
const rows: Row[] = runs.map(([label, series]) => {
  const target = label === 'sigverify verify, fixture (executable)';
  return {
    measurement: label,
    median: ms(series.stats.median),
    p95: ms(series.stats.p95),
    ratio: ratio(series.stats.median / floor, 'node -e 0'),
    target: target ? '≤ 2×' : '',
    met: target ? met(series.stats.median <= 2 * floor) : '',
  };
});
process.stdout.write(markdownTable(rows));
