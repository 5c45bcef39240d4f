import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { interopPath } from '../interop.ts';

/**
 * The real public-good TUF repository of `../shared/interop/root-signing`
 * (interop README §4) in the layout a mirror publishes: `N.root.json` for
 * N = 1…15, `timestamp.json`, `165.snapshot.json`, `14.targets.json`, each
 * target as `targets/<sha256>.<name>`. Its timestamp expires 2026-08-28 and
 * root version 15 on 2026-11-20: clients need a clock before those.
 */
export const ROOT_SIGNING = (): string => interopPath('root-signing');
export const PUBLIC_GOOD_BEFORE_EXPIRY = new Date('2026-08-22T00:00:00Z');
export const PUBLIC_GOOD_TIMESTAMP_EXPIRES = '2026-08-28T19:25:56Z';

export function publicGoodRepositoryFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const metadata = (...parts: string[]): Buffer => readFileSync(join(ROOT_SIGNING(), 'metadata', ...parts));
  for (const name of readdirSync(join(ROOT_SIGNING(), 'metadata', 'root_history'))) files.set(name, metadata('root_history', name));
  files.set('timestamp.json', metadata('timestamp.json'));
  files.set('165.snapshot.json', metadata('snapshot.json'));
  files.set('14.targets.json', metadata('targets.json'));
  for (const name of readdirSync(join(ROOT_SIGNING(), 'targets'))) {
    const bytes = readFileSync(join(ROOT_SIGNING(), 'targets', name));
    files.set(`targets/${createHash('sha256').update(bytes).digest('hex')}.${name}`, bytes);
  }
  return files;
}

/** The initial root a client of this repository starts from (version 1, from 2021). */
export const PUBLIC_GOOD_ROOT_V1 = (): string => join(ROOT_SIGNING(), 'metadata', 'root_history', '1.root.json');
