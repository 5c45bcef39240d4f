import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { type TrustSource, trustedRootFile, tufTrustRoot } from '../trust-root/index.ts';

/**
 * The `trust` member of a module policy: where the Sigstore trust root comes
 * from. Its documents are those of the trust selection model of
 * `trust-root/` (same `source` names and members), for the sources this
 * adapter maps onto `tufTrustRoot` / `trustedRootFile`:
 *
 * | source | members |
 * |---|---|
 * | `public-good` | `root?` (initial root.json), `cacheDir?` |
 * | `tuf-mirror` | `url`, `root?`, `cacheDir?` |
 * | `trusted-root` | `path` |
 *
 * This file is the one place the module policy meets trust sources: when
 * `trust-root/` exports its validated selection model, the schema and the
 * function below become that model and `trustSourceFrom`.
 *
 * Strict objects: a misspelt member of a trust selection would silently pick
 * another trust root, so unknown members are refused.
 */
const path = z.string().min(1);

export const ModuleTrustSchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('public-good'), root: path.optional(), cacheDir: path.optional() }),
  z.strictObject({ source: z.literal('tuf-mirror'), url: z.url({ protocol: /^https?$/ }), root: path.optional(), cacheDir: path.optional() }),
  z.strictObject({ source: z.literal('trusted-root'), path }),
]);

export type ModuleTrust = z.output<typeof ModuleTrustSchema>;

/** The trust source a module's `trust` selects; relative paths are taken from `baseDirectory`. */
export function trustSourceOf(trust: ModuleTrust, baseDirectory: string): TrustSource {
  const local = (p: string): string => (isAbsolute(p) ? p : resolve(baseDirectory, p));
  if (trust.source === 'trusted-root') return trustedRootFile(local(trust.path));
  return tufTrustRoot({
    ...(trust.source === 'tuf-mirror' ? { mirrorUrl: trust.url } : {}),
    ...(trust.root === undefined ? {} : { rootPath: local(trust.root) }),
    ...(trust.cacheDir === undefined ? {} : { cachePath: local(trust.cacheDir) }),
  });
}
