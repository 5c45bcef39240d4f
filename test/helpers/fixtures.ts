import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Digest } from '../../src/reference/index.ts';

/** The committed fixtures (minted by scripts/mint-fixtures.ts; see fixtures/README.md). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(REPO_ROOT, 'fixtures');
export const FIXTURE_LAYOUT = join(FIXTURES, 'layout');
export const TEST_TRUSTED_ROOT = join(FIXTURES, 'trust', 'trusted_root.json');
export const OTHER_TRUSTED_ROOT = join(FIXTURES, 'trust', 'other_trusted_root.json');
export const COSIGN_PUB = join(FIXTURES, 'keys', 'cosign.pub');
export const OTHER_PUB = join(FIXTURES, 'keys', 'other.pub');

/** The identity every keyless fixture is signed with (fixtures/README.md). */
export const FIXTURE_IDENTITY = 'https://github.com/example-org/brain-seg/.github/workflows/release.yml@refs/tags/v2.1.0';
export const FIXTURE_ISSUER = 'https://token.actions.githubusercontent.com';

const FixturesSchema = z.object({
  images: z.record(z.string(), z.object({ tag: z.string(), digest: z.string(), mediaType: z.string() })),
});

export type FixtureTag =
  | 'signed' | 'signed-email' | 'signed-othername' | 'signed-key' | 'signed-key-notlog' | 'mixed' | 'signed-other-sigstore' | 'unsigned' | 'multiarch'
  | 'bundle-signed' | 'bundle-provenance' | 'bundle-multi' | 'bundle-key' | 'bundle-and-legacy' | 'attested-legacy' | 'bundle-other-sigstore';

const fixtures = FixturesSchema.parse(JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8')));

export function fixtureDigest(tag: FixtureTag): Digest {
  const image = fixtures.images[tag];
  if (image === undefined) throw new Error(`fixture ${tag} is not in fixtures/fixtures.json`);
  return image.digest as Digest;
}
