import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Fetcher } from 'tuf-js';
// tuf-js exports its error classes only from this module. The Updater ends a root walk on
// DownloadHTTPError 403/404 (TUF §5.3.3: "if the file is not available, go to 5.3.10").
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';
import { SigverifyError } from '../../errors.ts';
import { readFileCapped } from '../../io/read-capped.ts';
import type { Limits } from '../../limits.ts';
import { redactUrl, resolveRedirect } from '../../registry/http.ts';
import { VERSION } from '../../version.ts';
import type { TufRole } from '../trusted-root.ts';
import { type TufRepositoryLocation, describeRepository } from './source.ts';

/**
 * The fetchers handed to tuf-js's Updater (its `Fetcher` interface) and used
 * by our own expired-metadata path. Every read is capped twice: by the length
 * tuf-js asks for (a role's recorded length, the config's cap) and by our own
 * `Limits` for that kind of file, whichever is smaller; a longer file is a
 * DownloadLengthMismatchError, as tuf-js expects. Files are named relative to
 * the repository (`3.root.json`, `targets/<sha256>.trusted_root.json`); a URL
 * outside the repository is refused.
 */
export abstract class TufFetcher implements Fetcher {
  /** For messages: the mirror URL or directory. */
  readonly location: string;
  /** tuf-js `metadataBaseUrl` (ends with `/`). */
  readonly metadataBaseUrl: string;
  /** tuf-js `targetBaseUrl`. */
  readonly targetBaseUrl: string;
  /** What this fetcher read, by repository-relative name: what tuf-js saw, to explain its failures. */
  readonly received = new Map<string, Buffer>();
  /** The failure of the latest read and the file it was for, cleared by the next successful read. */
  lastFailure: { readonly name: string; readonly error: unknown } | undefined = undefined;
  protected readonly limits: Limits;

  protected constructor(location: string, base: URL, limits: Limits) {
    this.location = location;
    this.metadataBaseUrl = base.href.endsWith('/') ? base.href : `${base.href}/`;
    this.targetBaseUrl = `${this.metadataBaseUrl}targets/`;
    this.limits = limits;
  }

  /** Reads one repository file: DownloadHTTPError(404) when absent, DownloadLengthMismatchError past `maxBytes`. */
  protected abstract read(url: URL, name: string, maxBytes: number): Promise<Buffer>;

