import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { type ErrorDetails, SigverifyError } from '../errors.ts';
import type { Limits } from '../limits.ts';

/**
 * The one HTTP layer: every registry, token and TUF mirror request goes
 * through it (model: tuf-js `BaseFetcher.downloadFile`). It adds, on
 * top of the built-in `fetch`: one deadline per attempt covering headers and
 * body, bounded retries with back-off, redirects followed by hand (so
 * `Authorization` never leaves the origin it was meant for), and body reads
 * capped while streaming. It knows nothing about manifests or auth.
 */
export interface HttpContext {
  readonly fetch: typeof fetch;
  readonly limits: Limits;
  /** Permits plain http to any host; without it only loopback hosts may use http. */
  readonly allowHttp: boolean;
  readonly userAgent: string;
  /** The caller's cancellation (e.g. the verification deadline). */
  readonly signal?: AbortSignal;
  /** Waits between retries; injectable so tests need not sleep. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Current time in ms since the epoch (Retry-After dates, token expiry). */
  readonly now: () => number;
}

export interface HttpRequest {
  readonly url: URL;
  /** Names the operation in messages, e.g. `manifest ghcr.io/org/app:v1`. Must not contain secrets. */
  readonly what: string;
  /** Merged into every error's details (reference, digest). */
  readonly details?: ErrorDetails;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent only while the request stays on `url`'s origin; dropped on redirects elsewhere. */
  readonly authorization?: string;
  /** Makes the request a POST of this form (OAuth2 token endpoint); otherwise GET. */
  readonly form?: URLSearchParams;
  /** Makes the request a POST of this JSON text (a transparency log's search API); otherwise GET. */
  readonly json?: string;
  /** Most body bytes accepted from a 2xx response. */
  readonly maxBytes: number;
  /** The error for a body over `maxBytes`; LIMIT_EXCEEDED when not given. */
  readonly tooLarge?: () => SigverifyError;
  /**
   * Further non-2xx statuses returned to the caller instead of thrown, beside
   * 401, 403 and 404: the referrers probe reads 400 and 406 as "no referrers
   * API" (distribution-spec "Listing Referrers"). Never retried.
   */
  readonly callerStatuses?: readonly number[];
  /**
   * Where redirects may lead: any origin (registries send blobs to storage;
   * `Authorization` is dropped on the way), or only `url`'s own (a TUF mirror,
   * whose files are named relative to it). Default any.
   */
  readonly redirects?: 'any-origin' | 'same-origin';
}

export interface HttpResponse {
  /** 2xx, 401, 403, 404 or one of the request's `callerStatuses`: every other status is retried or thrown here. */
  readonly status: number;
  readonly headers: Headers;
  /** The URL that answered, after redirects. */
  readonly url: URL;
  /** The whole body of a 2xx; for other statuses at most `limits.maxErrorBodyBytes` of it. */
  readonly body: Uint8Array;
}

export const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

// Transient statuses worth another try (RFC 9110 §15.6; 429 from RFC 6585 §4).
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
// Statuses the caller decides about: 404 (absent), 401/403 (auth).
const CALLER_STATUSES = new Set([401, 403, 404]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Sends one request, retrying transient failures; see {@link HttpContext}. */
export async function send(request: HttpRequest, ctx: HttpContext): Promise<HttpResponse> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await attemptOnce(request, ctx);
    const lastAttempt = attempt >= ctx.limits.maxRetries;
    if (outcome.kind === 'network-error') {
      if (lastAttempt) throw unreachable(request, outcome.cause);
      await pause(backoffDelay(attempt, ctx.limits), request, ctx);
      continue;
    }
    const { response } = outcome;
    if (isSuccess(response.status) || CALLER_STATUSES.has(response.status) || request.callerStatuses?.includes(response.status) === true) {
      return response;
    }
    if (!RETRYABLE_STATUSES.has(response.status) || lastAttempt) throw httpError(request, response);
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), ctx.now());
    if (retryAfter !== undefined && retryAfter > ctx.limits.maxRetryAfterMs) {
      throw httpError(request, response, `asked to retry after ${retryAfter} ms, more than the ${ctx.limits.maxRetryAfterMs} ms allowed`);
    }
    await pause(retryAfter ?? backoffDelay(attempt, ctx.limits), request, ctx);
  }
}

type Attempt = { kind: 'response'; response: HttpResponse } | { kind: 'network-error'; cause: unknown };

