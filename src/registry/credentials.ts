/**
 * Registry credentials, looked up by registry host. A source is asked only for
 * the registry a client talks to, so credentials for one registry can never be
 * offered to another.
 */
export interface Credentials {
  readonly username: string;
  /** The password, or an OAuth2 refresh token when `username` is {@link IDENTITY_TOKEN_USERNAME}. */
  readonly password: string;
}

/**
 * The username by which docker marks an identity (refresh) token rather than a
 * password: `docker-credential-helpers` returns `Username: "<token>"`, and
 * `identitytoken` in config.json means the same. Such a secret is exchanged at
 * the token endpoint with the OAuth2 refresh-token grant, never sent as Basic.
 */
export const IDENTITY_TOKEN_USERNAME = '<token>';

export interface CredentialSource {
  /** Credentials for `registry` (host[:port] as normalised by the reference parser), or undefined for anonymous. */
  get(registry: string): Promise<Credentials | undefined>;
}

/** A fixed table of credentials keyed by exact registry host (library callers, tests). */
export function staticCredentials(
  entries: Readonly<Record<string, Credentials>> | ReadonlyMap<string, Credentials>,
): CredentialSource {
  const table = new Map(entries instanceof Map ? entries : Object.entries(entries));
  return { get: (registry) => Promise.resolve(table.get(registry)) };
}
