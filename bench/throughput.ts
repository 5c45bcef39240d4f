/**
 * Throughput pass, run as its own process by bench/run.ts so that its memory
 * figures are its own: `workers` worker threads (one ImageVerifier each)
 * verify every reference once, `inFlight` at a time per worker. The main
 * thread only samples the RSS of the whole process (all threads) every 5 ms.
 *
 * What is measured is what a deployment runs: run.ts strips the types of
 * this file and of lib/throughput-worker.ts (`module.stripTypeScriptTypes`)
 * and runs them as plain JavaScript against the build (dist/), so neither
 * the TypeScript loader nor the TypeScript sources count in the figures.
 * Hence no static imports of project code here, only of types.
 *
 *   node throughput.mjs CONFIG.json   → one JSON object on stdout
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { WorkerHeap, WorkerInput, WorkerMessage } from './lib/throughput-worker.ts';

export interface ThroughputConfig {
  /** file: URL of the worker script (the stripped lib/throughput-worker.ts). */
  readonly workerUrl: string;
  /** file: URL of the built public API (dist/index.js). */
  readonly apiUrl: string;
  readonly references: readonly string[];
  readonly workers: number;
  readonly inFlight: number;
  /**
   * Each worker's V8 young generation, MiB (`resourceLimits.maxYoungGenerationSizeMb`);
   * undefined: V8's default (which sizes it for throughput, not for RSS).
   */
  readonly youngGenerationMb?: number;
  readonly trustedRoot: string;
  readonly identity: string;
  readonly issuer: string;
}

export interface ThroughputResult {
  readonly verifications: number;
  readonly wallMs: number;
  readonly perSecond: number;
  /** Per verification, ms, as each worker measured it (queueing in the worker included). */
  readonly latencies: number[];
  readonly failures: number;
  readonly firstFailures: string[];
  /** Bytes. `idle`: workers started, trust loaded, nothing verified yet; `maxRss`: the kernel's high-water mark (VmHWM). */
  readonly rss: { readonly idle: number; readonly peakSampled: number; readonly maxRss: number };
  /** Per worker: its V8 heap's peaks (committed `heapTotal` vs live `heapUsed`). */
  readonly workerHeaps: WorkerHeap[];
  /** CPU time of this process during the pass, ms (both workers and the sampler). */
  readonly cpuMs: number;
}

/** VmHWM of /proc/self/status in bytes; undefined off Linux. */
function highWaterMark(): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

const configPath = process.argv[2];
if (configPath === undefined) throw new Error('usage: node throughput.mjs CONFIG.json (written by bench/run.ts)');
const config = JSON.parse(await readFile(configPath, 'utf8')) as ThroughputConfig;

const next = new SharedArrayBuffer(4);
const input: WorkerInput = {
  apiUrl: config.apiUrl,
  references: config.references,
  next,
  inFlight: config.inFlight,
  trustedRoot: config.trustedRoot,
  identity: config.identity,
  issuer: config.issuer,
};
const resourceLimits = config.youngGenerationMb === undefined ? {} : { resourceLimits: { maxYoungGenerationSizeMb: config.youngGenerationMb } };
const workers = Array.from({ length: config.workers }, () => new Worker(new URL(config.workerUrl), { workerData: input, ...resourceLimits }));
const message = (worker: Worker, type: WorkerMessage['type']): Promise<WorkerMessage> =>
  new Promise((resolve, reject) => {
    const onMessage = (m: WorkerMessage): void => {
      if (m.type !== type) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve(m);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });

await Promise.all(workers.map((worker) => message(worker, 'ready')));
const idle = process.memoryUsage.rss();
let peakSampled = idle;
const sampler = setInterval(() => {
  peakSampled = Math.max(peakSampled, process.memoryUsage.rss());
}, 5);

const cpuStart = process.cpuUsage();
const start = performance.now();
const done = workers.map((worker) => message(worker, 'done'));
for (const worker of workers) worker.postMessage('go');
const reports = await Promise.all(done);
const wallMs = performance.now() - start;
const cpu = process.cpuUsage(cpuStart);
clearInterval(sampler);
peakSampled = Math.max(peakSampled, process.memoryUsage.rss());
await Promise.all(workers.map((worker) => worker.terminate()));

const latencies = reports.flatMap((r) => (r.type === 'done' ? r.latencies : []));
const failures = reports.flatMap((r) => (r.type === 'done' ? r.failures : []));
const result: ThroughputResult = {
  verifications: latencies.length,
  wallMs,
  perSecond: (1000 * latencies.length) / wallMs,
  latencies,
  failures: failures.length,
  firstFailures: failures.slice(0, 5),
  // The kernel's high-water mark of this process's RSS (VmHWM, /proc/PID/status), not getrusage's
  // ru_maxrss: Linux carries ru_maxrss over execve, so a child started by a large parent would
  // report the parent's size.
  rss: { idle, peakSampled, maxRss: highWaterMark() ?? peakSampled },
  workerHeaps: reports.flatMap((r) => (r.type === 'done' ? [r.heap] : [])),
  cpuMs: (cpu.user + cpu.system) / 1000,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
