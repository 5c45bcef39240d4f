/**
 * The main script of the single executable (packaging/sea.ts bundles it with
 * esbuild into one CommonJS file, as Node's SEA loader requires). It is
 * src/cli/bin.ts without three things that have no place in an executable:
 * the Node version check (the executable is its own Node);
 * `module.enableCompileCache()`, which inside a SEA succeeds but only creates
 * a directory under the tmpdir, because the main script is not loaded through
 * the module loader that cache serves (the executable's own code cache,
 * `useCodeCache`, holds the compiled bundle instead); and top-level await,
 * which CommonJS does not have.
 */
import { main } from '../../src/cli/main.ts';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
