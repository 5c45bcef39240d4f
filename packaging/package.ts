/**
 * `npm run package`: the single executable, the platform wheel and the Debian
 * package, each directory with a SHA256SUMS that `sha256sum -c` checks.
 *
 *   dist-bin/sigverify-linux-x64   dist-bin/SHA256SUMS
 *   dist-py/sigverify-<v>-py3-none-manylinux_2_28_x86_64.whl   dist-py/SHA256SUMS
 *   dist-deb/sigverify_<v>_amd64.deb   dist-deb/SHA256SUMS
 *
 * SOURCE_DATE_EPOCH (reproducible-builds.org) dates the man page and the
 * .deb's files; default, the last commit's time.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildDeb } from './deb.ts';
import { REPO_ROOT } from './paths.ts';
import { buildExecutable } from './sea.ts';
import { buildWheel } from './wheel.ts';

function writeSums(files: readonly string[]): void {
  const directory = dirname(files[0] ?? '.');
  const lines = files.map((file) => `${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${basename(file)}\n`);
  writeFileSync(join(directory, 'SHA256SUMS'), lines.join(''));
}

function report(path: string): void {
  console.log(`${path}  ${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB`);
}

const sourceDateEpoch = Number(process.env['SOURCE_DATE_EPOCH'] ?? execFileSync('git', ['-C', REPO_ROOT, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim());
if (!Number.isInteger(sourceDateEpoch)) throw new Error('SOURCE_DATE_EPOCH must be an integer (seconds since 1970)');

const executable = await buildExecutable();
writeSums([executable.path]);
report(executable.path);

const wheel = buildWheel(executable.path);
writeSums([wheel]);
report(wheel);

const deb = buildDeb(executable.path, executable.bundledPackages, sourceDateEpoch);
writeSums([deb]);
report(deb);
