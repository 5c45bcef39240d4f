/**
 * Builds the single executable `dist-bin/sigverify-linux-x64`: the CLI bundled
 * by esbuild into one CommonJS file, made into a SEA preparation blob by the
 * pinned Node 24 (`--experimental-sea-config`), and injected with postject
 * into a copy of that same Node binary (Node's "Single executable
 * applications" documentation describes the three steps and the fuse).
 *
 *   node packaging/sea.ts
 *
 * The shipped files the CLI reads at run time (src/shipped.ts) go in as SEA
 * assets under their paths in the package. The executable starts from a V8
 * startup snapshot (`useSnapshot`): the bundle is evaluated once, here, and a
 * fixture verification run (packaging/sea/entry.ts), so each run starts with
 * the modules evaluated and the verification code compiled instead of doing
 * both again (packaging/README.md, "Startup snapshot", has the measurement).
 * What depends on the running process is computed by the run: src/shipped.ts,
 * `valueAtStartup`; test/package/snapshot.test.ts checks it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Metafile, build } from 'esbuild';
import { inject } from 'postject';
import { BIN_DIR, EXECUTABLE, NODE_BINARY, REPO_ROOT, WORK_DIR, packageJson, walk } from './paths.ts';

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

/** The fixture verification run while the snapshot is built (scripts/demo.sh's): an OCI layout, a pinned trusted_root.json. */
const WARM_UP_VERIFY = [
  'verify', `oci:${join(REPO_ROOT, 'fixtures', 'layout')}:signed`,
  '--certificate-identity', 'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0',
  '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com',
  '--trusted-root', join(REPO_ROOT, 'fixtures', 'trust', 'trusted_root.json'),
];

export interface Executable {
  readonly path: string;
  /** `name version licence` of every npm package bundled into it, one a line. */
  readonly bundledPackages: string;
}

/** The npm packages esbuild took files from, by the node_modules/ paths in its metafile (relative to REPO_ROOT). */
function bundledPackages(metafile: Metafile): string {
  const lines = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const at = input.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const [scope = '', name = ''] = input.slice(at + 'node_modules/'.length).split('/');
    const directory = join(REPO_ROOT, input.slice(0, at), 'node_modules', scope.startsWith('@') ? join(scope, name) : scope);
    const meta = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
    lines.add(`${meta.name} ${meta.version} ${meta.license ?? 'UNKNOWN'}\n`);
  }
  return [...lines].sort().join('');
}

/**
 * zod is imported as a namespace (`import * as z from 'zod'`) throughout src/,
 * so esbuild keeps only the parts of it sigverify uses: with one
 * `import { z } from 'zod'`, the `z` object holds all of zod and the bundle all
 * of it, 60-odd locales included (about 0.6 MB more script, and 6 ms of every
 * cold `verify` to deserialise). Checked here, where it shows.
 */
function checkZodTreeShaken(metafile: Metafile): void {
  const kept = Object.values(metafile.outputs).flatMap((output) => Object.entries(output.inputs))
    .filter(([input, { bytesInOutput }]) => /node_modules\/zod\/v4\/locales\/(?!en\.js$|index\.js$)/.test(input) && bytesInOutput > 0);
  if (kept.length > 0) {
    throw new Error(`the bundle holds ${kept.length} zod locales: some module imports { z } from 'zod' instead of * as z`);
  }
}

export async function buildExecutable(output: string = EXECUTABLE): Promise<Executable> {
  const work = join(WORK_DIR, 'sea');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const bundle = join(work, 'sigverify.cjs');
  const { metafile } = await build({
    metafile: true,
    absWorkingDir: REPO_ROOT,
    entryPoints: [join(REPO_ROOT, 'packaging', 'sea', 'entry.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    outfile: bundle,
    // No source map: the executable carries no sources to map to.
    sourcemap: false,
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    logLevel: 'warning',
    // import.meta.url is read only outside an executable (src/shipped.ts and src/version.ts check first).
    logOverride: { 'empty-import-meta': 'silent' },
  });

  checkZodTreeShaken(metafile);

  const assets: Record<string, string> = {};
  for (const file of shippedFiles()) assets[file] = join(REPO_ROOT, file);
  const blob = join(work, 'sea-prep.blob');
  const config = {
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    // A snapshot holds the compiled code itself; Node says a code cache beside it is redundant.
    useSnapshot: true,
    assets,
  };
  writeFileSync(join(work, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
  // The build runs the bundle to take the snapshot, with the warm-up verification's arguments (packaging/sea/entry.ts).
  execFileSync(NODE_BINARY, ['--experimental-sea-config', join(work, 'sea-config.json')], {
    stdio: 'inherit',
    env: { ...process.env, SIGVERIFY_SNAPSHOT_WARMUP: JSON.stringify(WARM_UP_VERIFY) },
  });

  mkdirSync(BIN_DIR, { recursive: true });
  rmSync(output, { force: true });
  copyFileSync(NODE_BINARY, output);
  chmodSync(output, 0o755);
  // Node's release binary carries its symbol table and debug information (about 18 MB) that
  // the executable never reads; Debian strips what it installs as well (Policy §10.1).
  execFileSync('strip', ['--strip-all', output]);
  await inject(output, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  return { path: output, bundledPackages: bundledPackages(metafile) };
}

if (import.meta.main) {
  const { path } = await buildExecutable();
  console.log(`${path}: ${statSync(path).size} bytes`);
}