  /** A repository file by name (`timestamp.json`, `targets/…`), with the caps of {@link capFor}. */
  readFile(name: string, maxBytes: number): Promise<Buffer> {
    return this.downloadBytes(new URL(name, this.metadataBaseUrl).href, maxBytes);
  }

  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const parsed = new URL(url);
    const name = parsed.href.startsWith(this.metadataBaseUrl) ? safeDecode(parsed.href.slice(this.metadataBaseUrl.length)) : undefined;
    try {
      if (name === undefined || name === '' || name.split('/').includes('..')) {
        throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `${this.location}: refusing to read ${redactUrl(parsed)}, outside the repository`);
      }
      const bytes = await this.read(parsed, name, Math.min(maxLength, this.capFor(name)));
      this.received.set(name, bytes);
      this.lastFailure = undefined;
      return bytes;
    } catch (error) {
      this.lastFailure = { name: name ?? parsed.href, error };
      throw error;
    }
  }

  /** tuf-js downloads targets to a file and hands its path to `handler`. */
  async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const bytes = await this.downloadBytes(url, maxLength);
    const dir = await mkdtemp(join(tmpdir(), 'sigverify-tuf-'));
    try {
      const file = join(dir, 'download');
      await writeFile(file, bytes);
      return await handler(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Our own cap for a repository file, by kind (Limits: maxTuf*Bytes, maxTrustFileBytes for targets). */
  capFor(name: string): number {
    const role = roleOf(name);
    return role === 'root' ? this.limits.maxTufRootBytes
      : role === 'timestamp' ? this.limits.maxTufTimestampBytes
      : role === 'snapshot' ? this.limits.maxTufSnapshotBytes
      : role === 'targets' ? this.limits.maxTufTargetsBytes
      : this.limits.maxTrustFileBytes;
  }
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The top-level role a repository file holds (`3.root.json`, `timestamp.json`, `7.snapshot.json`, …); undefined for targets files. */
export function roleOf(name: string): TufRole | undefined {
  const match = /^(?:\d+\.)?(root|timestamp|snapshot|targets)\.json$/.exec(name);
  return match === null ? undefined : (match[1] as TufRole);
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

/**
 * A TUF mirror over HTTP(S) with the global `fetch` (injectable). TUF metadata
 * is signed, so plain HTTP is acceptable for an intranet mirror; redirects are
 * followed by hand and only within the mirror's origin; one deadline per
 * request covers headers and body; transient failures are retried with
 * back-off (Limits: requestTimeoutMs, maxRedirects, maxRetries, retryBaseDelayMs).
 */
export class HttpTufFetcher extends TufFetcher {
  readonly #fetch: typeof fetch | undefined;
  readonly #origin: string;

  /** `fetchImpl`: default the global fetch, looked up at each request. */
  constructor(mirrorUrl: string, limits: Limits, fetchImpl?: typeof fetch) {
    const base = new URL(mirrorUrl);
    super(describeRepository({ kind: 'http', url: mirrorUrl }), base, limits);
    this.#fetch = fetchImpl;
    this.#origin = base.origin;
  }

  protected async read(url: URL, name: string, maxBytes: number): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.limits.maxRetries;
      let response: { status: number; body?: Buffer };
      try {
        response = await this.#attempt(url, name, maxBytes);
      } catch (error) {
        if (error instanceof SigverifyError || error instanceof DownloadLengthMismatchError) throw error;
        // A deadline is not retried: the next attempt would most likely wait as long.
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        if (timedOut || last) throw this.#unreachable(name, timedOut ? new Error(`no complete response within ${this.limits.requestTimeoutMs} ms`, { cause: error }) : error);
        await delay(this.limits.retryBaseDelayMs * 2 ** attempt);
        continue;
      }
      if (response.body !== undefined) return response.body;
      if (response.status === 403 || response.status === 404) throw new DownloadHTTPError(`${name}: HTTP ${response.status}`, response.status);
      if (!RETRYABLE_STATUSES.has(response.status) || last) {
        throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `${this.location}: ${name} answered HTTP ${response.status}`, {
          details: { url: redactUrl(url), status: response.status },
        });
      }
      await delay(this.limits.retryBaseDelayMs * 2 ** attempt);
    }
  }

  async #attempt(first: URL, name: string, maxBytes: number): Promise<{ status: number; body?: Buffer }> {
    const signal = AbortSignal.timeout(this.limits.requestTimeoutMs);
    let url = first;
    for (let redirects = 0; ; redirects++) {
      const response = await (this.#fetch ?? globalThis.fetch)(url, { redirect: 'manual', signal, headers: { 'user-agent': `sigverify/${VERSION}` } });
      if (REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        const target = resolveRedirect(url, response.headers.get('location'), true);
        const refusal = 'refused' in target ? target.refused
          : target.url.origin !== this.#origin ? `redirect to another origin (${target.url.origin})`
          : redirects >= this.limits.maxRedirects ? `more than ${this.limits.maxRedirects} redirects`
          : undefined;
        if (refusal !== undefined || !('url' in target)) {
          throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `${this.location}: ${name}: ${refusal ?? 'redirect refused'}`, { details: { url: redactUrl(url) } });
        }
        url = target.url;
        continue;
      }
      if (response.status < 200 || response.status > 299) {
        await response.body?.cancel().catch(() => undefined);
        return { status: response.status };
      }
      return { status: response.status, body: await readBody(response, name, maxBytes) };
    }
  }

  #unreachable(name: string, cause: unknown): SigverifyError {
    // undici reports "fetch failed" with the socket error (ECONNREFUSED, ENOTFOUND, …) down the cause chain.
    let reason = (cause as Error).message;
    for (let e: unknown = cause, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string') reason = `${reason}: ${code}`;
    }
    return new SigverifyError('TRUST_ROOT_UNAVAILABLE', `${this.location}: cannot read ${name} (${reason})`, { cause });
  }
}

async function readBody(response: Response, name: string, maxBytes: number): Promise<Buffer> {
  const declared = response.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes && response.headers.get('content-encoding') === null) {
    await response.body?.cancel().catch(() => undefined);
    throw new DownloadLengthMismatchError(`${name} is larger than ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const reader: ReadableStreamDefaultReader<unknown> | undefined = response.body?.getReader();
  if (reader === undefined) return Buffer.alloc(0);
  for (;;) {
    const result = await reader.read();
    if (result.done) return Buffer.concat(chunks, total);
    const value = result.value;
    if (!(value instanceof Uint8Array)) throw new TypeError('response body chunk is not a Uint8Array');
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new DownloadLengthMismatchError(`${name} is larger than ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
}

/**
 * A TUF repository in a directory, read by path: removable media, or a
 * `trust export`. No network at all. Names cannot leave the directory.
 */
export class DirectoryTufFetcher extends TufFetcher {
  readonly #root: string;

  constructor(path: string, limits: Limits) {
    const root = resolve(path);
    super(describeRepository({ kind: 'directory', path: root }), pathToFileURL(`${root}${sep}`), limits);
    this.#root = root;
  }

  protected async read(url: URL, name: string, maxBytes: number): Promise<Buffer> {
    const path = fileURLToPath(url);
    const inside = relative(this.#root, path);
    if (inside === '' || inside.startsWith('..') || resolve(this.#root, inside) !== path) {
      throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `${this.location}: refusing to read ${name}, outside the repository`);
    }
    let bytes: Buffer | undefined;
    try {
      bytes = await readFileCapped(path, maxBytes);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new DownloadHTTPError(`${name}: not in ${this.#root}`, 404);
      throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `${this.location}: cannot read ${name} (${(cause as Error).message})`, { cause });
    }
    if (bytes === undefined) throw new DownloadLengthMismatchError(`${name} is larger than ${maxBytes} bytes`);
    return bytes;
  }
}

export function fetcherFor(location: TufRepositoryLocation, limits: Limits, fetchImpl?: typeof fetch): TufFetcher {
  return location.kind === 'http' ? new HttpTufFetcher(location.url, limits, fetchImpl) : new DirectoryTufFetcher(location.path, limits);
}
