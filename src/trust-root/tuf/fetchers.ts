import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Fetcher } from 'tuf-js';
// tuf-js exports its error classes only from this module. The Updater ends a root walk on
// DownloadHTTPError 403/404 (TUF §5.3.3: "if the file is not available, go to 5.3.10").
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';
import { SigverifyError } from '../../errors.ts';
import { readFileCapped } from '../../io/read-capped.ts';
import type { Limits } from '../../limits.ts';
import { type HttpContext, defaultSleep, redactUrl, send } from '../../http/http.ts';
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

/**
 * A TUF mirror over HTTP(S), through the one HTTP layer (http/http.ts): one
 * deadline per request covering headers and body, bounded retries with
 * back-off, redirects followed by hand and only within the mirror's origin,
 * bodies capped while streaming. TUF metadata is signed, so plain HTTP is
 * acceptable for an intranet mirror. Failures are the trust root's
 * (TRUST_ROOT_UNAVAILABLE), not a registry's; absence and excess length are
 * the errors tuf-js expects (DownloadHTTPError, DownloadLengthMismatchError).
 */
export class HttpTufFetcher extends TufFetcher {
  readonly #http: HttpContext;

  /** `fetchImpl`: default the global fetch, looked up at each request. */
  constructor(mirrorUrl: string, limits: Limits, fetchImpl?: typeof fetch) {
    super(describeRepository({ kind: 'http', url: mirrorUrl }), new URL(mirrorUrl), limits);
    this.#http = {
      fetch: (input, init) => (fetchImpl ?? globalThis.fetch)(input, init),
      limits,
      allowHttp: true,
      userAgent: `sigverify/${VERSION}`,
      sleep: defaultSleep,
      now: Date.now,
    };
  }

  protected async read(url: URL, name: string, maxBytes: number): Promise<Buffer> {
    let response;
    try {
      response = await send({ url, what: `${this.location}: ${name}`, maxBytes, redirects: 'same-origin', details: { url: redactUrl(url) } }, this.#http);
    } catch (error) {
      if (!(error instanceof SigverifyError)) throw error;
      if (error.code === 'LIMIT_EXCEEDED') throw new DownloadLengthMismatchError(`${name} is larger than ${maxBytes} bytes`);
      // Unreachable, timed out, failing, redirected away: no trust root from here.
      throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', error.message, { cause: error, details: error.details });
    }
    if (response.status === 403 || response.status === 404) throw new DownloadHTTPError(`${name}: HTTP ${response.status}`, response.status);
    if (response.status < 200 || response.status > 299) {
      throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `${this.location}: ${name} answered HTTP ${response.status}`, { details: { url: redactUrl(url), status: response.status } });
    }
    return Buffer.from(response.body);
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
