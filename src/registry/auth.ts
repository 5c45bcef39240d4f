import * as z from 'zod';
import { type ErrorDetails, SigverifyError } from '../errors.ts';
import { type CredentialSource, type Credentials, IDENTITY_TOKEN_USERNAME } from './credentials.ts';
import { type HttpContext, type HttpRequest, isLoopbackHost, redactUrl, send } from '../http/http.ts';

/**
 * Registry authentication as Docker and every OCI registry in use do it
 * (distribution `docs/spec/auth/token.md`, `oauth.md`; RFC 7235): a request
 * answered 401 carries a `WWW-Authenticate` challenge; for `Bearer` the client
 * fetches a token from the challenge's realm and repeats the request with it,
 * for `Basic` it repeats the request with the username and password.
 */

/** One challenge of a `WWW-Authenticate` header (RFC 7235 §2.1). */
export interface Challenge {
  /** Lower-cased auth scheme: `bearer`, `basic`, … */
  readonly scheme: string;
  /** Auth-params, names lower-cased (they are case-insensitive); values unquoted. */
  readonly params: ReadonlyMap<string, string>;
  /** A token68 in place of auth-params (`Negotiate abc==`); never used here, parsed so it does not derail the rest. */
  readonly token68?: string;
}

// RFC 7230 §3.2.6 tchar; RFC 7235 §2.1 token68. Sticky, so they match at `lastIndex` only.
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*(?=[ \t]*(?:,|$))/y;
// qdtext and quoted-pair exclude control characters other than HTAB (RFC 7230 §3.2.6).
const CONTROL = /[\0-\x08\n-\x1f\x7f]/;

/**
 * Parses a `WWW-Authenticate` value, which may hold several challenges
 * (`Headers.get` also joins repeated headers with ", "):
 * `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`,
 * `auth-param = token BWS "=" BWS ( token / quoted-string )`.
 * Returns undefined when the value is malformed (unterminated quote, duplicate
 * parameter, stray characters); an empty list when it holds no challenge.
 */
export function parseWwwAuthenticate(header: string): Challenge[] | undefined {
  const challenges: { scheme: string; params: Map<string, string>; token68?: string }[] = [];
  let i = 0;
  const skipSpaces = (): void => {
    while (header[i] === ' ' || header[i] === '\t') i++;
  };
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = i;
    const found = pattern.exec(header)?.[0];
    if (found !== undefined) i += found.length;
    return found;
  };
  const quotedString = (): string | undefined => {
    let value = '';
    for (i++; i < header.length; i++) {
      let c = header[i] ?? '';
      if (c === '"') {
        i++;
        return value;
      }
      if (c === '\\') c = header[++i] ?? '';
      if (c === '' || CONTROL.test(c)) return undefined;
      value += c;
    }
    return undefined;
  };

  for (;;) {
    // Empty list elements are allowed (RFC 7230 §7): skip commas and spaces.
    while (header[i] === ',' || header[i] === ' ' || header[i] === '\t') i++;
    if (i >= header.length) return challenges;
    const name = match(TOKEN);
    if (name === undefined) return undefined;
    skipSpaces();
    const current = challenges.at(-1);
    if (header[i] === '=' && current !== undefined) {
      i++;
      skipSpaces();
      const value = header[i] === '"' ? quotedString() : match(TOKEN);
      const key = name.toLowerCase();
      if (value === undefined || current.params.has(key) || current.token68 !== undefined) return undefined;
      current.params.set(key, value);
    } else {
      // A new challenge; its scheme may be followed by a token68 instead of auth-params.
      const challenge: (typeof challenges)[number] = { scheme: name.toLowerCase(), params: new Map() };
      const token68 = match(TOKEN68);
      if (token68 !== undefined) challenge.token68 = token68;
      challenges.push(challenge);
      if (token68 === undefined) continue;
    }
    skipSpaces();
    if (i < header.length && header[i] !== ',') return undefined;
  }
}

/** The challenge to answer: Bearer if offered (tokens are scoped), else Basic; undefined if neither. */
export function selectChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

