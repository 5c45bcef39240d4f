/**
 * The README's performance tables, generated from a committed results file
 * (bench/published/results.json), which names the machine and the date of
 * the run it comes from.
 *
 *   node scripts/readme-performance.ts --publish   copy bench/results/results.json
 *                                                  (the last `npm run bench`), without
 *                                                  its raw samples, to bench/published/,
 *                                                  then write the tables
 *   node scripts/readme-performance.ts             write the tables from bench/published/
 *   node scripts/readme-performance.ts --check     exit 1 if README.md is not up to date
 *
 * The tables go between the markers below in README.md; nothing else changes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../test/helpers/fixtures.ts';

const BEGIN = '<!-- performance-table:begin (scripts/readme-performance.ts writes this part) -->';
const END = '<!-- performance-table:end -->';
const PUBLISHED = join(REPO_ROOT, 'bench', 'published', 'results.json');
const README = join(REPO_ROOT, 'README.md');

interface Results {
  readonly date: string;
  readonly machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string; sigverify: string; versions: Record<string, string> };
  readonly config: Record<string, unknown>;
  readonly durationS: number;
  readonly loadAverage: { start: number; end: number };
  readonly otherProcessesCpuSharePercent: Record<string, number | undefined>;
  readonly targets: ReadonlyArray<{ id: string; value: number | null; target: string; met: boolean; measuredAs: string; notMeasured?: string }>;
  readonly table: ReadonlyArray<{ measurement: string; median: string; p95: string; ratio: string; target: string; met: string }>;
  readonly notes: readonly string[];
}

/** Everything but the raw samples (kept in bench/results/ by each run, too many to commit). */
function withoutSamples(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSamples);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'samples' && key !== 'latencies').map(([key, v]) => [key, withoutSamples(v)]));
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function performanceSection(results: Results): string {
  const m = results.machine;
  const others = results.otherProcessesCpuSharePercent['all'];
  const lines = [
    `Run of ${results.date.slice(0, 16).replace('T', ' ')} UTC on ${m.cpus} × ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, sigverify ${m.sigverify}, @sigstore/verify ${m.versions['@sigstore/verify'] ?? '?'}; ` +
      `${String(results.config['imagesPerFormat'])} images per format; whole run ${results.durationS.toFixed(0)} s; load average ${results.loadAverage.start.toFixed(2)} at start` +
      `${others === undefined ? '' : `; other processes took ${others.toFixed(0)} % of the cores during the run`} (bench/published/results.json).`,
    '',
    '| target | value | target | met? | measured as |',
    '|---|---|---|---|---|',
    ...results.targets.map((t) => `| ${[t.id, t.value === null ? 'not measured' : t.value.toFixed(2), t.target, t.value === null ? 'no' : t.met ? 'yes' : 'no', t.notMeasured ?? t.measuredAs].map(cell).join(' | ')} |`),
    '',
    '| measurement | median | p95 | ratio | target | met? |',
    '|---|---|---|---|---|---|',
    ...results.table.map((r) => `| ${[r.measurement, r.median, r.p95, r.ratio, r.target, r.met].map(cell).join(' | ')} |`),
    ...(results.notes.length > 0 ? ['', ...results.notes.map((n) => `- ${n}`)] : []),
  ];
  return lines.join('\n');
}

export function withSection(readme: string, section: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no ${BEGIN} … ${END} markers`);
  return `${readme.slice(0, begin + BEGIN.length)}\n${section}\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.includes('--publish')) {
    const latest = JSON.parse(readFileSync(join(REPO_ROOT, 'bench', 'results', 'results.json'), 'utf8')) as unknown;
    mkdirSync(dirname(PUBLISHED), { recursive: true });
    writeFileSync(PUBLISHED, `${JSON.stringify(withoutSamples(latest), null, 1)}\n`);
  }
  const results = JSON.parse(readFileSync(PUBLISHED, 'utf8')) as Results;
  const readme = readFileSync(README, 'utf8');
  const updated = withSection(readme, performanceSection(results));
  if (args.includes('--check')) {
    if (updated !== readme) {
      process.stderr.write('README.md performance tables are not generated from bench/published/results.json: run node scripts/readme-performance.ts\n');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(README, updated);
  }
}
