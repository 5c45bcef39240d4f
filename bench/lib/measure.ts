import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';

/** Summary of one series of samples, in ms. */
export interface Stats {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank quantile of sorted samples. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    mean: sum / Math.max(1, sorted.length),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** A series: its summary and the raw samples (kept for the JSON file and the chart). */
export interface Series {
  readonly stats: Stats;
  readonly samples: readonly number[];
}

function series(samples: number[]): Series {
  return { stats: stats(samples), samples };
}

/**
 * Wall time of `fn(i)` for i = 0 … runs−1, after `warmup` untimed calls
 * (i = −warmup … −1). Sequential: one call at a time.
 */
export async function wallTime(runs: number, warmup: number, fn: (i: number) => unknown): Promise<Series> {
  for (let i = -warmup; i < 0; i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  return series(samples);
}

/**
 * CPU time (user + system, `process.cpuUsage`, whole process: GC helper
 * threads included) of `fn(i)`, one call at a time, in ms. `fn` may be async
 * as long as it does no I/O (in-memory stores resolve at once).
 */
export async function cpuTime(runs: number, warmup: number, fn: (i: number) => unknown): Promise<Series> {
  for (let i = -warmup; i < 0; i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage();
    await fn(i);
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / 1000);
  }
  return series(samples);
}

export interface ProcessRun {
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Wall time of a child process from spawn to exit; the first `warmup` runs
 * are not counted. Throws on a non-zero exit. Asynchronous on purpose: this
 * process must keep draining the output of the registry it started, or the
 * registry blocks on a full pipe.
 */
export async function processTime(runs: number, warmup: number, run: ProcessRun, command = process.execPath): Promise<Series> {
  const samples: number[] = [];
  for (let i = -warmup; i < runs; i++) {
    const start = performance.now();
    const child = spawn(command, run.args, { cwd: run.cwd, env: run.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    const elapsed = performance.now() - start;
    if (code !== 0) throw new Error(`${[command, ...run.args].join(' ')} exited ${code ?? signal ?? '?'}: ${stderr}`);
    if (i >= 0) samples.push(elapsed);
  }
  return series(samples);
}

/** Progress on stderr, with the time since the run started. */
const started = performance.now();
export function progress(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
}
