import { SigverifyError } from '../errors.ts';
import { type HttpContext, redactUrl, send } from '../http/http.ts';
import { parseJson } from '../json/parse.ts';
import type { Limits } from '../limits.ts';
import type * as z from 'zod';

/**
 * A transparency log over HTTP, for the monitor: every request through the
 * one HTTP layer (deadline, retries, redirects, body caps), counted against
 * `maxLogRequests` and for the cost figures, each answer capped at
 * `maxLogResponseBytes`. A 404 is the caller's to interpret; every other
 * failure keeps the HTTP layer's code (unreachable, timeout, HTTP error).
 */
export class LogHttp {
  readonly base: URL;
  #requests = 0;
  readonly #ctx: HttpContext;
  readonly #limits: Limits;

  constructor(base: string, ctx: HttpContext) {
    this.base = new URL(base.endsWith('/') ? base : `${base}/`);
    this.#ctx = ctx;
    this.#limits = ctx.limits;
  }

  get requests(): number {
    return this.#requests;
  }

  /** GET `path` (relative to the log's URL); undefined on 404. */
  async get(path: string, what: string): Promise<Uint8Array | undefined> {
    return this.#send(path, what, undefined);
  }

  /** POST JSON to `path`; undefined on 404. */
  async post(path: string, body: unknown, what: string): Promise<Uint8Array | undefined> {
    return this.#send(path, what, JSON.stringify(body));
  }

  /** GET or POST, then parse the JSON answer with `schema`; 404 is LOG_RESPONSE_INVALID unless `absent` allows it. */
  async json<T extends z.ZodType>(schema: T, path: string, what: string, body?: unknown): Promise<z.output<T>> {
    const bytes = body === undefined ? await this.get(path, what) : await this.post(path, body, what);
    if (bytes === undefined) throw this.invalid(`${what}: not found (HTTP 404)`);
    return parseJson(schema, Buffer.from(bytes), (reason, cause) => this.invalid(`${what}: malformed answer: ${reason}`, cause));
  }

  invalid(message: string, cause?: unknown): SigverifyError {
    return new SigverifyError('LOG_RESPONSE_INVALID', `${redactUrl(this.base)}: ${message}`, { ...(cause === undefined ? {} : { cause }), details: { url: redactUrl(this.base) } });
  }

  async #send(path: string, what: string, json: string | undefined): Promise<Uint8Array | undefined> {
    if (this.#requests >= this.#limits.maxLogRequests) throw this.invalid(`more than ${this.#limits.maxLogRequests} requests (maxLogRequests)`);
    this.#requests += 1;
    const url = new URL(path, this.base);
    const maxBytes = this.#limits.maxLogResponseBytes;
    const response = await send({
      url,
      what: `${what} (${redactUrl(url)})`,
      maxBytes,
      redirects: 'same-origin',
      headers: { accept: json === undefined ? '*/*' : 'application/json' },
      ...(json === undefined ? {} : { json }),
      tooLarge: () => this.invalid(`${what}: answer larger than ${maxBytes} bytes (maxLogResponseBytes)`),
    }, this.#ctx);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new SigverifyError('REGISTRY_HTTP_ERROR', `${what}: ${url.origin} answered HTTP ${response.status}`, { details: { url: redactUrl(url), status: response.status } });
    return response.body;
  }
}