export interface TokenRequest {
  readonly url: URL;
  readonly authorization?: string;
  readonly form?: URLSearchParams;
}

// OAuth2 needs a client_id (distribution `docs/spec/auth/oauth.md`, "Refresh token format").
const OAUTH_CLIENT_ID = 'sigverify';

/**
 * The token request for a Bearer challenge (distribution `token.md`,
 * "Requesting a Token"): GET realm?service=…&scope=…, with Basic credentials
 * when there are any; or, for an identity token, the OAuth2 refresh-token grant
 * POSTed to the realm (`oauth.md`). The scope is the challenge's own when given
 * (several scopes are space-separated), else pull access to `repository`.
 * Returns a reason string when the realm is unusable.
 */
export function tokenRequest(
  challenge: Challenge,
  repository: string,
  credentials: Credentials | undefined,
  allowHttp: boolean,
): TokenRequest | string {
  const realm = challenge.params.get('realm');
  if (realm === undefined) return 'Bearer challenge without realm';
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return 'realm is not an absolute URL';
  }
  if (url.username !== '' || url.password !== '') return 'realm carries credentials';
  // The token endpoint receives the registry credentials: TLS unless loopback or explicitly allowed.
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && (allowHttp || isLoopbackHost(url.hostname)));
  if (!secure) return `realm scheme ${url.protocol} not allowed`;

  const service = challenge.params.get('service');
  const scopes = (challenge.params.get('scope') ?? `repository:${repository}:pull`).split(' ').filter((s) => s !== '');
  if (credentials?.username === IDENTITY_TOKEN_USERNAME) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.password, client_id: OAUTH_CLIENT_ID });
    if (service !== undefined) form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    return { url, form };
  }
  if (service !== undefined) url.searchParams.append('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return credentials === undefined ? { url } : { url, authorization: basicAuthorization(credentials) };
}

/** `Basic base64(user:pass)` (RFC 7617). */
function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

// token.md "Token Response Fields": `token`, or `access_token` for OAuth2 compatibility;
// issued_at, refresh_token and others are ignored on purpose, hence loose.
const TokenResponse = z.looseObject({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().positive().optional(),
});
// A token goes into a header: visible ASCII only, so a hostile endpoint cannot inject header text.
const HEADER_SAFE = /^[\x21-\x7e]+$/;
// token.md: "When omitted, this defaults to 60 seconds."
const DEFAULT_TOKEN_LIFETIME_SECONDS = 60;

/** The bearer token in a token endpoint's JSON body, and its lifetime in seconds; a reason string when unusable. */
export function parseTokenResponse(body: Uint8Array): { token: string; expiresIn: number } | string {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return 'token response is not JSON';
  }
  const parsed = TokenResponse.safeParse(json);
  if (!parsed.success) return `token response invalid at ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`;
  // Like docker (distribution registry/client/auth/session.go), prefer access_token when both are present.
  const token = parsed.data.access_token || parsed.data.token;
  if (token === undefined || token === '') return 'token response holds no token';
  if (!HEADER_SAFE.test(token)) return 'token contains characters not allowed in a header';
  return { token, expiresIn: parsed.data.expires_in ?? DEFAULT_TOKEN_LIFETIME_SECONDS };
}

export interface AuthenticatorOptions {
  readonly registry: string;
  readonly repository: string;
  readonly credentials: CredentialSource | undefined;
}

interface Token {
  readonly authorization: string;
  readonly expiresAt: number;
}

/**
 * Answers challenges for one registry repository and remembers the answer, so
 * later requests send it up front instead of paying a 401 round trip each.
 * Tokens are cached per (realm, service, scope) until `expires_in` passes or
 * the registry refuses them. One Authenticator may serve many clients (the
 * store factory shares it across verifications): the HTTP context, with the
 * caller's deadline, comes with each call.
 */
export class Authenticator {
  readonly #options: AuthenticatorOptions;
  readonly #tokens = new Map<string, Promise<Token>>();
  #challenge: Challenge | undefined;
  #credentials: Promise<Credentials | undefined> | undefined;

