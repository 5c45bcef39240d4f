/**
 * Checks that every pinned TUF root under trust-root/ is byte-identical to the
 * seed @sigstore/tuf embeds for the same mirror, and prints its version,
 * expiry and sha256 (the figures trust-root/README.md records).
 * Run: node scripts/check-trust-root.ts
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { 'root.json': string }>;
const pinned: Record<string, string> = { 'https://tuf-repo-cdn.sigstore.dev': 'public-good/root.json' };

let failed = false;
for (const [mirror, file] of Object.entries(pinned)) {
  const bytes = readFileSync(join(import.meta.dirname, '..', 'trust-root', file));
  const seed = seeds[mirror];
  const signed = (JSON.parse(bytes.toString('utf8')) as { signed: { version: number; expires: string } }).signed;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const same = seed !== undefined && Buffer.from(seed['root.json'], 'base64').equals(bytes);
  console.log(`${file}: version ${signed.version}, expires ${signed.expires}, sha256 ${sha256}, ${same ? 'matches' : 'DIFFERS FROM'} the @sigstore/tuf seed for ${mirror}`);
  failed ||= !same;
}
process.exitCode = failed ? 1 : 0;
