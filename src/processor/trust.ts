import { isAbsolute, resolve } from 'node:path';
import { type TrustConfig, TrustConfigSchema, type TrustSource, trustSourceFrom } from '../trust-root/index.ts';

/**
 * The `trust` member of a module policy: the trust selection model of
 * `trust-root/` (`TrustConfig`, see trust-root/README.md), unchanged:
 * `public-good`, `tuf-mirror`, `tuf-directory`, `trusted-root`, `assembled`.
 * Strict objects there: a misspelt member would silently pick another trust
 * root, so unknown members are refused.
 */
export const ModuleTrustSchema = TrustConfigSchema;

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