  constructor(options: AuthenticatorOptions) {
    this.#options = options;
  }

  /** The Authorization to send before being challenged: the answer to the last challenge, if any. */
  async authorization(what: string, http: HttpContext): Promise<string | undefined> {
    return this.#challenge === undefined ? undefined : this.#answer(this.#challenge, undefined, what, http);
  }

  /**
   * Answers a 401. `refused` is the Authorization the registry just rejected:
   * a cached token equal to it is dropped and a fresh one fetched.
   */
  async respond(header: string | null, refused: string | undefined, what: string, http: HttpContext): Promise<string> {
    const challenges = header === null ? [] : parseWwwAuthenticate(header);
    if (challenges === undefined) throw this.#failed(what, 'malformed WWW-Authenticate header');
    const challenge = selectChallenge(challenges);
    if (challenge === undefined) throw this.#failed(what, 'no Bearer or Basic challenge in 401 response');
    this.#challenge = challenge;
    return this.#answer(challenge, refused, what, http);
  }

  async #answer(challenge: Challenge, refused: string | undefined, what: string, http: HttpContext): Promise<string> {
    const credentials = await this.#getCredentials();
    if (challenge.scheme === 'basic') {
      if (credentials === undefined) throw this.#failed(what, 'registry requires credentials and none are configured');
      if (credentials.username === IDENTITY_TOKEN_USERNAME) throw this.#failed(what, 'an identity token cannot answer a Basic challenge');
      return basicAuthorization(credentials);
    }
    const request = tokenRequest(challenge, this.#options.repository, credentials, http.allowHttp);
    if (typeof request === 'string') throw this.#failed(what, request);
    const key = [request.url.href, request.form?.toString() ?? ''].join('\n');
    const cached = this.#tokens.get(key);
    if (cached !== undefined) {
      const token = await cached;
      if (token.authorization !== refused && token.expiresAt > http.now()) return token.authorization;
      if (this.#tokens.get(key) === cached) this.#tokens.delete(key);
    }
    const pending = this.#fetchToken(request, what, http);
    this.#tokens.set(key, pending);
    // A failed fetch is not cached; the caller still sees its error through `await pending`.
    pending.catch(() => {
      if (this.#tokens.get(key) === pending) this.#tokens.delete(key);
    });
    return (await pending).authorization;
  }

  async #fetchToken(request: TokenRequest, what: string, http: HttpContext): Promise<Token> {
    const httpRequest: HttpRequest = {
      url: request.url,
      what: `token for ${what}`,
      details: this.#details(request.url),
      headers: { accept: 'application/json' },
      ...(request.authorization === undefined ? {} : { authorization: request.authorization }),
      ...(request.form === undefined ? {} : { form: request.form }),
      maxBytes: http.limits.maxAuthResponseBytes,
    };
    const response = await send(httpRequest, http);
    if (response.status < 200 || response.status >= 300) {
      throw this.#failed(what, `token endpoint ${redactUrl(response.url)} answered HTTP ${response.status}`, { status: response.status });
    }
    const parsed = parseTokenResponse(response.body);
    if (typeof parsed === 'string') throw this.#failed(what, parsed);
    return { authorization: `Bearer ${parsed.token}`, expiresAt: http.now() + parsed.expiresIn * 1000 };
  }

  // Asked once per Authenticator, and only when a registry challenges: anonymous pulls never run a credential helper.
  #getCredentials(): Promise<Credentials | undefined> {
    this.#credentials ??= this.#options.credentials?.get(this.#options.registry) ?? Promise.resolve(undefined);
    return this.#credentials;
  }

  #details(url?: URL): ErrorDetails {
    return { registry: this.#options.registry, repository: this.#options.repository, ...(url === undefined ? {} : { url: redactUrl(url) }) };
  }

  #failed(what: string, why: string, extra: ErrorDetails = {}): SigverifyError {
    return new SigverifyError('REGISTRY_AUTH_FAILED', `${what}: authentication failed: ${why}`, {
      details: { ...this.#details(), ...extra },
    });
  }
}
