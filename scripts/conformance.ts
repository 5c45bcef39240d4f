/**
 * Runs every sigstore-conformance bundle-verify case through the CLI, as the
 * suite's harness does (`verify-bundle …`, pass/fail by exit status only), in
 * file mode and digest mode, and prints `N passed, M failed`.
 * Cases without their own trusted_root.json get the public-good root from
 * ../shared/interop (offline); the suite itself would let the client fetch it.
 * Run: npm run conformance   (builds first)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { conformanceCases } from '../test/helpers/conformance.ts';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'bin.js');
const CONCURRENCY = 4;

function run(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore', env: { PATH: process.env['PATH'], HOME: '/nonexistent' } });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

const runs = conformanceCases().flatMap((c) =>
  (['file', 'digest'] as const).map((mode) => {
    // Arguments in the order of the protocol templates (cli_protocol.md).
    const identity = c.keyPath === undefined ? ['--certificate-identity', c.identity, '--certificate-oidc-issuer', c.issuer] : ['--key', c.keyPath];
    const args = ['verify-bundle', '--bundle', c.bundlePath, ...identity, '--trusted-root', c.trustedRootPath, mode === 'file' ? c.artifactPath : c.artifactDigest];
    return { name: `${c.name} (${mode})`, args, shouldVerify: c.shouldVerify };
  }),
);

let passed = 0;
const failures: string[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < runs.length) {
      const r = runs[next++];
      if (r === undefined) break;
      const code = await run(r.args);
      const ok = r.shouldVerify ? code === 0 : code !== 0 && code !== null;
      if (ok) passed++;
      else failures.push(`${r.name}: exit ${String(code)}, expected ${r.shouldVerify ? '0' : 'non-zero'}`);
    }
  }),
);
for (const f of failures.sort()) console.log(`FAIL ${f}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exitCode = failures.length === 0 ? 0 : 1;
