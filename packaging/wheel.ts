/**
 * Writes the platform wheel `dist-py/sigverify-<version>-py3-none-manylinux_2_28_x86_64.whl`:
 * the Python gate (python/src/sigverify) and the single executable as a
 * script, so `pip install <wheel>` puts `sigverify` in the environment's
 * bin/ and the gate finds it there (as ruff's wheels do). The format is
 * PEP 427 (binary distribution), PEP 376/627 (RECORD) and core metadata 2.4
 * (PEP 639 license files); the zip is written here, so building needs no
 * network and no Python build backend.
 *
 * manylinux_2_28 (PEP 600): the Node 24 binary inside needs glibc 2.28
 * (its highest GLIBC_ symbol version), not 2.17.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PY_DIR, REPO_ROOT, packageJson } from './paths.ts';
import { type ZipEntry, zip } from './zip.ts';

export const WHEEL_TAG = 'py3-none-manylinux_2_28_x86_64';
const PYTHON_DIR = join(REPO_ROOT, 'python');

/** `key = "value"` from pyproject.toml's [project] table: the few plain strings the metadata needs. */
function projectValue(pyproject: string, key: string): string {
  const table = /^\[project\]$([\s\S]*?)(?=^\[)/m.exec(pyproject)?.[1] ?? '';
  const value = new RegExp(`^${key} = "([^"]*)"$`, 'm').exec(table)?.[1];
  if (value === undefined) throw new Error(`python/pyproject.toml: [project] has no ${key}`);
  return value;
}

function recordHash(data: Buffer): string {
  return `sha256=${createHash('sha256').update(data).digest('base64url')}`;
}

export function buildWheel(executable: string): string {
  const pyproject = readFileSync(join(PYTHON_DIR, 'pyproject.toml'), 'utf8');
  const version = packageJson().version;
  if (projectValue(pyproject, 'version') !== version) {
    throw new Error(`python/pyproject.toml version ${projectValue(pyproject, 'version')} differs from package.json ${version}`);
  }
  const name = 'sigverify';
  const distInfo = `${name}-${version}.dist-info`;
  const source = join(PYTHON_DIR, 'src', name);
  const entries: ZipEntry[] = readdirSync(source)
    .filter((file) => file.endsWith('.py') || file === 'py.typed')
    .sort()
    .map((file) => ({ name: `${name}/${file}`, data: readFileSync(join(source, file)) }));
  entries.push({ name: `${name}-${version}.data/scripts/sigverify`, data: readFileSync(executable), mode: 0o755 });
  const metadata = [
    'Metadata-Version: 2.4',
    `Name: ${name}`,
    `Version: ${version}`,
    `Summary: ${projectValue(pyproject, 'description')}`,
    `License-Expression: ${projectValue(pyproject, 'license')}`,
    'License-File: LICENSE',
    `Requires-Python: ${projectValue(pyproject, 'requires-python')}`,
    'Provides-Extra: test',
    "Requires-Dist: pytest>=8; extra == 'test'",
    'Description-Content-Type: text/markdown',
    '',
    readFileSync(join(PYTHON_DIR, 'README.md'), 'utf8'),
  ].join('\n');
  entries.push(
    { name: `${distInfo}/METADATA`, data: Buffer.from(metadata) },
    { name: `${distInfo}/WHEEL`, data: Buffer.from(`Wheel-Version: 1.0\nGenerator: sigverify packaging/wheel.ts\nRoot-Is-Purelib: false\nTag: ${WHEEL_TAG}\n`) },
    { name: `${distInfo}/licenses/LICENSE`, data: readFileSync(join(REPO_ROOT, 'LICENSE')) },
    { name: `${distInfo}/CHANGELOG.md`, data: readFileSync(join(REPO_ROOT, 'CHANGELOG.md')) },
  );
  const record = [...entries.map((e) => `${e.name},${recordHash(e.data)},${e.data.length}`), `${distInfo}/RECORD,,`, ''].join('\n');
  entries.push({ name: `${distInfo}/RECORD`, data: Buffer.from(record) });

  rmSync(PY_DIR, { recursive: true, force: true });
  mkdirSync(PY_DIR, { recursive: true });
  const wheel = join(PY_DIR, `${name}-${version}-${WHEEL_TAG}.whl`);
  writeFileSync(wheel, zip(entries));
  return wheel;
}
