import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The package version, read once from package.json (one directory above both src/ and dist/). */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The installed version of a dependency, for reports (`undefined` when it cannot be found). */
export function dependencyVersion(name: string): string | undefined {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}
