import { homedir } from 'node:os';
import { join } from 'node:path';
import { SigverifyError } from '../errors.ts';
import { readCapped } from '../io/read-capped.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { type TrustRoot, parseTrustedRoot } from './trusted-root.ts';

/**
 * Trust sources behind one interface. Each yields a validated TrustRoot;
 * later sources (private TUF mirrors, TUF directories carried in on removable
 * media, roots assembled from individual keys) implement the same interface.
 */
export interface TrustSource {
  /** For messages and results: "trusted_root.json file /etc/…", "TUF https://…". */
  readonly description: string;
  load(): Promise<TrustRoot>;
}

/** A pinned `trusted_root.json` (cosign `--trusted-root`): fully offline. */
export function trustedRootFile(path: string, maxBytes = DEFAULT_LIMITS.maxTrustFileBytes): TrustSource {
  const description = `trusted_root.json file ${path}`;
  return {
    description,
    async load() {
      let bytes: Buffer;
      try {
        bytes = await readCapped(path, maxBytes);
      } catch (cause) {
        if (cause instanceof SigverifyError) throw cause;
        throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot read ${description}: ${(cause as Error).message}`, { cause });
      }
      return parseTrustedRoot(bytes, description);
    },
  };
}

export const PUBLIC_GOOD_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

export interface TufOptions {
  /** Mirror URL; default the public-good Sigstore TUF CDN (whose root @sigstore/tuf embeds). */
  readonly mirrorUrl?: string;
  /** Initial root.json for a mirror whose root is not embedded in @sigstore/tuf. */
  readonly rootPath?: string;
  /** Cache directory; default `$SIGVERIFY_TUF_CACHE`, else `~/.cache/sigverify/tuf`. */
  readonly cachePath?: string;
}

export function defaultTufCachePath(): string {
  return process.env['SIGVERIFY_TUF_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'sigverify', 'tuf');
}

/**
 * The trust root distributed by TUF, through @sigstore/tuf. `forceCache`
 * keeps verification off the network while every cached role is unexpired;
 * only stale metadata triggers a refresh (cosign-formats §8.4). tuf-js
 * re-verifies the cached metadata on every load.
 */
export function tufTrustRoot(options: TufOptions = {}): TrustSource {
  const mirrorURL = options.mirrorUrl ?? PUBLIC_GOOD_MIRROR;
  const description = `TUF repository ${mirrorURL}`;
  return {
    description,
    async load() {
      let json: string;
      try {
        // Loaded on demand: a pinned trusted_root.json needs no TUF client at all.
        const { initTUF } = await import('@sigstore/tuf');
        const tuf = await initTUF({
          mirrorURL,
          cachePath: options.cachePath ?? defaultTufCachePath(),
          forceCache: true,
          ...(options.rootPath === undefined ? {} : { rootPath: options.rootPath }),
        });
        json = await tuf.getTarget('trusted_root.json');
      } catch (cause) {
        throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot load the trust root from ${description}: ${(cause as Error).message}`, { cause });
      }
      return parseTrustedRoot(Buffer.from(json, 'utf8'), description);
    },
  };
}
