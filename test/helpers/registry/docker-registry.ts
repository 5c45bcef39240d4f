/**
 * A real OCI registry for integration tests: Debian's `docker-registry`
 * package (CNCF distribution 2.8.2), started on a random loopback port with
 * filesystem storage in a fresh temporary directory, no auth, and nothing that
 * reaches beyond the machine.
 *
 * What this registry version does and does not do, as later tests rely on it:
 * - serves OCI image manifests and indexes, and deletes manifests by digest;
 * - does NOT implement the referrers API (distribution-spec 1.1):
 *   `GET /v2/<repo>/referrers/<digest>` answers 404 with a `text/plain`
 *   "404 page not found" body (the route is unknown to the router), so
 *   referrers discovery must fall back to the `sha256-<hex>` referrers tag.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RegistryOptions {
  /** How long to wait for `GET /v2/` to answer 200, in ms. Default 10 s. */
  readonly startTimeoutMs?: number;
  /** Read-only mode (distribution `storage.maintenance.readonly`): pulls work, every push is refused. */
  readonly readOnly?: boolean;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as it appears in an image reference. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  /** Stops the registry and removes its storage. Safe to call more than once. */
  stop(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;
/** Attempts to start on a fresh port when the one picked was taken in between. */
const MAX_PORT_ATTEMPTS = 5;
const STOP_GRACE_MS = 5_000;
const POLL_INTERVAL_MS = 50;
/** How much of the registry's output is kept for error messages, in characters. */
const OUTPUT_TAIL_CHARS = 8 * 1024;
const INSTALL_HINT = "install Debian's docker-registry package (apt-get install docker-registry)";

/** The registry binary: `DOCKER_REGISTRY_BIN`, else Debian's `/usr/bin/docker-registry`. */
export function registryBinary(): string {
  const bin = process.env['DOCKER_REGISTRY_BIN'] || '/usr/bin/docker-registry';
  if (!existsSync(bin)) {
    throw new Error(`registry binary ${bin} not found: ${INSTALL_HINT}`);
  }
  return bin;
}

/** A loopback port that was free a moment ago (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address === 'string') {
    throw new Error(`unexpected server address ${String(address)}`);
  }
  return address.port;
}

/**
 * `127.0.0.1:<port>` with nothing listening: a "registry down" address.
 * The port was free when checked; nothing in the tests binds it afterwards.
 */
export async function unusedLoopbackAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/**
 * Every response of one registry instance carries this header with its own
 * random value, so the readiness check cannot mistake another server that won
 * a race for the same port for ours.
 */
const INSTANCE_HEADER = 'X-Sigverify-Test-Registry';

/** The registry's configuration (distribution `docs/configuration.md`). JSON is valid YAML. */
function registryConfig(storageDir: string, port: number, instance: string, readOnly: boolean): string {
  return JSON.stringify(
    {
      version: 0.1,
      log: { level: 'warn', formatter: 'text', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false }, ...(readOnly ? { readonly: { enabled: true } } : {}) },
      },
      // An explicit secret silences the "No HTTP secret provided" warning; no `debug`, `host`, `tls`.
      http: {
        addr: `127.0.0.1:${port}`,
        secret: randomBytes(16).toString('hex'),
        headers: { [INSTANCE_HEADER]: [instance] },
      },
      health: { storagedriver: { enabled: false } },
    },
    null,
    2,
  );
}

/**
 * The environment for the registry: ours without `REGISTRY_*`, which the
 * registry reads as configuration overrides (`REGISTRY_HTTP_ADDR`, …).
 */
function registryEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')));
}

/** Keeps the last few KiB of a child's stdout and stderr together. */
function captureOutput(child: ChildProcess): () => string {
  let tail = '';
  const append = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => tail;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `GET /v2/` answers 200 from this very instance. */
async function isReady(url: string, instance: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.status === 200 && response.headers.get(INSTANCE_HEADER) === instance;
  } catch {
    return false;
  }
}

/** Resolves once the child has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => { resolve(); }));
}

async function terminate(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await done;
  clearTimeout(timer);
}

class PortTakenError extends Error {}

async function startOnPort(bin: string, dir: string, port: number, timeoutMs: number, readOnly: boolean): Promise<RunningRegistry> {
  const configPath = join(dir, 'config.yml');
  const instance = randomBytes(16).toString('hex');
  await writeFile(configPath, registryConfig(join(dir, 'storage'), port, instance, readOnly));

  const child = spawn(bin, ['serve', configPath], { env: registryEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  // A test runner that exits without calling stop() must not leave the registry behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gone = spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
    if (!gone && (await isReady(url, instance))) break;
    if (gone || Date.now() >= deadline) {
      process.off('exit', killOnExit);
      await terminate(child);
      const log = output();
      if (/address already in use/i.test(log)) throw new PortTakenError(log);
      const why = spawnError
        ? `could not run ${bin}: ${spawnError.message}`
        : gone
          ? `${bin} exited (code ${child.exitCode}, signal ${child.signalCode})`
          : `${bin} did not answer GET ${url}/v2/ with 200 (and its ${INSTANCE_HEADER} header) within ${timeoutMs} ms`;
      throw new Error(`registry failed to start: ${why}\n--- registry output (tail) ---\n${log}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }

  let stopping: Promise<void> | undefined;
  return {
    host,
    url,
    stop() {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        await terminate(child);
      })();
      return stopping;
    },
  };
}

/** Starts a private registry on a random loopback port; call `stop()` when done. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const bin = registryBinary();
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const dir = await mkdtemp(join(tmpdir(), 'sigverify-registry-'));
  const removeDir = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    let portTaken = '';
    for (let attempt = 1; attempt <= MAX_PORT_ATTEMPTS; attempt++) {
      try {
        const registry = await startOnPort(bin, dir, await freePort(), timeoutMs, options.readOnly === true);
        return {
          host: registry.host,
          url: registry.url,
          async stop() {
            await registry.stop();
            await removeDir();
          },
        };
      } catch (error) {
        // EADDRINUSE: another process took the port between freePort() and the registry's bind.
        if (!(error instanceof PortTakenError)) throw error;
        portTaken = error.message;
      }
    }
    throw new Error(
      `registry failed to start: port taken ${MAX_PORT_ATTEMPTS} times\n--- registry output (tail) ---\n${portTaken}`,
    );
  } catch (error) {
    await removeDir();
    throw error;
  }
}
