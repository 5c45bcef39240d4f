import { homedir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import { DEFAULT_LIMITS, type Limits } from '../limits.ts';
import { readFileCapped } from '../io/read-capped.ts';
import { DOCKER_HUB, DOCKER_HUB_ALIASES } from '../reference/index.ts';
import { type CredentialSource, type Credentials, IDENTITY_TOKEN_USERNAME } from './credentials.ts';

/**
 * Credentials from the docker CLI configuration (docker/cli `cli/config`,
 * "config.json" in the `docker login` docs): `$DOCKER_CONFIG/config.json`,
 * else `~/.docker/config.json`. Lookup follows docker's order: a `credHelpers`
 * entry for the registry, else the default `credsStore`, else the inline
 * `auths` entry. Keys match the registry host exactly (after removing a scheme
 * and a `/v1/` or `/v2/` suffix): `example.com` never matches `evil.example.com`
 * or `example.com.evil`.
 *
 * Not supported: `registrytoken` (a raw bearer token in `auths`) and the
 * `proxies`/`HttpHeaders` settings.
 */
export interface DockerConfigOptions {
  /** Read for DOCKER_CONFIG and HOME, and passed to credential helpers (PATH finds them); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** A config file to read instead of the DOCKER_CONFIG / HOME location. */
  readonly configPath?: string;
  readonly limits?: Limits;
}

// A helper is run as `docker-credential-<name>`: no path separators, no leading dot.
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

// Loose on purpose: config.json also holds unrelated settings (psFormat, proxies, plugins, …) and
// auth entries carry fields we ignore (email, serveraddress).
const AuthEntry = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
});
const DockerConfigSchema = z.looseObject({
  auths: z.record(z.string(), AuthEntry).optional(),
  credHelpers: z.record(z.string(), z.string().regex(HELPER_NAME)).optional(),
  // docker treats an empty credsStore as unset.
  credsStore: z.union([z.literal(''), z.string().regex(HELPER_NAME)]).optional(),
});
type DockerConfig = z.infer<typeof DockerConfigSchema>;

/** Where docker reads its config: `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  const dir = env['DOCKER_CONFIG'];
  if (dir !== undefined && dir !== '') return join(dir, 'config.json');
  const home = env['HOME'];
  return join(home !== undefined && home !== '' ? home : homedir(), '.docker', 'config.json');
}

/** Parses config.json text; DOCKER_CONFIG_INVALID names the zod issue paths. */
function parseDockerConfig(text: string, path: string): DockerConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // No cause: V8's SyntaxError quotes the text around the error, which here
    // may be a password (test/adversarial/secrets.test.ts, "unquoted password").
    throw configInvalid(path, 'not valid JSON');
  }
  const parsed = DockerConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw configInvalid(path, `invalid at ${parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ')}`);
  }
  return parsed.data;
}

/**
 * The host a config key names: docker writes `https://index.docker.io/v1/` for
 * Docker Hub and bare hosts or URLs for others. Only a scheme and a trailing
 * `/v1`/`/v2` path (with or without `/`) are removed; nothing else is fuzzy.
 */
