import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { arch, hostname, release, type, version } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isEmbedded, packageDirectory } from '../shipped.ts';

/**
 * Installation integrity for the IQ/OQ record: what exactly was qualified.
 * A file is named by its sha256; a directory by the sha256 of its manifest,
 * the lines `<sha256>  <path>\n` of every file under it sorted by path (byte
 * order) — what `find … -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`
 * prints, so a reviewer can recompute every value with coreutils.
 */
export interface HashedFile {
  readonly path: string;
  readonly sha256: string;
}

export interface HashedTree {
  /** The directory, and the entries (relative to it) the manifest covers. */
  readonly path: string;
  readonly entries: readonly string[];
  readonly files: number;
  readonly sha256: string;
}

export interface Installation {
  /** The program that ran: the sigverify single executable, or the Node.js binary running the package. */
  readonly executable: HashedFile;
  /** The package's code and shipped files (absent for the single executable: its hash covers them). */
  readonly package?: HashedTree;
  /** The qualification kit (absent when it is carried inside the single executable). */
  readonly kit?: HashedTree;
}

export interface SystemIdentity {
  readonly hostname: string;
  /** `Linux 6.1.0-28-amd64` */
  readonly os: string;
  /** The kernel's build string (`#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 …`). */
  readonly kernel: string;
  readonly arch: string;
}

export function systemIdentity(): SystemIdentity {
  return { hostname: hostname(), os: `${type()} ${release()}`, kernel: version(), arch: arch() };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function filesUnder(root: string, entry: string): Promise<string[]> {
  const full = join(root, entry);
  let dirents;
  try {
    dirents = await readdir(full, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return [entry];
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: string[] = [];
  for (const d of dirents) {
    const child = `${entry}/${d.name}`;
    if (d.isDirectory()) out.push(...(await filesUnder(root, child)));
    else if (d.isFile()) out.push(child);
  }
  return out;
}

/** The manifest digest of `entries` (files or directories) under `root`; see the module comment. */
export async function hashTree(root: string, entries: readonly string[]): Promise<HashedTree> {
  const files = (await Promise.all(entries.map((e) => filesUnder(root, e)))).flat();
  const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  files.sort(byteOrder);
  const manifest = createHash('sha256');
  for (const file of files) manifest.update(`${await sha256File(join(root, file))}  ${file}\n`);
  return { path: root, entries, files: files.length, sha256: manifest.digest('hex') };
}

/** Where this module runs from: `dist` (the installed package) or `src` (a checkout, under a TypeScript-aware runner). */
function codeDirectory(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return relative(packageDirectory(), join(here, '..')).split(sep).join('/') || 'dist';
}

/** Hashes the executable, the package and the kit that this run uses. */
export async function installationIntegrity(kitDirectory: string | undefined): Promise<Installation> {
  const executable = { path: process.execPath, sha256: await sha256File(process.execPath) };
  if (isEmbedded()) return { executable };
  const pkg = await hashTree(packageDirectory(), [codeDirectory(), 'package.json', 'schemas', 'trust-root']);
  return { executable, package: pkg, ...(kitDirectory === undefined ? {} : { kit: await hashTree(kitDirectory, ['.']) }) };
}
