/**
 * The main script of the single executable (packaging/sea.ts bundles it with
 * esbuild into one CommonJS file, as Node's SEA loader requires). It is
 * src/cli/bin.ts without three things that have no place in an executable:
 * the Node version check (the executable is its own Node);
 * `module.enableCompileCache()`, which inside a SEA succeeds but only creates
 * a directory under the tmpdir, because the main script is not loaded through
 * the module loader that cache serves; and top-level await, which CommonJS
 * does not have.
 *
 * The executable starts from a V8 startup snapshot (`useSnapshot`): this
 * script runs once, while the executable is built, and the heap it leaves —
 * every module below evaluated — is what each run starts from; the function
 * given to `setDeserializeMainFunction` is the run. So nothing evaluated here
 * may depend on the process that runs it (src/shipped.ts, `valueAtStartup`),
 * and test/package/snapshot.test.ts checks that the executable's answers are
 * the running process's.
 */
import { startupSnapshot } from 'node:v8';
import { main } from '../../src/cli/main.ts';
// src/cli/main.ts loads each command when it runs; verification, the command
// a cold start is measured by, is evaluated into the snapshot instead.
import '../../src/cli/verify.ts';

function run(): void {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

/**
 * While the snapshot is built, one fixture verification (the arguments in
 * SIGVERIFY_SNAPSHOT_WARMUP, a JSON array, set by packaging/sea.ts): V8
 * compiles functions when they first run, and zod generates its parsers on
 * first use, so a verification run here leaves their code in the snapshot
 * instead of to every run. It reads only local files (an OCI layout, a pinned
 * trusted_root.json): no connection, no TUF cache, no randomness; the shipped
 * files and the version are not located at all (src/shipped.ts refuses).
 */
function warmUp(args: readonly string[]): void {
  const output: string[] = [];
  let done = false;
  startupSnapshot.addSerializeCallback(() => {
    if (!done) throw new Error('the warm-up verification had not finished when the startup snapshot was taken');
  });
  void main(args, { stdout: (text) => output.push(text), stderr: (text) => output.push(text) }).then((code) => {
    if (code !== 0) throw new Error(`the warm-up verification failed (exit ${code}):\n${output.join('')}`);
    done = true;
  });
}

if (startupSnapshot.isBuildingSnapshot()) {
  const warmUpArgs = process.env['SIGVERIFY_SNAPSHOT_WARMUP'];
  if (warmUpArgs !== undefined) warmUp(JSON.parse(warmUpArgs) as string[]);
  startupSnapshot.setDeserializeMainFunction(run);
} else {
  run();
}
