/** Where packaging reads from and writes to; every path absolute. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Intermediate files (bundle, SEA blob, package trees); .tmp/ is ignored by git. */
export const WORK_DIR = join(REPO_ROOT, '.tmp', 'package');
export const BIN_DIR = join(REPO_ROOT, 'dist-bin');
export const EXECUTABLE = join(BIN_DIR, 'sigverify-linux-x64');
export const PY_DIR = join(REPO_ROOT, 'dist-py');
export const DEB_DIR = join(REPO_ROOT, 'dist-deb');

/** The Node binary the executable is made from: the pinned `node` devDependency, as the one running npm scripts. */
export const NODE_BINARY = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly files: readonly string[];
  readonly dependencies: Readonly<Record<string, string>>;
}

export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
}

/** Every file under `path` (or `path` itself, a file), in name order. */
export function walk(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => walk(join(path, name)));
}
