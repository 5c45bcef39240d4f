import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, REPO_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { DEB, EXECUTABLE, VERSION, built } from './built.ts';

/**
 * dist-deb/sigverify_<version>_amd64.deb (packaging/deb.ts). Its contents
 * and control data are checked everywhere; installing it with apt-get only
 * in CI as root (CI=true), where the machine is thrown away afterwards; the
 * test removes the package again all the same.
 */
const dpkgDeb = (...args: string[]): string => execFileSync('dpkg-deb', args, { encoding: 'utf8' });
const INSTALL = process.env['CI'] === 'true' && process.getuid?.() === 0;

describe.skipIf(!built(DEB, 'test/package/deb'))('dist-deb/sigverify_<version>_amd64.deb', () => {
  let extracted: string | undefined;
  beforeAll(() => {
    extracted = mkdtempSync(join(tmpdir(), 'sigverify-deb-'));
    execFileSync('dpkg-deb', ['--extract', DEB, extracted]);
  });
  afterAll(() => {
    if (extracted !== undefined) rmSync(extracted, { recursive: true, force: true });
  });
  const tree = (): string => extracted ?? '';

  it('matches its SHA256SUMS line', () => {
    const digest = createHash('sha256').update(readFileSync(DEB)).digest('hex');
    expect(readFileSync(join(REPO_ROOT, 'dist-deb', 'SHA256SUMS'), 'utf8')).toBe(`${digest}  sigverify_${VERSION}_amd64.deb\n`);
  });

  it('installs the executable, the man page, the doc files and the units, nothing else', () => {
    const files = dpkgDeb('--contents', DEB).split('\n').filter((line) => line.startsWith('-')).map((line) => {
      const fields = line.split(/\s+/);
      return `${fields[0] ?? ''} ${fields[1] ?? ''} ${fields[5] ?? ''}`;
    });
    expect(files.sort()).toEqual([
      '-rw-r--r-- root/root ./lib/systemd/system/sigverify-log-audit.service',
      '-rw-r--r-- root/root ./lib/systemd/system/sigverify-log-audit.timer',
      '-rw-r--r-- root/root ./lib/systemd/system/sigverify-trust-refresh.service',
      '-rw-r--r-- root/root ./lib/systemd/system/sigverify-trust-refresh.timer',
      '-rw-r--r-- root/root ./usr/share/doc/sigverify/bundled-packages',
      '-rw-r--r-- root/root ./usr/share/doc/sigverify/changelog.gz',
      '-rw-r--r-- root/root ./usr/share/doc/sigverify/copyright',
      '-rw-r--r-- root/root ./usr/share/man/man1/sigverify.1.gz',
      '-rwxr-xr-x root/root ./usr/bin/sigverify',
    ]);
  });

  it('carries the executable byte for byte, and no maintainer scripts (the timer stays disabled)', () => {
    expect(readFileSync(join(tree(), 'usr', 'bin', 'sigverify')).equals(readFileSync(EXECUTABLE))).toBe(true);
    const control = execFileSync('dpkg-deb', ['--ctrl-tarfile', DEB]);
    const members = execFileSync('tar', ['-t'], { input: control, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    expect(members).toEqual(['./', './control', './md5sums']);
  });

  it('has a man page made from the help text, and the Apache-2.0 copyright', () => {
    const man = gunzipSync(readFileSync(join(tree(), 'usr', 'share', 'man', 'man1', 'sigverify.1.gz'))).toString('utf8');
    expect(man).toMatch(/^\.TH SIGVERIFY 1 /);
    expect(man).toContain('sigverify check-module FILE');
    const copyright = readFileSync(join(tree(), 'usr', 'share', 'doc', 'sigverify', 'copyright'), 'utf8');
    expect(copyright).toContain('License: Apache-2.0');
    expect(dpkgDeb('--field', DEB, 'Package', 'Version', 'Architecture')).toBe(`Package: sigverify\nVersion: ${VERSION}\nArchitecture: amd64\n`);
  });

  describe.skipIf(!INSTALL)('installed with apt-get (CI, as root)', () => {
    afterAll(() => {
      execFileSync('dpkg', ['--purge', 'sigverify'], { stdio: 'ignore' });
    });

    it('runs /usr/bin/sigverify: --version and a fixture verify', async () => {
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', DEB], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      expect(await runProcess('/usr/bin/sigverify', ['--version'], { PATH: '/usr/sbin:/sbin' })).toMatchObject({ code: 0, stdout: `sigverify ${VERSION}\n` });
      const verify = await runProcess('/usr/bin/sigverify', ['verify', 'oci:fixtures/layout:signed', '--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', 'fixtures/trust/trusted_root.json'], { PATH: '/usr/sbin:/sbin' });
      expect(verify).toMatchObject({ code: 0, stdout: `oci:fixtures/layout@${fixtureDigest('signed')}\n` });
    }, 120_000);
  });
});
