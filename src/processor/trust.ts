import { isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import { type TrustConfig, TrustConfigSchema, type TrustSource, trustSourceFrom } from '../trust-root/index.ts';

/**
 * The `trust` member of a module policy: the trust selection model of
 * `trust-root/` (`TrustConfig`), spelt in the module file's one casing,
 * snake_case (`cache_dir`, `cert_chain`, `valid_for`, …):
 * `public-good`, `tuf-mirror`, `tuf-directory`, `trusted-root`, `assembled`.
 * Strict objects there: a misspelt member would silently pick another trust
 * root, so unknown members are refused, and so is the library's camelCase.
 */
export const ModuleTrustSchema = z.preprocess(fromSnakeCase, TrustConfigSchema);

/** snake_case member names to the library's camelCase; a camelCase name is an issue naming its snake_case spelling. */
function fromSnakeCase(value: unknown, ctx: z.core.$RefinementCtx): unknown {
  // A trust configuration is at most four levels deep (trust.fulcio[0].valid_for.start); deeper
  // values are left as they are for the strict schema to refuse, so hostile nesting cannot recurse.
  const convert = (v: unknown, path: PropertyKey[]): unknown => {
    if (path.length > 4 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((item, i) => convert(item, [...path, i]));
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([key, member]) => {
      if (/[A-Z]/.test(key)) {
        ctx.addIssue({ code: 'custom', path: [...path, key], message: `module files are snake_case: write ${snakeCase(key)}`, input: v });
      }
      return [key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), convert(member, [...path, key])];
    }));
  };
  return convert(value, []);
}

/** `cacheDir`, `cache-dir`, `CACHE_DIR` → `cache_dir`: how a module member name is compared with ours. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toLowerCase();
}

export type ModuleTrust = TrustConfig;

/** The trust source a module's `trust` selects; relative paths are taken from `baseDirectory` (the policy file's). */
export function trustSourceOf(trust: ModuleTrust, baseDirectory: string): TrustSource {
  const local = (p: string): string => (isAbsolute(p) ? p : resolve(baseDirectory, p));
  const opt = <T extends object>(value: string | undefined, make: (p: string) => T): T | object => (value === undefined ? {} : make(local(value)));
  switch (trust.source) {
    case 'trusted-root':
      return trustSourceFrom({ ...trust, path: local(trust.path) });
    case 'tuf-directory':
      return trustSourceFrom({ ...trust, path: local(trust.path), ...opt(trust.root, (root) => ({ root })), ...opt(trust.cacheDir, (cacheDir) => ({ cacheDir })) });
    case 'public-good':
    case 'tuf-mirror':
      return trustSourceFrom({ ...trust, ...opt(trust.root, (root) => ({ root })), ...opt(trust.cacheDir, (cacheDir) => ({ cacheDir })) });
    case 'assembled':
      return trustSourceFrom({
        ...trust,
        ...(trust.fulcio === undefined ? {} : { fulcio: trust.fulcio.map((f) => ({ ...f, certChain: local(f.certChain) })) }),
        ...(trust.rekor === undefined ? {} : { rekor: trust.rekor.map((r) => ({ ...r, publicKey: local(r.publicKey) })) }),
        ...(trust.ctlogs === undefined ? {} : { ctlogs: trust.ctlogs.map((c) => ({ ...c, publicKey: local(c.publicKey) })) }),
        ...(trust.tsa === undefined ? {} : { tsa: trust.tsa.map((t) => ({ ...t, certChain: local(t.certChain) })) }),
      });
  }
}

/** Every file or directory path a module's `trust` names, as written. */
export function trustPaths(trust: ModuleTrust): string[] {
  switch (trust.source) {
    case 'trusted-root':
      return [trust.path];
    case 'tuf-directory':
      return [trust.path, trust.root, trust.cacheDir].filter((p) => p !== undefined);
    case 'public-good':
    case 'tuf-mirror':
      return [trust.root, trust.cacheDir].filter((p) => p !== undefined);
    case 'assembled':
      return [
        ...(trust.fulcio ?? []).map((f) => f.certChain),
        ...(trust.rekor ?? []).map((r) => r.publicKey),
        ...(trust.ctlogs ?? []).map((c) => c.publicKey),
        ...(trust.tsa ?? []).map((t) => t.certChain),
      ];
  }
}
