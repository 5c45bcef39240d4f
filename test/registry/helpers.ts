import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { type ErrorCode, SigverifyError } from '../../src/errors.ts';
import { type Limits, resolveLimits } from '../../src/limits.ts';
import type { Digest } from '../../src/reference/index.ts';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry/index.ts';

/**
 * An in-process HTTP server on 127.0.0.1 for the lies, faults and auth flows a
 * real registry will not produce on demand. Every request is recorded.
 */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** `127.0.0.1:<port>`, usable as a registry host. */
  readonly host: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => unknown;

const servers: TestServer[] = [];

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      void Promise.resolve(handler(req, res, recorded)).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const testServer: TestServer = {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => { resolve(); });
      }),
  };
  servers.push(testServer);
  return testServer;
}

/** Closes every server started since the last call (use in afterEach). */
export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()));
}

export function digestOf(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A small, valid-looking OCI manifest. */
export function manifestBytes(annotation = 'a'): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf('{}'), size: 2 },
      layers: [],
      annotations: { test: annotation },
    }),
  );
}

/** Limits for tests: fast back-off, short deadlines. */
export const testLimits: Limits = resolveLimits({ retryBaseDelayMs: 1, requestTimeoutMs: 2_000, maxRetries: 2 });

/** A sleep that records the delays asked for and returns at once. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: (ms) => (delays.push(ms), Promise.resolve()) };
}

/** The repository the client tests talk to. */
export const REPO = 'org/app';

/** A client for `REPO` on `server`, with test limits and a sleep that returns at once. */
export function clientFor(server: TestServer, options: Partial<RegistryClientOptions> = {}): RegistryClient {
  return new RegistryClient({ registry: server.host, repository: REPO, limits: testLimits, sleep: recordingSleep().sleep, ...options });
}

/** Asserts that `promise` rejects with a SigverifyError of `code`, and returns it. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<SigverifyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SigverifyError);
  expect(error).toMatchObject({ code });
  return error as SigverifyError;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
