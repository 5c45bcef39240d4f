import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SigverifyError } from '../errors.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { shippedPath, valueAtStartup } from '../shipped.ts';
import { type TrustRoot, parseTrustedRoot } from './trusted-root.ts';
import { readOwnedCapped } from '../io/local-files.ts';

/**
 * Trust sources behind one interface. Each yields a validated TrustRoot: a
 * pinned trusted_root.json (here), TUF repositories (public good, a private
 * mirror, a directory on removable media: `tuf/client.ts`), roots assembled
 * from individual files (`assembled.ts`). `config.ts` selects one from a
 * `TrustConfig`.
 */
export interface TrustSource {
  /** For messages and results: "trusted_root.json file /etc/…", "TUF https://…". */
  readonly description: string;
  /**
   * Everything that decides the root `load` returns (the whole configuration,
   * opt-outs included), as canonical text: what a cache of loaded roots or of
   * verifiers keys on. Two sources with equal keys load the same root.
   */
  readonly key: string;
  load(): Promise<TrustRoot>;
}

/** A pinned `trusted_root.json` (cosign `--trusted-root`): fully offline. */
export function trustedRootFile(path: string, maxBytes = DEFAULT_LIMITS.maxTrustFileBytes): TrustSource {
  const description = `trusted_root.json file ${path}`;
  return {
    description,
    key: sourceKey({ source: 'trusted-root', path: resolve(path), maxBytes }),
    async load() {
      let bytes: Buffer;
      try {
        bytes = await readOwnedCapped(path, maxBytes, 'trusted_root.json');
      } catch (cause) {
        if (cause instanceof SigverifyError) throw cause;
        throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot read ${description}: ${(cause as Error).message}`, { cause });
      }
      return parseTrustedRoot(bytes, description, { kind: 'trusted-root', location: resolve(path) });
    },
  };
}

/** A source key: the configuration as JSON with sorted members (see {@link TrustSource.key}). */
export function sourceKey(config: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(config, (_, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value instanceof Uint8Array ? createHash('sha256').update(value).digest('hex') : value);
}

export const PUBLIC_GOOD_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

/** `$SIGVERIFY_TUF_CACHE`, else `$XDG_CACHE_HOME/sigverify/tuf`, else `~/.cache/sigverify/tuf`. */
export function defaultTufCachePath(): string {
  return process.env['SIGVERIFY_TUF_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'sigverify', 'tuf');
}

/**
 * The initial root.json of the public-good repository, pinned in
 * `trust-root/public-good/root.json` (byte-identical to the seed @sigstore/tuf
 * embeds; `scripts/check-trust-root.ts` checks it). Shipped with the package
 * (located when sigverify starts: src/shipped.ts, `valueAtStartup`).
 */
export let PUBLIC_GOOD_ROOT: string = valueAtStartup(() => shippedPath('trust-root/public-good/root.json'), (value) => {
  PUBLIC_GOOD_ROOT = value;
});
