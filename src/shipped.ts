import { isAbsolute, join, relative, resolve, sep } from 'node:path';
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
 *
 * Nothing here is computed when the module loads. The single executable
 * starts from a V8 startup snapshot of its evaluated modules (packaging/sea.ts):
 * a value computed on load would be the build machine's — its Node binary for
 * `process.execPath`, and "not a single executable" — in every run. So each
 * answer is computed when asked, and the snapshot's builder cannot ask.
 */

/** `node:sea`, loaded when first asked rather than on import: Node does not support it in a startup snapshot. */
const sea = (): typeof import('node:sea') => process.getBuiltinModule('node:sea');
const v8 = (): typeof import('node:v8') => process.getBuiltinModule('node:v8');

/** Whether sigverify runs as the single executable (packaging/sea.ts). */
export function isEmbedded(): boolean {
  return sea().isSea();
}

/**
 * The directory the shipped files are under: the package root, or the
 * executable. It depends on where this process runs from, so a startup
 * snapshot must not hold it: asking while one is built is an error.
 */
export function packageDirectory(): string {
  if (v8().startupSnapshot.isBuildingSnapshot()) {
    throw new Error('the shipped files are located when sigverify runs, not while its startup snapshot is built');
  }
  return isEmbedded() ? process.execPath : fileURLToPath(new URL('..', import.meta.url));
}

/** The path of a shipped file, `relativePath` written with `/`. */
export function shippedPath(relativePath: string): string {
  return join(packageDirectory(), ...relativePath.split('/'));
}

/**
 * A module-level value that depends on the running process (a shipped path, the
 * version read from the shipped package.json): `compute()` now, or, while a
 * startup snapshot is being built, `''` for the build and `assign(compute())`
 * when the snapshot starts, before its main function runs. The exported
 * constants of the public API (`VERSION`, `PUBLIC_GOOD_ROOT`,
 * `DEFAULT_KIT_DIRECTORY`) are `let` bindings set this way, so they hold the
 * running process's value in the npm package and in the executable alike.
 */
export function valueAtStartup(compute: () => string, assign: (value: string) => void): string {
  const { startupSnapshot } = v8();
  if (!startupSnapshot.isBuildingSnapshot()) return compute();
  startupSnapshot.addDeserializeCallback(() => {
    assign(compute());
  });
  return '';
}

/**
 * The bytes of the file the executable carries at `path`; `undefined` when
 * sigverify is not a single executable, when `path` is not inside it, or when
 * it carries no such file (the caller then opens `path` and gets the file
 * system's own error).
 */
export function embeddedFile(path: string): Buffer | undefined {
  if (!isEmbedded()) return undefined;
  const directory = packageDirectory();
  const inside = relative(directory, resolve(path));
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return undefined;
  try {
    return Buffer.from(sea().getAsset(inside.split(sep).join('/')));
  } catch {
    return undefined;
  }
}
