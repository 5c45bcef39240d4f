import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { embeddedFile, shippedPath } from './shipped.ts';

const versionOf = (packageJson: Buffer): string => (JSON.parse(packageJson.toString('utf8')) as { version: string }).version;

const PACKAGE_JSON = shippedPath('package.json');

/** The package version, read once from the shipped package.json (src/shipped.ts). */
export const VERSION: string = versionOf(embeddedFile(PACKAGE_JSON) ?? readFileSync(PACKAGE_JSON));

/** The installed version of a dependency, for reports (`undefined` when it cannot be found). */
export function dependencyVersion(name: string): string | undefined {
  try {
    // The single executable has its dependencies bundled, and carries their package.json files.
    const embedded = embeddedFile(shippedPath(`node_modules/${name}/package.json`));
    if (embedded !== undefined) return versionOf(embedded);
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}
