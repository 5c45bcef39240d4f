import { type ErrorDetails, SigverifyError } from '../errors.ts';
import { DEFAULT_LIMITS, type Limits } from '../limits.ts';
import { type Digest, isDigest, parseRegistryReference, sha256Digest, TAG_PATTERN } from '../reference/index.ts';
import { Authenticator } from './auth.ts';
import type { CredentialSource } from './credentials.ts';
import { type Descriptor, parseManifest } from '../oci/index.ts';
import { defaultSleep, type HttpContext, type HttpRequest, type HttpResponse, isLoopbackHost, redactUrl, send } from '../http/http.ts';
import { nextLink } from './link.ts';
import { MANIFEST_ACCEPT, MEDIA_TYPES, mediaTypeOf } from './media-types.ts';
import type { ContentStore, FetchedManifest, ReferrersListing } from './types.ts';
import { quote } from '../text/quote.ts';

export interface RegistryClientOptions {
  /** host[:port], normalised as by the reference parser: `index.docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path, normalised: `library/alpine`. */
  readonly repository: string;
  /**
   * Talk plain http to this registry and accept http token realms and
   * redirects (cosign `--allow-insecure-registry`). Loopback registries use
   * http without it.
   */
  readonly allowHttp?: boolean;
  /**
   * Overrides the scheme chosen from the host: `https` for a loopback registry
   * with TLS; `http` needs a loopback host or `allowHttp`.
   */
  readonly scheme?: 'https' | 'http';
  readonly limits?: Limits;
  /** Asked for this registry's credentials on the first challenge; anonymous when absent. */
  readonly credentials?: CredentialSource;
  readonly fetch?: typeof fetch;
  readonly userAgent?: string;
  readonly signal?: AbortSignal;
  /**
   * Challenge answers and tokens, shared by every client of the same
   * registry, repository and credentials (the store factory's pool); default
   * one of this client's own.
   */
  readonly authenticator?: Authenticator;
  /** Waits between retries (tests inject a recorder). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock for token expiry and Retry-After dates (ms since the epoch). */
  readonly now?: () => number;
}

const DEFAULT_USER_AGENT = 'sigverify';

/**
 * The OCI distribution-spec client (`spec.md`, "Pull"): manifests by tag or
 * digest and blobs by digest, hashed on receipt. Nothing the registry claims
 * about content is trusted: not Docker-Content-Digest, not Content-Length.
 *
 * The base URL is `https://<registry>`, Docker Hub included
 * (`https://index.docker.io`, as go-containerregistry does). Loopback
 * registries (`localhost`, 127.0.0.0/8, `[::1]`) are spoken to in plain http
 * directly, with no https attempt first, so behaviour is deterministic; other
 * hosts only with `allowHttp`.
 */
export class RegistryClient implements ContentStore {
  readonly description: string;
  readonly registry: string;
  readonly repository: string;
  readonly #baseUrl: URL;
  readonly #http: HttpContext;
  readonly #auth: Authenticator;