/** One try: redirects, status and body under a single deadline (headers AND body). */
async function attemptOnce(request: HttpRequest, ctx: HttpContext): Promise<Attempt> {
  const timeout = AbortSignal.timeout(ctx.limits.requestTimeoutMs);
  const signal = ctx.signal === undefined ? timeout : AbortSignal.any([ctx.signal, timeout]);
  let url = request.url;
  try {
    const fetched = await fetchFollowingRedirects(request, signal, ctx);
    url = fetched.url;
    const { status, headers } = fetched.response;
    const body = isSuccess(status)
      ? await readBody(fetched.response, request.maxBytes, request.tooLarge ?? (() => tooLarge(request, url)))
      : await readErrorBody(fetched.response, ctx.limits.maxErrorBodyBytes);
    return { kind: 'response', response: { status, headers, url, body } };
  } catch (error) {
    if (error instanceof SigverifyError) throw error;
    if (ctx.signal?.aborted === true) throw callerAborted(ctx.signal.reason, request);
    if (timeout.aborted) {
      throw new SigverifyError(
        'REGISTRY_TIMEOUT',
        `${request.what}: no complete response from ${url.origin} within ${ctx.limits.requestTimeoutMs} ms`,
        { cause: error, details: { ...request.details, url: redactUrl(url) } },
      );
    }
    return { kind: 'network-error', cause: error };
  }
}

async function fetchFollowingRedirects(
  request: HttpRequest,
  signal: AbortSignal,
  ctx: HttpContext,
): Promise<{ response: Response; url: URL }> {
  const visited = new Set<string>();
  let url = request.url;
  for (let redirects = 0; ; redirects++) {
    visited.add(url.href);
    const response = await ctx.fetch(url, {
      method: request.form === undefined && request.json === undefined ? 'GET' : 'POST',
      headers: requestHeaders(request, url, ctx),
      body: request.form ?? request.json,
      redirect: 'manual',
      signal,
    });
    if (!REDIRECT_STATUSES.has(response.status)) return { response, url };
    await discard(response);
    const target = resolveRedirect(url, response.headers.get('location'), ctx.allowHttp);
    const refusal =
      'refused' in target ? target.refused
      : redirects >= ctx.limits.maxRedirects ? `more than ${ctx.limits.maxRedirects} redirects`
      : visited.has(target.url.href) ? 'redirect loop'
      : request.redirects === 'same-origin' && target.url.origin !== request.url.origin ? `redirect to another origin (${target.url.origin})`
      : request.form !== undefined || request.json !== undefined ? 'a POST is not redirected'
      : undefined;
    if (refusal !== undefined) {
      throw new SigverifyError('REDIRECT_REFUSED', `${request.what}: redirect from ${redactUrl(url)} refused: ${refusal}`, {
        details: { ...request.details, status: response.status, url: redactUrl(url) },
      });
    }
    if ('url' in target) url = target.url;
  }
}

/**
 * Credentials belong to one origin: `Authorization` goes only to the origin the
 * request was made for. A blob GET is typically redirected to object storage
 * (distribution-spec "Pulling blobs": 307 to a pre-signed URL), which must not
 * see the registry token.
 */
function requestHeaders(request: HttpRequest, url: URL, ctx: HttpContext): Headers {
  const headers = new Headers(request.headers);
  headers.set('user-agent', ctx.userAgent);
  if (request.json !== undefined) headers.set('content-type', 'application/json');
  if (request.authorization !== undefined && url.origin === request.url.origin) {
    headers.set('authorization', request.authorization);
  }
  return headers;
}

/**
 * Where a redirect may go: an absolute http(s) URL without userinfo, never from
 * https down to http, and to http only for loopback or with `allowHttp`.
 */
export function resolveRedirect(from: URL, location: string | null, allowHttp: boolean): { url: URL } | { refused: string } {
  if (location === null) return { refused: 'no Location header' };
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    return { refused: 'Location is not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { refused: `scheme ${url.protocol} not allowed` };
  if (url.username !== '' || url.password !== '') return { refused: 'target carries credentials' };
  if (url.protocol === 'http:' && from.protocol === 'https:') return { refused: 'https to http downgrade' };
  if (url.protocol === 'http:' && !allowHttp && !isLoopbackHost(url.hostname)) {
    return { refused: `plain http to ${url.host}` };
  }
  return { url };
}

/** `localhost`, 127.0.0.0/8 and ::1, given a WHATWG `URL.hostname` (IPv6 in brackets). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A URL fit for messages and details: no userinfo, no query (pre-signed URLs carry tokens there), no fragment. */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * Retry-After as a delay in ms (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date); undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // All three HTTP-date forms start with a day name; Date.parse alone would read "-1" as a year.
  if (!/^[A-Za-z]{3,9},? /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Exponential back-off: base, 2×base, 4×base, … */
function backoffDelay(attempt: number, limits: Limits): number {
  return limits.retryBaseDelayMs * 2 ** attempt;
}

/** Reads a body, failing as soon as more than `maxBytes` arrived (Content-Length is only used to fail early). */
async function readBody(response: Response, maxBytes: number, tooLarge: () => SigverifyError): Promise<Uint8Array> {
  const declared = declaredLength(response.headers);
  if (declared !== undefined && declared > maxBytes) {
    await discard(response);
    throw tooLarge();
  }
  const chunks = await readChunks(response, maxBytes);
  if (chunks === undefined) throw tooLarge();
  return chunks;
}

/** At most `maxBytes` of an error body, for the message; the rest is dropped and read errors ignored. */
async function readErrorBody(response: Response, maxBytes: number): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const value = await nextChunk(reader);
      if (value === undefined) break;
      chunks.push(value.subarray(0, maxBytes - total));
      total += Math.min(value.byteLength, maxBytes - total);
    }
  } catch {
    // The error body is only decoration for the message.
  }
  await reader.cancel().catch(() => undefined);
  return concat(chunks, total);
}

