import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/fixtures.ts';

export const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What `npm run package` writes (packaging/paths.ts). */
export const EXECUTABLE = join(REPO_ROOT, 'dist-bin', 'sigverify-linux-x64');
export const DEB = join(REPO_ROOT, 'dist-deb', `sigverify_${VERSION}_amd64.deb`);

/**
 * Whether the package tests can run: `npm run package` has been run. `npm test`
 * does not build packages (a minute and a half, 100 MB); `.ci/run` packages
 * before it tests, so in CI (CI=true) a missing package fails instead of
 * skipping. The notice is printed while collecting, outside any test.
 */
export function built(path: string, what: string): boolean {
  if (existsSync(path)) return true;
  if (process.env['CI'] === 'true') throw new Error(`${path} is missing: .ci/run runs "npm run package" before the tests`);
  console.warn(`${what}: skipped, ${path} is not built (run "npm run package")`);
  return false;
}

/**
 * A PATH with no node on it: one empty directory. The executable needs
 * nothing from PATH, and nothing it starts can find a node either.
 */
export function pathWithoutNode(): string {
  return mkdtempSync(join(tmpdir(), 'sigverify-no-node-'));
}