export function configKeyHost(key: string): string {
  return key
    .replace(/^https?:\/\//i, '')
    .replace(/\/(?:v[12]\/?)?$/, '')
    .toLowerCase();
}


/**
 * The config key for `registry`, or undefined: a key that is exactly the host
 * wins over one that normalises to it; among those, the first in file order.
 */
export function matchConfigKey(keys: readonly string[], registry: string): string | undefined {
  const wanted = (key: string): boolean => {
    const host = configKeyHost(key);
    return host === registry || (registry === DOCKER_HUB && DOCKER_HUB_ALIASES.has(host));
  };
  return keys.find((key) => key === registry) ?? keys.find(wanted);
}

/** Credentials in one `auths` entry: `identitytoken`, else `auth` (base64 "user:pass"), else username/password. */
function authEntryCredentials(entry: z.infer<typeof AuthEntry>, path: string, key: string): Credentials | undefined {
  if (entry.identitytoken !== undefined && entry.identitytoken !== '') {
    return { username: IDENTITY_TOKEN_USERNAME, password: entry.identitytoken };
  }
  if (entry.auth !== undefined && entry.auth !== '') {
    const decoded = /^[A-Za-z0-9+/]*={0,2}$/.test(entry.auth) ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    // The key names the registry, never the secret, so it is safe in the message.
    if (colon === -1) throw configInvalid(path, `auths["${key}"].auth is not base64 of "username:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.username !== '' && entry.password !== undefined) {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** The server URL docker hands a credential helper: the legacy index URL for Docker Hub, else the host. */
function helperServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/** A {@link CredentialSource} over the docker config; the file is read once, on first use. */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialSource {
  const env = options.env ?? process.env;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const path = options.configPath ?? dockerConfigPath(env);
  let config: Promise<DockerConfig | undefined> | undefined;
  return {
    async get(registry) {
      config ??= readDockerConfig(path, limits);
      const loaded = await config;
      if (loaded === undefined) return undefined;
      const helperKey = matchConfigKey(Object.keys(loaded.credHelpers ?? {}), registry);
      const helper = helperKey === undefined ? loaded.credsStore : loaded.credHelpers?.[helperKey];
      // docker: with a helper configured, its answer replaces any inline `auths` entry.
      if (helper !== undefined && helper !== '') return runCredentialHelper(helper, helperServerUrl(registry), { env, limits });
      const auths = loaded.auths ?? {};
      const authKey = matchConfigKey(Object.keys(auths), registry);
      const entry = authKey === undefined ? undefined : auths[authKey];
      return entry === undefined || authKey === undefined ? undefined : authEntryCredentials(entry, path, authKey);
    },
  };
}

/** Reads and parses config.json; undefined when it does not exist (anonymous access). */
async function readDockerConfig(path: string, limits: Limits): Promise<DockerConfig | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFileCapped(path, limits.maxConfigFileBytes);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configInvalid(path, 'cannot be read', cause);
  }
  if (bytes === undefined) throw configInvalid(path, `larger than ${limits.maxConfigFileBytes} bytes`);
  return parseDockerConfig(new TextDecoder().decode(bytes), path);
}

// docker-credential-helpers `credentials/error.go`: the message a helper prints (exit 1) when it has nothing.
const NOT_FOUND = 'credentials not found';
// docker-credential-helpers `credentials/credentials.go` "Credentials": the JSON `get` prints.
const HelperOutput = z.looseObject({ ServerURL: z.string().optional(), Username: z.string(), Secret: z.string() });

/** Parses what `docker-credential-<name> get` printed on success; a reason string when unusable. */
export function parseHelperOutput(stdout: string): Credentials | undefined | string {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return 'output is not JSON';
  }
  const parsed = HelperOutput.safeParse(json);
  if (!parsed.success) return `output invalid at ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`;
  const { Username: username, Secret: password } = parsed.data;
  return username === '' && password === '' ? undefined : { username, password };
}

/**
 * Runs `docker-credential-<name> get` with the server URL on stdin (the
 * credential-helper protocol, docker-credential-helpers `client/client.go`),
 * without a shell, under `limits.credentialHelperTimeoutMs`, reading at most
 * `limits.maxAuthResponseBytes` of stdout. "credentials not found" means
 * anonymous access; any other failure is CREDENTIAL_HELPER_FAILED. Nothing the
 * helper prints reaches a message: it may contain the secret.
 */
async function runCredentialHelper(
  name: string,
  serverUrl: string,
  options: { env: NodeJS.ProcessEnv; limits: Limits },
): Promise<Credentials | undefined> {
  const command = `docker-credential-${name}`;
  const failed = (why: string, cause?: unknown): SigverifyError =>
    new SigverifyError('CREDENTIAL_HELPER_FAILED', `credential helper ${command} failed for ${serverUrl}: ${why}`, {
      cause,
      details: { helper: command, registry: serverUrl },
    });
  if (!HELPER_NAME.test(name)) throw failed('invalid helper name');

  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const maxBytes = options.limits.maxAuthResponseBytes;
    // node:child_process is loaded when a helper runs: Node does not support it in a startup snapshot (packaging/sea.ts).
    const child = process.getBuiltinModule('node:child_process').spawn(command, ['get'], { env: options.env, stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let total = 0;
    // Settle on the first event; on timeout or overflow do not wait for 'close' (a grandchild may hold stdout open).
    let settled = false;
    const settle = (error: SigverifyError | undefined, exitCode: number | null = null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) {
        resolve({ code: exitCode, stdout: Buffer.concat(chunks).toString('utf8') });
      } else {
        child.kill('SIGKILL');
        reject(error);
      }
    };
    const timeoutMs = options.limits.credentialHelperTimeoutMs;
    const timer = setTimeout(() => { settle(failed(`no answer within ${timeoutMs} ms`)); }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total <= maxBytes) chunks.push(chunk);
      else settle(new SigverifyError('LIMIT_EXCEEDED', `credential helper ${command}: output larger than ${maxBytes} bytes`, { details: { helper: command, maxBytes } }));
    });
    child.on('error', (error) => { settle(failed('cannot be run', error)); });
    child.on('close', (exitCode) => { settle(undefined, exitCode); });
    // A helper may exit without reading stdin; the resulting EPIPE is not our failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(serverUrl);
  }).catch((error: unknown) => {
    // spawn throws (rather than emitting 'error') for some failures, such as a
    // helper name too long for the system (ENAMETOOLONG). Found by the fuzz
    // suite (test/fuzz/registry.test.ts): the raw Error escaped untyped.
    throw error instanceof SigverifyError ? error : failed('cannot be run', error);
  });

  if (code !== 0) {
    if (stdout.toLowerCase().includes(NOT_FOUND)) return undefined;
    throw failed(`exited with ${code === null ? 'a signal' : `code ${code}`}`);
  }
  const parsed = parseHelperOutput(stdout);
  if (typeof parsed === 'string') throw failed(parsed);
  return parsed;
}

function configInvalid(path: string, why: string, cause?: unknown): SigverifyError {
  return new SigverifyError('DOCKER_CONFIG_INVALID', `docker config ${path}: ${why}`, { cause, details: { path } });
}
