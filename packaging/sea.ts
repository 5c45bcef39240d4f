/**
 * Builds the single executable `dist-bin/sigverify-linux-x64`: the CLI bundled
 * by esbuild into one CommonJS file, made into a SEA preparation blob by the
 * pinned Node 24 (`--experimental-sea-config`), and injected with postject
 * into a copy of that same Node binary (Node's "Single executable
 * applications" documentation describes the three steps and the fuse).
 *
 *   node packaging/sea.ts [--snapshot]
 *
 * The shipped files the CLI reads at run time (src/shipped.ts) go in as SEA
 * assets under their paths in the package. `--snapshot` builds with
 * `useSnapshot` instead of `useCodeCache`, to measure it (see README,
 * "Install"); the release build does not use it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { inject } from 'postject';
import { BIN_DIR, EXECUTABLE, NODE_BINARY, REPO_ROOT, WORK_DIR, packageJson } from './paths.ts';

/** Node's SEA fuse: the string postject flips so the binary looks for its blob (Node's SEA documentation). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** What the npm package ships beside dist/ (package.json `files`), minus dist/ itself. */
function shippedFiles(): string[] {
  const files = ['package.json'];
  for (const entry of packageJson().files) {
    if (entry === 'dist') continue;
    files.push(...walk(join(REPO_ROOT, entry)).map((file) => relative(REPO_ROOT, file)));
  }
  // The dependencies are bundled; their package.json files give doctor and qualify their versions (src/version.ts).
  // npm installs direct dependencies at the top of node_modules/.
  for (const name of Object.keys(packageJson().dependencies)) files.push(`node_modules/${name}/package.json`);
  return files.sort();
}

function walk(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => walk(join(path, name)));
}

export async function buildExecutable(options: { snapshot?: boolean; output?: string } = {}): Promise<string> {
  const work = join(WORK_DIR, options.snapshot === true ? 'sea-snapshot' : 'sea');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const bundle = join(work, 'sigverify.cjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'packaging', 'sea', options.snapshot === true ? 'snapshot-entry.ts' : 'entry.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    outfile: bundle,
    // No source map: the executable carries no sources to map to.
    sourcemap: false,
    legalComments: 'eof',
    logLevel: 'warning',
    // import.meta.url is read only outside an executable (src/shipped.ts and src/version.ts check first).
    logOverride: { 'empty-import-meta': 'silent' },
  });

  const assets: Record<string, string> = {};
  for (const file of shippedFiles()) assets[file] = join(REPO_ROOT, file);
  const blob = join(work, 'sea-prep.blob');
  const config = {
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: options.snapshot === true,
    // V8 ignores the code cache when it starts from a snapshot (Node's SEA documentation).
    useCodeCache: options.snapshot !== true,
    assets,
  };
  writeFileSync(join(work, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
  execFileSync(NODE_BINARY, ['--experimental-sea-config', join(work, 'sea-config.json')], { stdio: 'inherit' });

  const output = options.output ?? EXECUTABLE;
  mkdirSync(BIN_DIR, { recursive: true });
  rmSync(output, { force: true });
  copyFileSync(NODE_BINARY, output);
  chmodSync(output, 0o755);
  await inject(output, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  return output;
}

if (import.meta.main) {
  const snapshot = process.argv.includes('--snapshot');
  const output = await buildExecutable(snapshot ? { snapshot, output: join(BIN_DIR, 'sigverify-linux-x64-snapshot') } : {});
  console.log(`${output}: ${statSync(output).size} bytes`);
}
