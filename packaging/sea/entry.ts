/**
 * The main script of the single executable (packaging/sea.ts bundles it with
 * esbuild into one CommonJS file, as Node's SEA loader requires). It is
 * src/cli/bin.ts without two things that have no place in an executable:
 * `module.enableCompileCache()`, because the executable's code cache
 * (`useCodeCache`) already holds the compiled bundle and nothing is loaded
 * from disk; and top-level await, which CommonJS does not have.
 */
import { main } from '../../src/cli/main.ts';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
