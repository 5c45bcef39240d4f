import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

/**
 * The files shipped with sigverify beside its code: package.json, the pinned
 * TUF roots (`trust-root/`) and the qualification kit (`fixtures/`).
 *
 * From the npm package they are on disk, one directory above both `src/` and
 * `dist/`. The single executable (packaging/sea.ts) carries them as SEA assets
 * under the same relative names and presents them at paths inside the
 * executable itself (`/usr/bin/sigverify/fixtures/…`): no file system can hold
 * such a path (the executable is a file, not a directory), so an embedded path
 * never shadows a real file, and messages still name where a file comes from.
 * The two readers of local files, `readFileCapped` (io/read-capped.ts) and
 * `readOwnedFile` (io/local-files.ts), serve them; a file the executable
 * carries is as trusted as the executable.
 */
const EMBEDDED = isSea();

/** The directory the shipped files are under: the package root, or the executable. */
export const PACKAGE_DIRECTORY: string = EMBEDDED ? process.execPath : fileURLToPath(new URL('..', import.meta.url));

/** The path of a shipped file, `relativePath` written with `/`. */
export function shippedPath(relativePath: string): string {
  return join(PACKAGE_DIRECTORY, ...relativePath.split('/'));
}

/**
 * The bytes of the file the executable carries at `path`; `undefined` when
 * sigverify is not a single executable, when `path` is not inside it, or when
 * it carries no such file (the caller then opens `path` and gets the file
 * system's own error).
 */
export function embeddedFile(path: string): Buffer | undefined {
  if (!EMBEDDED) return undefined;
  const inside = relative(PACKAGE_DIRECTORY, resolve(path));
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return undefined;
  try {
    return Buffer.from(getAsset(inside.split(sep).join('/')));
  } catch {
    return undefined;
  }
}
