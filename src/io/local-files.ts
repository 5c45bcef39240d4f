import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SigverifyError } from '../errors.ts';
import { embeddedFile } from '../shipped.ts';
import { quote } from '../text/quote.ts';
import { readHandleCapped } from './read-capped.ts';

/**
 * Local files are attack surface. What sigverify trusts from the file system
 * (trusted roots, keys, module policies, the TUF cache whose cached root
 * decides every later verdict, the result cache) must belong to this user or
 * to root, and no one else may be able to change it:
 *
 * - a trust, key or policy file owned by another user, or writable by group
 *   or others, is refused (someone else could have written it, or may yet);
 * - a private directory (caches, state) is created 0700 and used only if it
 *   is a real directory (no symbolic link), owned by this user (or root) and
 *   not writable by group or others; whoever creates a shared path first
 *   (`/tmp/…`) does not get to choose what is in it;
 * - files are opened with O_NOFOLLOW and checked on the open descriptor, so
 *   the file checked is the file read;
 * - files are written through a temporary file created exclusively under a
 *   random name, then renamed: a planted symbolic link cannot redirect the
 *   write, and a reader never sees half a file.
 *
 * Every refusal is LOCAL_FILE_UNSAFE, naming the path and what is wrong.
 */

/** What a file is, for messages: "trusted_root.json", "public key", "TUF cache". */
export type FileRole = string;

function currentUid(): number | undefined {
  return process.getuid?.();
}

/** This user, or root (a file root owns is as trusted as the system itself). */
function trustedOwner(uid: number): boolean {
  const me = currentUid();
  return me === undefined || uid === me || uid === 0;
}

function unsafe(role: FileRole, path: string, problem: string): SigverifyError {
  return new SigverifyError('LOCAL_FILE_UNSAFE', `${role} ${quote(path)} ${problem}; refusing to trust it`, { details: { path, problem } });
}

/** Why a file or directory's status makes it untrustworthy, or undefined when it is fine. */
function problemOf(info: { uid: number; mode: number }): string | undefined {
  if (!trustedOwner(info.uid)) return `belongs to another user (uid ${info.uid})`;
  if ((info.mode & 0o022) !== 0) return `is writable by group or others (mode ${(info.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * Reads a trust, key or policy file: a regular file (no symbolic link) this
 * user or root owns and no one else can write, at most `maxBytes`.
 * Resolves undefined when it holds more; other file-system errors (ENOENT,
 * EACCES) reject as they are, for the caller to classify.
 */
export async function readOwnedFile(path: string, maxBytes: number, role: FileRole): Promise<Buffer | undefined> {
  // A file the single executable carries is as trusted as the executable itself (src/shipped.ts).
  const embedded = embeddedFile(path);
  if (embedded !== undefined) return embedded.length > maxBytes ? undefined : embedded;
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ELOOP') throw unsafe(role, path, 'is a symbolic link');
    throw cause;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw unsafe(role, path, 'is not a regular file');
    const problem = problemOf(info);
    if (problem !== undefined) throw unsafe(role, path, problem);
    return await readHandleCapped(handle, maxBytes);
  } finally {
    await handle.close();
  }
}

/** Like {@link readOwnedFile}, but a missing file is undefined rather than an error (cache entries). */
export async function readOwnedFileIfPresent(path: string, maxBytes: number, role: FileRole): Promise<{ bytes: Buffer | undefined } | undefined> {
  try {
    return { bytes: await readOwnedFile(path, maxBytes, role) };
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cause;
  }
}

/**
 * Checks an existing private directory; resolves false when it does not
 * exist. A symbolic link, another owner, or group/other write access is
 * LOCAL_FILE_UNSAFE.
 */
export async function checkPrivateDirectory(path: string, role: FileRole): Promise<boolean> {
  let info;
  try {
    info = await lstat(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw cause;
  }
  if (info.isSymbolicLink()) throw unsafe(role, path, 'is a symbolic link');
  if (!info.isDirectory()) throw unsafe(role, path, 'is not a directory');
  const problem = problemOf(info);
  if (problem !== undefined) throw unsafe(role, path, problem);
  return true;
}

/** Creates a private directory (0700, parents as needed) or checks the one that is there. */
export async function ensurePrivateDirectory(path: string, role: FileRole): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await checkPrivateDirectory(path, role);
}

/**
 * Writes `bytes` to `path` (mode 0600) through an exclusively created,
 * randomly named temporary file in the same directory, then renames it into
 * place. File-system errors reject as they are.
 */
export async function writePrivateFile(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${dirname(path)}/.${randomBytes(12).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (cause) {
    await unlink(temporary).catch(() => undefined);
    throw cause;
  }
}

/**
 * A directory relative paths may be resolved against: never one anyone may
 * write (`/tmp`, `/var/tmp`, `/dev/shm`), where another user could plant the
 * file a relative path names. A directory that does not exist yet is judged
 * by its nearest existing ancestor (whoever may write there may create it).
 */
export async function checkBaseDirectory(path: string, role: FileRole): Promise<void> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    let info;
    try {
      info = await stat(dir);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(dir) !== dir) continue;
      throw new SigverifyError('USAGE', `${role} ${quote(path)} cannot be read: ${(cause as Error).message}`, { cause });
    }
    if (!info.isDirectory()) throw new SigverifyError('USAGE', `${role} ${quote(path)} is not a directory`);
    if ((info.mode & 0o002) !== 0) {
      throw unsafe(role, dir, 'is writable by everyone (a temporary directory?): relative paths must not resolve against it');
    }
    return;
  }
}

/**
 * A PEM public key file (`--key`, `signature_public_key_file`): read as
 * {@link readOwnedFile}; unreadable or over the cap is KEY_INVALID, prefixed
 * with `member` (the policy member that named it) when there is one.
 */
export async function readKeyFile(path: string, maxBytes: number, member?: string): Promise<string> {
  const at = member === undefined ? '' : `${member}: `;
  const details = member === undefined ? {} : { details: { path: member } };
  let bytes;
  try {
    bytes = await readOwnedFile(path, maxBytes, 'public key');
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('KEY_INVALID', `${at}cannot read public key ${path}: ${(cause as Error).message}`, { cause, ...details });
  }
  if (bytes === undefined) throw new SigverifyError('KEY_INVALID', `${at}public key ${path} is larger than ${maxBytes} bytes`, details);
  return bytes.toString('utf8');
}

/** {@link readOwnedFile}, with LIMIT_EXCEEDED for a file over the cap. */
export async function readOwnedCapped(path: string, maxBytes: number, role: FileRole): Promise<Buffer> {
  const bytes = await readOwnedFile(path, maxBytes, role);
  if (bytes === undefined) throw new SigverifyError('LIMIT_EXCEEDED', `${role} ${quote(path)} is larger than ${maxBytes} bytes`);
  return bytes;
}
