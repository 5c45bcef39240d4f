import { readFileSync } from 'node:fs';
import { embeddedFile, shippedPath, valueAtStartup } from './shipped.ts';

const versionOf = (packageJson: Buffer): string => (JSON.parse(packageJson.toString('utf8')) as { version: string }).version;

function readVersion(): string {
  const path = shippedPath('package.json');
  return versionOf(embeddedFile(path) ?? readFileSync(path));
}

/**
 * The package version, read once from the shipped package.json
 * (src/shipped.ts); in a startup snapshot, when the snapshot starts.
 */
export let VERSION: string = valueAtStartup(readVersion, (value) => {
  VERSION = value;
});

/** The installed version of a dependency, for reports (`undefined` when it cannot be found). */
export function dependencyVersion(name: string): string | undefined {
  try {
    // The single executable has its dependencies bundled, and carries their package.json files.
    const embedded = embeddedFile(shippedPath(`node_modules/${name}/package.json`));
    if (embedded !== undefined) return versionOf(embedded);
    // node:module is loaded when asked: Node does not support it in a startup snapshot.
    return (process.getBuiltinModule('node:module').createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}
