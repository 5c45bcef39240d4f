/**
 * Issue 14 figures: what `sigverify log audit` costs per entry, in-process
 * (no network: the logs of test/monitor/fake-logs.ts behind an injected
 * fetch), so the figure is the monitor's own work: verifying checkpoints,
 * proofs computed or checked, SETs, certificate chains and SCTs.
 *
 *   Rekor v1: BENCH_V1_ENTRIES entries of the watched signer (search, batched retrieval).
 *   Rekor v2: BENCH_V2_ENTRIES entries, one in BENCH_V2_WATCHED_EVERY by the watched
 *             signer (every entry is read and proven included; watched ones also chain-checked).
 *   Then a second run after BENCH_GROWTH more entries per log (consistency + only the new).
 *
 * Run: node bench/log-monitor.ts   (peers/monitor.ts prints the same figures against the real logs)
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { trustedRootFile } from '../src/index.ts';
import { type LogMonitorReport, runLogMonitor } from '../src/monitor/index.ts';
import { FakeRekorV1, FakeRekorV2, ISSUER, V1_URL, V2_URL, WATCHED, createFixture, fakeFetch, signArtifact, v1Body, v2Body } from '../test/monitor/fake-logs.ts';

const V1_ENTRIES = Number(process.env.BENCH_V1_ENTRIES ?? 1000);
const V2_ENTRIES = Number(process.env.BENCH_V2_ENTRIES ?? 20_000);
const V2_WATCHED_EVERY = Number(process.env.BENCH_V2_WATCHED_EVERY ?? 100);
const GROWTH = Number(process.env.BENCH_GROWTH ?? 500);

const fx = await createFixture();
const v1 = new FakeRekorV1(fx);
const v2 = new FakeRekorV2(fx);
const watched = signArtifact(fx);
const other = signArtifact(fx, 'someone-else@sigverify.test');
process.stderr.write(`bench: building logs (${V1_ENTRIES} Rekor v1, ${V2_ENTRIES} Rekor v2 entries)\n`);
// One certificate reused: entry bodies must differ, so each gets its own digest.
const body = (version: 1 | 2, signer: typeof watched, i: number): Buffer => {
  const s = { ...signer, digest: `sha256:${i.toString(16).padStart(64, '0')}` };
  return version === 1 ? v1Body(s) : v2Body(s);
};
for (let i = 0; i < V1_ENTRIES; i++) v1.add(body(1, watched, i));
for (let i = 0; i < V2_ENTRIES; i++) v2.add(body(2, i % V2_WATCHED_EVERY === 0 ? watched : other, i));
v1.freeze();

const state = join(fx.dir, 'state');
const counter = { requests: 0 };
async function run(): Promise<{ report: LogMonitorReport; ms: Record<number, number> }> {
  const ms: Record<number, number> = {};
  let report: LogMonitorReport | undefined;
  for (const version of [1, 2] as const) {
    const t0 = performance.now();
    report = await runLogMonitor({
      logs: [{ url: version === 1 ? V1_URL : V2_URL, version }],
      watch: [{ identity: WATCHED, issuer: ISSUER }],
      trust: trustedRootFile(fx.trustedRootPath),
      stateDirectory: state,
      approvals: {},
      fetch: fakeFetch([{ base: V1_URL, handle: v1.handle }, { base: V2_URL, handle: v2.handle }], counter),
    });
    ms[version] = performance.now() - t0;
    const log = report.logs[0];
    if (log?.error !== undefined) throw new Error(`Rekor v${version}: [${log.error.code}] ${log.error.message}`);
    process.stdout.write(`Rekor v${version}: ${log?.entriesScanned ?? 0} entries scanned (${log?.matches ?? 0} by the watched signer) in ${(ms[version] / 1000).toFixed(2)} s = ${((log?.entriesScanned ?? 0) / (ms[version] / 1000)).toFixed(0)} entries/s; ${log?.requests ?? 0} requests = ${((log?.requests ?? 0) / Math.max(1, log?.entriesScanned ?? 0)).toFixed(3)} requests/entry; consistency ${log?.consistency ?? '?'}\n`);
  }
  return { report: report as LogMonitorReport, ms };
}
process.stdout.write('first run (whole logs):\n');
await run();
for (let i = 0; i < GROWTH; i++) {
  v1.add(body(1, watched, V1_ENTRIES + i));
  v2.add(body(2, i % V2_WATCHED_EVERY === 0 ? watched : other, V2_ENTRIES + i));
}
v1.freeze();
process.stdout.write(`second run (${GROWTH} new entries per log; Rekor v1 re-reads every entry its search lists):\n`);
await run();
await rm(fx.dir, { recursive: true, force: true });