/** The body, or undefined once more than `maxBytes` arrived (the stream is then cancelled). */
async function readChunks(response: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const value = await nextChunk(reader);
    if (value === undefined) return concat(chunks, total);
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
}

/** The next chunk of a body, or undefined at its end. Fetch bodies stream bytes; anything else is refused. */
async function nextChunk(reader: ReadableStreamDefaultReader<unknown>): Promise<Uint8Array | undefined> {
  const result = await reader.read();
  if (result.done) return undefined;
  if (!(result.value instanceof Uint8Array)) throw new TypeError('response body chunk is not a Uint8Array');
  return result.value;
}

// A fresh, unshared buffer (Buffer.concat may hand out a slice of Node's pool).
function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

// Content-Length counts encoded bytes; with a content-coding the decoded size is unknown until read.
function declaredLength(headers: Headers): number | undefined {
  const encoding = headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return undefined;
  const length = headers.get('content-length');
  return length !== null && /^\d+$/.test(length.trim()) ? Number(length.trim()) : undefined;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

async function pause(ms: number, request: HttpRequest, ctx: HttpContext): Promise<void> {
  try {
    await ctx.sleep(ms, ctx.signal);
  } catch (error) {
    if (ctx.signal?.aborted === true) throw callerAborted(ctx.signal.reason, request);
    throw error;
  }
}

/** The caller cancelled: keep its own error; a deadline (TimeoutError) becomes REGISTRY_TIMEOUT. */
function callerAborted(reason: unknown, request: HttpRequest): unknown {
  if (reason instanceof SigverifyError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new SigverifyError('REGISTRY_TIMEOUT', `${request.what}: deadline reached`, {
      cause: reason,
      details: { ...request.details, url: redactUrl(request.url) },
    });
  }
  return reason;
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function tooLarge(request: HttpRequest, url: URL): SigverifyError {
  return new SigverifyError('LIMIT_EXCEEDED', `${request.what}: response larger than ${request.maxBytes} bytes`, {
    details: { ...request.details, url: redactUrl(url), maxBytes: request.maxBytes },
  });
}

function unreachable(request: HttpRequest, cause: unknown): SigverifyError {
  const reason = networkReason(cause);
  return new SigverifyError(
    'REGISTRY_UNREACHABLE',
    `${request.what}: cannot reach ${request.url.origin}${reason === undefined ? '' : ` (${reason})`}`,
    { cause, details: { ...request.details, url: redactUrl(request.url), ...(reason === undefined ? {} : { reason }) } },
  );
}

/** A non-2xx the caller does not handle, after retries: the status and the registry's error codes. */
function httpError(request: HttpRequest, response: HttpResponse, why?: string): SigverifyError {
  const codes = registryErrorCodes(response.body);
  const suffix = [codes.length > 0 ? codes.join(', ') : undefined, why].filter((part) => part !== undefined).join('; ');
  return new SigverifyError(
    'REGISTRY_HTTP_ERROR',
    `${request.what}: ${response.url.origin} answered HTTP ${response.status}${suffix === '' ? '' : ` (${suffix})`}`,
    { details: { ...request.details, status: response.status, url: redactUrl(response.url), registryErrors: codes } },
  );
}

// distribution-spec "Error Codes": {"errors": [{"code": "...", "message": "...", "detail": ...}]}.
// Loose on purpose: only the codes are read; messages are server text we do not echo.
const ErrorBody = z.looseObject({ errors: z.array(z.looseObject({ code: z.string() })) });
// Codes are upper-case identifiers; anything else (control characters, prose) is not echoed.
const ERROR_CODE = /^[A-Z_]+$/;

/** The distribution-spec error codes in an error body (e.g. `DENIED`, `TOOMANYREQUESTS`); [] if none. */
export function registryErrorCodes(body: Uint8Array): string[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return [];
  }
  const parsed = ErrorBody.safeParse(json);
  if (!parsed.success) return [];
  return [...new Set(parsed.data.errors.map((e) => e.code).filter((code) => ERROR_CODE.test(code)))];
}

// undici reports "fetch failed" with the socket error (ECONNREFUSED, ENOTFOUND, …) somewhere down the cause chain.
function networkReason(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
