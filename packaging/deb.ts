/**
 * Writes `dist-deb/sigverify_<version>_amd64.deb` with dpkg-deb: the single
 * executable as /usr/bin/sigverify, sigverify(1) from the help text, the
 * trust-refresh and log-audit services and timers (not enabled: the package has no
 * maintainer scripts), and /usr/share/doc/sigverify/{copyright,changelog.gz,bundled-packages}.
 * Debian Policy §12.5: the copyright file names Apache-2.0 and points at
 * /usr/share/common-licenses/Apache-2.0 (base-files), which holds its full
 * text on every Debian system.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { manPage } from './manpage.ts';
import { DEB_DIR, REPO_ROOT, WORK_DIR, packageJson, walk } from './paths.ts';

/** From the executable's dynamic symbol versions: GLIBC_2.28 and GLIBCXX_3.4.21 (GCC 5). */
const DEPENDS = 'libc6 (>= 2.28), libgcc-s1 (>= 3.0), libstdc++6 (>= 5.2)';

function write(root: string, path: string, data: Buffer | string, mode = 0o644): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  chmodSync(file, mode);
}

export function buildDeb(executable: string, bundledPackages: string, sourceDateEpoch: number): string {
  const { version, description } = packageJson();
  const root = join(WORK_DIR, 'deb');
  rmSync(root, { recursive: true, force: true });

  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  copyFileSync(executable, join(root, 'usr', 'bin', 'sigverify'));
  chmodSync(join(root, 'usr', 'bin', 'sigverify'), 0o755);
  const help = execFileSync(executable, ['--help'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  const date = new Date(sourceDateEpoch * 1000).toISOString().slice(0, 10);
  // gzip -9n: no name, no timestamp in the header (Debian Policy §12.1 asks for -9n).
  write(root, 'usr/share/man/man1/sigverify.1.gz', gzipSync(manPage({ version, help, date }), { level: 9 }));
  for (const unit of ['sigverify-trust-refresh.service', 'sigverify-trust-refresh.timer', 'sigverify-log-audit.service', 'sigverify-log-audit.timer']) {
    write(root, `lib/systemd/system/${unit}`, readFileSync(join(REPO_ROOT, 'packaging', 'deb', unit)));
  }
  write(root, 'usr/share/doc/sigverify/copyright', [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: sigverify',
    '',
    'Files: *',
    'Copyright: the sigverify authors',
    'License: Apache-2.0',
    '',
    'License: Apache-2.0',
    ' Licensed under the Apache License, Version 2.0 (the "License"); you may not',
    ' use this file except in compliance with the License.',
    ' .',
    ' On Debian systems, the full text of the Apache License, Version 2.0 is in',
    ' /usr/share/common-licenses/Apache-2.0.',
    ' .',
    ' /usr/bin/sigverify contains Node.js (MIT; its bundled libraries under their',
    ' own licences, https://github.com/nodejs/node/blob/main/LICENSE) and the npm',
    ' packages listed, with their licences, in /usr/share/doc/sigverify/bundled-packages.',
    '',
  ].join('\n'));
  write(root, 'usr/share/doc/sigverify/bundled-packages', bundledPackages);
  write(root, 'usr/share/doc/sigverify/changelog.gz', gzipSync(readFileSync(join(REPO_ROOT, 'CHANGELOG.md')), { level: 9 }));

  const files = walk(root).filter((f) => !f.startsWith(join(root, 'DEBIAN')));
  const installedKiB = Math.ceil(files.reduce((sum, f) => sum + statSync(f).size, 0) / 1024);
  write(root, 'DEBIAN/md5sums', files.map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(root, f)}\n`).join(''));
  write(root, 'DEBIAN/control', [
    'Package: sigverify',
    `Version: ${version}`,
    'Architecture: amd64',
    'Maintainer: sigverify maintainers <sigverify@localhost>',
    `Installed-Size: ${installedKiB}`,
    `Depends: ${DEPENDS}`,
    'Section: admin',
    'Priority: optional',
    `Description: ${description}`,
    ' A single executable (Node.js inside) that checks what `cosign verify`',
    ' checks, with no cosign binary: certificate chain, SCT, Rekor entry,',
    ' identity policy, and the signed payload naming the digest it returns.',
    '',
  ].join('\n'));
  for (const path of walk(root)) utimesSync(path, sourceDateEpoch, sourceDateEpoch);

  rmSync(DEB_DIR, { recursive: true, force: true });
  mkdirSync(DEB_DIR, { recursive: true });
  const deb = join(DEB_DIR, `sigverify_${version}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SOURCE_DATE_EPOCH: String(sourceDateEpoch) } });
  return deb;
}