  constructor(options: RegistryClientOptions) {
    const { registry, repository } = options;
    this.description = `${registry}/${repository}`;
    if (!isNormalisedName(registry, repository)) {
      throw new SigverifyError(
        'REFERENCE_INVALID',
        `registry "${registry}" and repository "${repository}" are not a normalised host[:port] and repository path`,
        { details: { reference: this.description } },
      );
    }
    const allowHttp = options.allowHttp === true;
    const loopback = isLoopbackHost(new URL(`http://${registry}`).hostname);
    const scheme = options.scheme ?? (loopback || allowHttp ? 'http' : 'https');
    if (scheme === 'http' && !loopback && !allowHttp) {
      throw new SigverifyError('INSECURE_TRANSPORT', `refusing plain http to ${registry}: only loopback registries may use http without allowHttp`, {
        details: { reference: this.description },
      });
    }
    this.registry = registry;
    this.repository = repository;
    this.#baseUrl = new URL(`${scheme}://${registry}`);
    this.#http = {
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      limits: options.limits ?? DEFAULT_LIMITS,
      allowHttp,
      userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      sleep: options.sleep ?? defaultSleep,
      now: options.now ?? Date.now,
    };
    this.#auth = options.authenticator ?? new Authenticator({ registry, repository, credentials: options.credentials });
  }

  /**
   * distribution-spec "Pulling manifests": GET /v2/<name>/manifests/<reference>.
   * The digest is computed from the bytes received; fetched by digest, they
   * must hash to it.
   */
  async getManifest(reference: string): Promise<FetchedManifest | undefined> {
    const byDigest = isDigest(reference);
    const name = `${this.description}${byDigest ? '@' : ':'}${reference}`;
    if (!byDigest && !TAG_PATTERN.test(reference)) {
      throw new SigverifyError('REFERENCE_INVALID', `"${reference}" is neither a tag nor a sha256 digest (${this.description})`, {
        details: { reference: name },
      });
    }
    const details: ErrorDetails = byDigest ? { reference: name, digest: reference } : { reference: name };
    const response = await this.#get(this.#url(`manifests/${reference}`), {
      what: `manifest ${name}`,
      details,
      headers: { accept: MANIFEST_ACCEPT },
      maxBytes: this.#http.limits.maxManifestBytes,
    });
    if (response.status === 404) return undefined;
    const digest = sha256Digest(response.body);
    if (byDigest && digest !== reference) {
      throw new SigverifyError('DIGEST_MISMATCH', `manifest ${name}: registry returned content with digest ${digest}`, {
        details: { ...details, actualDigest: digest, url: redactUrl(response.url) },
      });
    }
    return { digest, contentType: response.headers.get('content-type') ?? undefined, bytes: response.body };
  }

  /**
   * distribution-spec "Pulling blobs": GET /v2/<name>/blobs/<digest>, usually
   * redirected to storage. The descriptor's size is the cap: a longer or
   * shorter body, or one with another digest, is DIGEST_MISMATCH.
   */
  async getBlob(digest: Digest, expectedSize: number, maxBytes: number): Promise<Uint8Array> {
    const name = `${this.description}@${digest}`;
    const details: ErrorDetails = { reference: name, digest, expectedSize };
    if (!isDigest(digest)) {
      throw new SigverifyError('REFERENCE_INVALID', `blob digest "${String(digest)}" is not sha256:<64 hex> (${this.description})`, { details });
    }
    if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) {
      throw new SigverifyError('MANIFEST_INVALID', `blob ${name}: size ${expectedSize} is not a non-negative integer`, { details });
    }
    if (expectedSize > maxBytes) {
      throw new SigverifyError('LIMIT_EXCEEDED', `blob ${name}: size ${expectedSize} exceeds the ${maxBytes}-byte limit`, {
        details: { ...details, maxBytes },
      });
    }
    const sizeMismatch = (received: string): SigverifyError =>
      new SigverifyError('DIGEST_MISMATCH', `blob ${name}: expected ${expectedSize} bytes, received ${received}`, { details });
    const response = await this.#get(this.#url(`blobs/${digest}`), {
      what: `blob ${name}`,
      details,
      maxBytes: expectedSize,
      tooLarge: () => sizeMismatch('more'),
    });
    if (response.status === 404) {
      throw new SigverifyError('BLOB_NOT_FOUND', `blob ${name}: registry has no such blob`, { details: { ...details, status: 404 } });
    }
    if (response.body.byteLength !== expectedSize) throw sizeMismatch(String(response.body.byteLength));
    const actual = sha256Digest(response.body);
    if (actual !== digest) {
      throw new SigverifyError('DIGEST_MISMATCH', `blob ${name}: registry returned content with digest ${actual}`, {
        details: { ...details, actualDigest: actual, url: redactUrl(response.url) },
      });
    }
    return response.body;
  }

  /**
   * distribution-spec v1.1 "Listing Referrers": GET /v2/<name>/referrers/<digest>
   * with `Accept: application/vnd.oci.image.index.v1+json`, every page.
   *
   * The registry has the API only if it answers 200 with an OCI image index.
   * 404, 400 and 406, or any 2xx of another content type, mean it has not:
   * the spec's "Unavailable Referrers API" and go-containerregistry
   * `pkg/v1/remote/referrers.go`, which cosign uses to decide on the tag
   * fallback. An index content type with a body that is not an index is
   * MANIFEST_INVALID: the registry claims the API, so falling back would let
   * a broken or hostile answer pick the listing.
   *
   * No `artifactType` query: registries may ignore the filter, and cosign
   * lists unfiltered (`pkg/cosign/verify.go`, GetBundles); callers filter.
   */
  async getReferrers(subject: Digest): Promise<ReferrersListing> {
    const name = `${this.description}@${subject}`;
    const details: ErrorDetails = { reference: name, digest: subject };
    if (!isDigest(subject)) {
      throw new SigverifyError('REFERENCE_INVALID', `referrers subject "${String(subject)}" is not sha256:<64 hex> (${this.description})`, { details });
    }
    const { limits } = this.#http;
    const request = { what: `referrers of ${name}`, details, headers: { accept: MEDIA_TYPES.ociIndex }, maxBytes: limits.maxManifestBytes };
    let page = await this.#get(this.#url(`referrers/${subject}`), { ...request, callerStatuses: [400, 406] });
    if (page.status !== 200 || mediaTypeOf(page.headers.get('content-type')) !== MEDIA_TYPES.ociIndex) return { kind: 'unsupported' };

    // Pages are concatenated (the spec's `Link: <…>; rel="next"`); the whole
    // listing is one index as far as caps go.
    const manifests: Descriptor[] = [];
    const fetched = new Set<string>([this.#url(`referrers/${subject}`).href]);
    for (let pages = 1; ; pages++) {
      fetched.add(page.url.href);
      manifests.push(...this.#referrersPage(page, name));
      if (manifests.length > limits.maxIndexManifests) {
        throw new SigverifyError('LIMIT_EXCEEDED', `${request.what}: more than ${limits.maxIndexManifests} entries`, {
          details: { ...details, limit: limits.maxIndexManifests },
        });
      }
      const next = this.#nextReferrersPage(page, request.what, details);
      if (next === undefined) return { kind: 'api', manifests };
      if (fetched.has(next.href)) {
        throw new SigverifyError('PAGINATION_REFUSED', `${request.what}: the next page ${redactUrl(next)} was already fetched`, {
          details: { ...details, url: redactUrl(next) },
        });
      }
      if (pages >= limits.maxReferrerPages) {
        throw new SigverifyError('LIMIT_EXCEEDED', `${request.what}: more than ${limits.maxReferrerPages} pages`, {
          details: { ...details, limit: limits.maxReferrerPages },
        });
      }
      fetched.add(next.href);
      page = await this.#get(next, request);
      // Once the registry has claimed the API, every page must be part of it.
      if (page.status !== 200) {
        throw new SigverifyError('REGISTRY_HTTP_ERROR', `${request.what}: page ${redactUrl(page.url)} answered HTTP ${page.status}`, {
          details: { ...details, status: page.status, url: redactUrl(page.url) },
        });
      }
      if (mediaTypeOf(page.headers.get('content-type')) !== MEDIA_TYPES.ociIndex) {
        throw new SigverifyError('MANIFEST_INVALID', `${request.what}: page ${redactUrl(page.url)} is not an OCI image index`, {
          details: { ...details, url: redactUrl(page.url) },
        });
      }
    }
  }

  /** One page of a referrers listing: an OCI image index (image-spec `image-index.md`), or MANIFEST_INVALID. */
  #referrersPage(page: HttpResponse, name: string): readonly Descriptor[] {
    const where = `${name} referrers listing`;
    const index = parseManifest(page.body, where, this.#http.limits);
    if (index.kind !== 'index' || index.mediaType !== MEDIA_TYPES.ociIndex) {
      throw new SigverifyError('MANIFEST_INVALID', `${where}: the registry served a ${quote(index.mediaType)}, not an OCI image index`, {
        details: { reference: name, url: redactUrl(page.url) },
      });
    }
    return index.manifests;
  }

  /**
   * The next page named by `Link: <…>; rel="next"`, resolved against the page
   * that named it. Credentials belong to one origin: a next page elsewhere
   * would be sent this registry's token, so it is refused, not followed.
   */
  #nextReferrersPage(page: HttpResponse, what: string, details: ErrorDetails): URL | undefined {
    const link = nextLink(page.headers.get('link'));
    const refuse = (reason: string): SigverifyError =>
      new SigverifyError('PAGINATION_REFUSED', `${what}: Link header of ${redactUrl(page.url)} refused: ${reason}`, {
        details: { ...details, url: redactUrl(page.url) },
      });
    if ('invalid' in link) throw refuse(link.invalid);
    if (link.next === undefined) return undefined;
    let next: URL;
    try {
      next = new URL(link.next, page.url);
    } catch {
      throw refuse('the next page is not a URL');
    }
    if (next.origin !== this.#baseUrl.origin) throw refuse(`the next page is on ${next.origin}, not ${this.#baseUrl.origin}`);
    if (next.username !== '' || next.password !== '') throw refuse('the next page carries credentials');
    next.hash = '';
    return next;
  }

  /** `/v2/<name>/<path>` on this registry. */
  #url(path: string): URL {
    return new URL(`/v2/${this.repository}/${path}`, this.#baseUrl);
  }

  /**
   * GET, answering at most one challenge (token.md "How to authenticate"): a
   * second 401 or any 403 is REGISTRY_AUTH_FAILED. Resolves 2xx, 404 or one
   * of the request's `callerStatuses`.
   */
  async #get(url: URL, request: Omit<HttpRequest, 'url' | 'authorization'>): Promise<HttpResponse> {
    const withAuth = (authorization: string | undefined): HttpRequest =>
      authorization === undefined ? { ...request, url } : { ...request, url, authorization };
    let authorization = await this.#auth.authorization(request.what, this.#http);
    let response = await send(withAuth(authorization), this.#http);
    // Only this registry's own challenge is answered. A 401 from another origin
    // that a redirect led to (storage, or a hostile host) names a realm that
    // origin chose: answering it would send this registry's credentials there
    // (test/adversarial/protocol-abuse.test.ts, "401 Bearer with its own realm").
    if (response.status === 401 && response.url.origin === this.#baseUrl.origin) {
      authorization = await this.#auth.respond(response.headers.get('www-authenticate'), authorization, request.what, this.#http);
      response = await send(withAuth(authorization), this.#http);
    }
    if (response.status === 401 || response.status === 403) {
      throw new SigverifyError(
        'REGISTRY_AUTH_FAILED',
        `${request.what}: registry refused access (HTTP ${response.status}); check the credentials for ${this.registry}`,
        { details: { ...request.details, status: response.status, url: redactUrl(response.url) } },
      );
    }
    return response;
  }
}

/** A client for the registry and repository a parsed reference names. */
// Exactly what the reference parser produces, so a client never talks to a host or path it would not have parsed.
function isNormalisedName(registry: string, repository: string): boolean {
  try {
    const parsed = parseRegistryReference(`${registry}/${repository}`);
    return parsed.registry === registry && parsed.repository === repository && parsed.digest === undefined;
  } catch {
    return false;
  }
}
