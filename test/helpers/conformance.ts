import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { interopPath } from './interop.ts';

/**
 * The sigstore-conformance `bundle-verify` cases (interop README §6): each
 * directory holds a bundle and optionally artifact, identity, issuer, key.pub
 * and trusted_root.json; `_fail` cases must not verify. Without their own
 * root they use the public-good production root, offline the interop copy.
 */
export const CONFORMANCE_DIR = (): string => interopPath('sigstore-conformance', 'test', 'assets', 'bundle-verify');
export const DEFAULT_IDENTITY = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
export const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

export interface ConformanceCase {
  readonly name: string;
  readonly shouldVerify: boolean;
  readonly bundlePath: string;
  readonly artifactPath: string;
  readonly artifactDigest: string;
  readonly keyPath: string | undefined;
  readonly identity: string;
  readonly issuer: string;
  /** The case's own root, else the offline public-good root. */
  readonly trustedRootPath: string;
  readonly ownTrustedRoot: boolean;
}

export function conformanceCases(): ConformanceCase[] {
  const dir = CONFORMANCE_DIR();
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const at = (file: string) => join(dir, name, file);
      const optional = (file: string) => (existsSync(at(file)) ? at(file) : undefined);
      const text = (file: string, fallback: string) => (existsSync(at(file)) ? readFileSync(at(file), 'utf8').trim() : fallback);
      const artifactPath = optional('artifact') ?? join(dir, 'a.txt');
      const ownRoot = optional('trusted_root.json');
      return {
        name,
        shouldVerify: !name.endsWith('_fail'),
        bundlePath: at('bundle.sigstore.json'),
        artifactPath,
        artifactDigest: `sha256:${createHash('sha256').update(readFileSync(artifactPath)).digest('hex')}`,
        keyPath: optional('key.pub'),
        identity: text('identity', DEFAULT_IDENTITY),
        issuer: text('issuer', DEFAULT_ISSUER),
        trustedRootPath: ownRoot ?? interopPath('root-signing', 'targets', 'trusted_root.json'),
        ownTrustedRoot: ownRoot !== undefined,
      };
    });
}
