/**
 * One throughput worker thread: its own ImageVerifier (trust loaded once, its
 * own connection pool), `inFlight` verifications at a time, taking the next
 * reference from a counter shared by every worker (dynamic load balancing).
 *
 * Runs as plain JavaScript (see bench/throughput.ts): no static imports of
 * project code; the public API is imported from `apiUrl` (dist/index.js).
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

type Api = typeof import('../../src/index.ts');

export interface WorkerInput {
  /** file: URL of the built public API (dist/index.js). */
  readonly apiUrl: string;
  readonly references: readonly string[];
  /** Int32Array over a SharedArrayBuffer: the next index to take. */
  readonly next: SharedArrayBuffer;
  readonly inFlight: number;
  readonly trustedRoot: string;
  readonly identity: string;
  readonly issuer: string;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly latencies: number[]; readonly failures: string[]; readonly heap: WorkerHeap };

/** This worker's V8 heap during the pass, bytes (peaks sampled every 10 ms): committed vs live. */
export interface WorkerHeap {
  readonly peakHeapTotal: number;
  readonly peakHeapUsed: number;
  readonly peakExternal: number;
}

const input = workerData as WorkerInput;
const port = parentPort;
if (port === null) throw new Error('throughput-worker runs as a worker thread');

const { ImageVerifier, trustedRootFile } = (await import(input.apiUrl)) as Api;
const verifier = await ImageVerifier.create(
  { certificateIdentity: input.identity, certificateOidcIssuer: input.issuer },
  { trust: trustedRootFile(input.trustedRoot) },
);
const next = new Int32Array(input.next);

port.once('message', () => {
  void (async () => {
    const latencies: number[] = [];
    const failures: string[] = [];
    const heap = { peakHeapTotal: 0, peakHeapUsed: 0, peakExternal: 0 };
    const sample = (): void => {
      const m = process.memoryUsage();
      heap.peakHeapTotal = Math.max(heap.peakHeapTotal, m.heapTotal);
      heap.peakHeapUsed = Math.max(heap.peakHeapUsed, m.heapUsed);
      heap.peakExternal = Math.max(heap.peakExternal, m.external);
    };
    const sampler = setInterval(sample, 10);
    const loop = async (): Promise<void> => {
      for (let i = Atomics.add(next, 0, 1); i < input.references.length; i = Atomics.add(next, 0, 1)) {
        const reference = input.references[i] as string;
        const start = performance.now();
        try {
          const result = await verifier.verify(reference);
          if (result.verifiedSignatures !== 1) failures.push(`${reference}: ${result.verifiedSignatures} verified signatures`);
        } catch (error) {
          failures.push(`${reference}: ${(error as Error).message}`);
        }
        latencies.push(performance.now() - start);
      }
    };
    await Promise.all(Array.from({ length: input.inFlight }, loop));
    clearInterval(sampler);
    sample();
    port.postMessage({ type: 'done', latencies, failures, heap } satisfies WorkerMessage);
  })();
});
port.postMessage({ type: 'ready' } satisfies WorkerMessage);
