import { type Readable, type Transform, pipeline } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { constants as zlib, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Agent, Dispatcher } from 'undici';
import * as z from 'zod';
import { type ErrorDetails, SigverifyError } from '../errors.ts';
import type { Limits } from '../limits.ts';

/**
 * The one HTTP layer: every registry, token and TUF mirror request goes
 * through it (model: tuf-js `BaseFetcher.downloadFile`). It adds, on
 * top of the transport: one deadline per attempt covering headers and
 * body, bounded retries with back-off, redirects followed by hand (so
 * `Authorization` never leaves the origin it was meant for), and body reads
 * capped while streaming. It knows nothing about manifests or auth.
 *
 * The transport is the caller's `fetch` when given (tests, embedders), else
 * one pooled undici `Agent` per thread, spoken to with `request`: kept-alive
 * connections per origin, and none of `fetch`'s per-request WHATWG objects
 * (Request, Response, web streams), which cost a registry verification about
 * as much CPU as verifying the signature did (bench/profile.ts).
 */
export interface HttpContext {
  /** The transport; default the pooled undici agent (see above). */
  readonly fetch?: typeof fetch;
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

/** What callers read of response headers: one field by name, repeated fields joined by ", " (WHATWG `Headers.get`). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse {
  /** 2xx, 401, 403, 404 or one of the request's `callerStatuses`: every other status is retried or thrown here. */
  readonly status: number;
  readonly headers: ResponseHeaders;
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

/**
 * One try: redirects, status and body under a single deadline (headers AND
 * body). The deadline is a timer cleared as soon as the try ends, rather than
 * `AbortSignal.timeout`, whose timer and signal stay alive for the whole
 * timeout after the response is read (thousands of them at a few hundred
 * requests a second).
 */
async function attemptOnce(request: HttpRequest, ctx: HttpContext): Promise<Attempt> {
  const deadline = new AbortController();
  const timeout = deadline.signal;
  const timer = setTimeout(() => {
    deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ctx.limits.requestTimeoutMs);
  timer.unref();
  const signal = ctx.signal === undefined ? timeout : AbortSignal.any([ctx.signal, timeout]);
  try {
    return await attemptUntil(request, signal, timeout, ctx);
  } finally {
    clearTimeout(timer);
  }
}

async function attemptUntil(request: HttpRequest, signal: AbortSignal, timeout: AbortSignal, ctx: HttpContext): Promise<Attempt> {
  let url = request.url;
  try {
    const fetched = await followingRedirects(request, signal, ctx);
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

/** A response as both transports give it: status, headers, and the body as a stream of byte chunks. */
interface RawResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** Reads the next chunk; undefined at the end of the body. */
  next(): Promise<Uint8Array | undefined>;
  /** Stops reading: the rest of the body is not wanted. */
  cancel(): Promise<void>;
}

async function followingRedirects(request: HttpRequest, signal: AbortSignal, ctx: HttpContext): Promise<{ response: RawResponse; url: URL }> {
  const visited = new Set<string>();
  let url = request.url;
  for (let redirects = 0; ; redirects++) {
    visited.add(url.href);
    const response = ctx.fetch === undefined ? await pooledRequest(request, url, signal, ctx) : await fetchRequest(ctx.fetch, request, url, signal, ctx);
    if (!REDIRECT_STATUSES.has(response.status)) return { response, url };
    await response.cancel();
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

/** A form (OAuth2 token endpoint) or JSON (Rekor's search) makes the request a POST. */
function requestBody(request: HttpRequest): { method: 'GET' | 'POST'; body?: string } {
  if (request.form !== undefined) return { method: 'POST', body: request.form.toString() };
  if (request.json !== undefined) return { method: 'POST', body: request.json };
  return { method: 'GET' };
}

/** One request through the caller's `fetch`, redirects left to {@link followingRedirects}. */
async function fetchRequest(fetchImpl: typeof fetch, request: HttpRequest, url: URL, signal: AbortSignal, ctx: HttpContext): Promise<RawResponse> {
  const { method, body } = requestBody(request);
  const response = await fetchImpl(url, {
    method,
    headers: new Headers(requestHeaders(request, url, ctx)),
    body: body ?? null,
    redirect: 'manual',
    signal,
  });
  const reader = response.body?.getReader();
  return {
    status: response.status,
    headers: response.headers,
    next: () => (reader === undefined ? Promise.resolve(undefined) : nextChunk(reader)),
    cancel: async () => {
      await (reader === undefined ? response.body?.cancel() : reader.cancel())?.catch(() => undefined);
    },
  };
}

// One agent per thread (module state is per isolate), created on the first request, so that commands
// which never reach a registry (an OCI layout, a cached answer) do not load undici at all.
let pool: Promise<Agent> | undefined;

/** undici's keep-alive default is 4 s; a gate verifying now and then keeps its connections a little longer. */
const KEEP_ALIVE_MS = 30_000;

function pooledAgent(): Promise<Agent> {
  pool ??= import('undici').then(({ Agent }) => new Agent({ keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: KEEP_ALIVE_MS }));
  return pool;
}

/** One request through the pooled agent; undici's `request` never follows redirects by itself. */
async function pooledRequest(request: HttpRequest, url: URL, signal: AbortSignal, ctx: HttpContext): Promise<RawResponse> {
  const agent = await pooledAgent();
  const headers = requestHeaders(request, url, ctx);
  const { method, body: requestBytes } = requestBody(request);
  const response: Dispatcher.ResponseData = await agent.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method,
    headers,
    body: requestBytes ?? null,
    signal,
  });
  const { body } = response;
  // Errors after we stop reading (a destroyed body, a reset socket) are not this request's outcome.
  body.on('error', () => undefined);
  const decoders = contentDecoders(response.headers['content-encoding']);
  // Decoded: the body through its decoders (pipeline ends in, and destroys through, the last one).
  const decoded: Readable = decoders.at(-1) ?? body;
  if (decoders.length > 0) {
    pipeline([body, ...decoders], () => undefined);
    decoded.on('error', () => undefined);
  }
  const chunks = decoded[Symbol.asyncIterator]();
  let started = false;
  return {
    status: response.statusCode,
    headers: headersOf(response.headers),
    next: async () => {
      started = true;
      const result = (await chunks.next()) as IteratorResult<unknown>;
      if (result.done === true) return undefined;
      if (!(result.value instanceof Uint8Array)) throw new TypeError('response body chunk is not a Uint8Array');
      return result.value;
    },
    // An unread body (a redirect's, an error's) is drained up to a small limit so the connection
    // stays in the pool; one read partly (over a cap) is dropped with its connection.
    cancel: async () => {
      if (!started && decoders.length === 0) await body.dump({ limit: DRAIN_LIMIT_BYTES }).catch(() => undefined);
      else decoded.destroy();
    },
  };
}

/**
 * Decoders for a Content-Encoding, innermost last, as fetch has them (undici
 * `lib/web/fetch`): gzip, deflate and br decoded, leniently at the end of the
 * stream; an unknown coding anywhere leaves the body as it came; more than
 * five codings is refused. We do not ask for compression (no
 * Accept-Encoding), but a server may compress anyway, and the caps count
 * decoded bytes either way (a small gzip body can inflate to gigabytes).
 */
function contentDecoders(header: string | string[] | undefined): Transform[] {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || value.trim() === '') return [];
  const codings = value.toLowerCase().split(',').map((c) => c.trim());
  if (codings.length > MAX_CONTENT_CODINGS) throw new TypeError(`too many content-encodings in response: ${codings.length}`);
  const decoders: Transform[] = [];
  for (const coding of codings.reverse()) {
    if (coding === 'gzip' || coding === 'x-gzip') decoders.push(createGunzip({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH }));
    else if (coding === 'deflate') decoders.push(createInflate({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH }));
    else if (coding === 'br') decoders.push(createBrotliDecompress({ flush: zlib.BROTLI_OPERATION_FLUSH, finishFlush: zlib.BROTLI_OPERATION_FLUSH }));
    else if (coding !== 'identity') return [];
  }
  return decoders;
}

const MAX_CONTENT_CODINGS = 5;

/** Most bytes read and thrown away to keep a connection reusable (undici's own default for `dump`). */
const DRAIN_LIMIT_BYTES = 128 * 1024;

/**
 * undici's header object read as `Headers.get` reads (names are lower-case in
 * it; values trimmed of HTTP whitespace; repeated fields joined by ", " as
 * fetch does), field by field when asked: a WHATWG `Headers` built per
 * response cost more CPU than reading the two or three fields a registry
 * client looks at.
 */
function headersOf(raw: Dispatcher.ResponseData['headers']): ResponseHeaders {
  return {
    get(name: string): string | null {
      const key = name.toLowerCase();
      const value = Object.hasOwn(raw, key) ? raw[key] : undefined;
      if (value === undefined) return null;
      return Array.isArray(value) ? value.map(trimHttpWhitespace).join(', ') : trimHttpWhitespace(value);
    },
  };
}

/** Fetch's header-value normalisation: leading and trailing HTTP whitespace (tab, space, CR, LF) removed. */
function trimHttpWhitespace(value: string): string {
  return value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
}

/**
 * Credentials belong to one origin: `Authorization` goes only to the origin the
 * request was made for. A blob GET is typically redirected to object storage
 * (distribution-spec "Pulling blobs": 307 to a pre-signed URL), which must not
 * see the registry token.
 */
function requestHeaders(request: HttpRequest, url: URL, ctx: HttpContext): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  headers['user-agent'] = ctx.userAgent;
  if (request.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
  else if (request.json !== undefined) headers['content-type'] = 'application/json';
  if (request.authorization !== undefined && url.origin === request.url.origin) {
    headers['authorization'] = request.authorization;
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
async function readBody(response: RawResponse, maxBytes: number, tooLarge: () => SigverifyError): Promise<Uint8Array> {
  const declared = declaredLength(response.headers);
  if (declared !== undefined && declared > maxBytes) {
    await response.cancel();
    throw tooLarge();
  }
  const chunks = await readChunks(response, maxBytes);
  if (chunks === undefined) throw tooLarge();
  return chunks;
}

/** At most `maxBytes` of an error body, for the message; the rest is dropped and read errors ignored. */
async function readErrorBody(response: RawResponse, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  try {
    while (total < maxBytes) {
      const value = await response.next();
      if (value === undefined) {
        ended = true;
        break;
      }
      chunks.push(value.subarray(0, maxBytes - total));
      total += Math.min(value.byteLength, maxBytes - total);
    }
  } catch {
    // The error body is only decoration for the message.
  }
  if (!ended) await response.cancel();
  return concat(chunks, total);
}

/** The body, or undefined once more than `maxBytes` arrived (the stream is then cancelled). */
async function readChunks(response: RawResponse, maxBytes: number): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const value = await response.next();
    if (value === undefined) {
      // One chunk that owns its whole buffer is handed out as is: one copy fewer.
      const [only] = chunks;
      return chunks.length === 1 && only !== undefined && !isPooled(only) ? only : concat(chunks, total);
    }
    total += value.byteLength;
    if (total > maxBytes) {
      await response.cancel();
      return undefined;
    }
    chunks.push(value);
  }
}

/** True when the bytes are a view into a larger buffer (a slice of a socket read), which must not be handed out as is. */
function isPooled(bytes: Uint8Array): boolean {
  return bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength;
}

/** The next chunk of a fetch body, or undefined at its end. Fetch bodies stream bytes; anything else is refused. */
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
function declaredLength(headers: ResponseHeaders): number | undefined {
  const encoding = headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return undefined;
  const length = headers.get('content-length');
  return length !== null && /^\d+$/.test(length.trim()) ? Number(length.trim()) : undefined;
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
