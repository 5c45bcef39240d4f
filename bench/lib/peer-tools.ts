/**
 * The peers the issue-16 targets compare with, run from the tools folder the
 * peers' suite builds (peers/build-tools.sh → ~/.cache/sigverify-tools):
 *
 * - sigstore-go: peers/tools/sgo-bench, a Go benchmark of
 *   `verify.Verifier.Verify` on one bundle file (ns/op, one goroutine),
 *   compiled once into the bench's work directory, offline (GOPROXY=off);
 * - cosign v3: the `cosign` binary, for cold `cosign verify` processes.
 *
 * Either is `{ available: false, reason }` when its tools are absent, so the
 * targets that need it are recorded as not measured, with the reason.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type Peer<T> = ({ readonly available: true } & T) | { readonly available: false; readonly reason: string };

/** ~/.cache/sigverify-tools, or SIGVERIFY_TOOLS_CACHE, as peers/build-tools.sh uses it. */
export function toolsCache(): string {
  return process.env['SIGVERIFY_TOOLS_CACHE'] ?? join(homedir(), '.cache', 'sigverify-tools');
}

/** `name version` of every tool in peers/tools.list. */
function toolVersion(repoRoot: string, name: string): string | undefined {
  for (const line of readFileSync(join(repoRoot, 'peers', 'tools.list'), 'utf8').split('\n')) {
    const [tool, , version] = line.trim().split(/\s+/);
    if (tool === name && !line.startsWith('#')) return version;
  }
  return undefined;
}

/** The binary of a tool built by peers/build-tools.sh, if it is there. */
export function toolBinary(repoRoot: string, name: string, binary: string): Peer<{ path: string; version: string }> {
  const version = toolVersion(repoRoot, name);
  if (version === undefined) return { available: false, reason: `${name} is not in peers/tools.list` };
  const path = join(toolsCache(), `${name}-${version}`, 'bin', binary);
  if (!existsSync(path)) return { available: false, reason: `${path} is absent (run peers/build-tools.sh)` };
  return { available: true, path, version };
}

export interface SigstoreGoBench {
  readonly version: string;
  /** ns per `Verify` of the bundle, as `go test -bench` reports it. */
  measure(input: { bundle: string; artifact: string; trustedRoot: string; identity: string; issuer: string; tsa: boolean; benchtime: string }): Promise<number>;
}

/** Compiles peers/tools/sgo-bench into `work` (offline: the module cache must hold sigstore-go, as after peers/build-tools.sh). */
export async function setUpSigstoreGo(repoRoot: string, work: string): Promise<Peer<SigstoreGoBench>> {
  const version = toolVersion(repoRoot, 'sigstore-go');
  if (version === undefined) return { available: false, reason: 'sigstore-go is not in peers/tools.list' };
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOWORK: 'off', GOFLAGS: '-mod=mod', GOPROXY: 'off', CGO_ENABLED: '0', GOCACHE: process.env['GOCACHE'] ?? join(toolsCache(), 'go-build') };
  const binary = join(work, 'sgo-bench.test');
  try {
    await run('go', ['test', '-c', '-o', binary, '.'], { cwd: join(repoRoot, 'peers', 'tools', 'sgo-bench'), env, timeout: 300_000 });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    const message = (stderr ?? (error as Error).message).trim().split('\n').slice(-3).join(' ');
    return { available: false, reason: `cannot build peers/tools/sgo-bench offline: ${message}` };
  }
  return {
    available: true,
    version,
    async measure(input) {
      const { stdout } = await run(binary, ['-test.run', '^$', '-test.bench', '.', '-test.benchtime', input.benchtime], {
        env: {
          ...process.env,
          SGO_BENCH_BUNDLE: input.bundle,
          SGO_BENCH_ARTIFACT: input.artifact,
          SGO_BENCH_TRUSTED_ROOT: input.trustedRoot,
          SGO_BENCH_IDENTITY: input.identity,
          SGO_BENCH_ISSUER: input.issuer,
          SGO_BENCH_TSA: input.tsa ? '1' : '0',
          GOMAXPROCS: '1',
        },
        timeout: 300_000,
      });
      const match = /BenchmarkVerifyBundle\S*\s+\d+\s+([\d.]+) ns\/op/.exec(stdout);
      if (match === null) throw new Error(`sgo-bench printed no ns/op: ${stdout.slice(-500)}`);
      return Number(match[1]);
    },
  };
}
