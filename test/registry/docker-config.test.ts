import { access, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveLimits } from '../../src/limits.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import {
  configKeyHost,
  dockerConfigCredentials,
  dockerConfigPath,
  matchConfigKey,
  parseHelperOutput,
} from '../../src/registry/docker-config.ts';
import { closeServers, expectCode, startServer, testLimits } from './helpers.ts';

let dir: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-docker-config-'));
  // Helpers are found on this PATH only; /usr/bin:/bin give the fake helpers their shell tools.
  env = { DOCKER_CONFIG: dir, PATH: `${dir}:/usr/bin:/bin` };
});

afterEach(async () => {
  await closeServers();
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(config: unknown): Promise<void> {
  await writeFile(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
}

/** Installs `docker-credential-<name>`, a shell script with `server` holding the URL read from stdin. */
async function writeHelper(name: string, script: string): Promise<void> {
  const path = join(dir, `docker-credential-${name}`);
  await writeFile(path, `#!/bin/sh\n[ "$1" = get ] || exit 3\nread -r server\n${script}\n`);
  await chmod(path, 0o755);
}

const basic = (user: string, pass: string): string => Buffer.from(`${user}:${pass}`).toString('base64');

describe('dockerConfigPath', () => {
  it('prefers $DOCKER_CONFIG, else $HOME/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/cfg', HOME: '/home/u' })).toBe('/cfg/config.json');
    expect(dockerConfigPath({ HOME: '/home/u' })).toBe('/home/u/.docker/config.json');
  });
});

describe('config key matching', () => {
  it('strips only a scheme and a /v1/ or /v2/ suffix', () => {
    expect(configKeyHost('https://index.docker.io/v1/')).toBe('index.docker.io');
    expect(configKeyHost('http://registry.example.com:5000/v2')).toBe('registry.example.com:5000');
    expect(configKeyHost('Registry.Example.com/')).toBe('registry.example.com');
    expect(configKeyHost('registry.example.com/team')).toBe('registry.example.com/team');
  });

  it('matches exactly, never by suffix or prefix', () => {
    const keys = ['evil.example.com', 'example.com.evil', 'https://example.com.attacker.io/v2/', 'example.com:5000'];
    expect(matchConfigKey(keys, 'example.com')).toBeUndefined();
    expect(matchConfigKey(['registry.example.com/team'], 'registry.example.com')).toBeUndefined();
    expect(matchConfigKey(['https://example.com', 'example.com'], 'example.com')).toBe('example.com');
    expect(matchConfigKey(['https://example.com/v2/'], 'example.com')).toBe('https://example.com/v2/');
  });

  it('maps the Docker Hub legacy key to index.docker.io', () => {
    expect(matchConfigKey(['https://index.docker.io/v1/'], 'index.docker.io')).toBe('https://index.docker.io/v1/');
    expect(matchConfigKey(['docker.io'], 'index.docker.io')).toBe('docker.io');
    expect(matchConfigKey(['https://index.docker.io/v1/'], 'ghcr.io')).toBeUndefined();
  });
});

describe('auths', () => {
  it('decodes auth (base64 "user:pass"), keeping colons in the password', async () => {
    await writeConfig({ auths: { 'ghcr.io': { auth: basic('alice', 'pa:ss') } } });
    expect(await dockerConfigCredentials({ env }).get('ghcr.io')).toEqual({ username: 'alice', password: 'pa:ss' });
  });

  it('reads username/password and the Docker Hub legacy key', async () => {
    await writeConfig({ auths: { 'https://index.docker.io/v1/': { username: 'bob', password: 'pw' } } });
    expect(await dockerConfigCredentials({ env }).get('index.docker.io')).toEqual({ username: 'bob', password: 'pw' });
  });

  it('marks an identitytoken as such', async () => {
    await writeConfig({ auths: { 'registry.example.com': { auth: basic('u', 'p'), identitytoken: 'refresh' } } });
    expect(await dockerConfigCredentials({ env }).get('registry.example.com')).toEqual({ username: '<token>', password: 'refresh' });
  });

  it('does not give evil.example.com credentials to example.com, or the reverse', async () => {
    await writeConfig({ auths: { 'evil.example.com': { auth: basic('a', 'b') }, 'https://example.com.evil/v1/': { auth: basic('c', 'd') } } });
    const source = dockerConfigCredentials({ env });
    expect(await source.get('example.com')).toBeUndefined();
    expect(await source.get('evil.example.com')).toEqual({ username: 'a', password: 'b' });
  });

  it('treats a missing file and an empty entry as anonymous', async () => {
    expect(await dockerConfigCredentials({ env }).get('ghcr.io')).toBeUndefined();
    await writeConfig({ auths: { 'ghcr.io': {} } });
    expect(await dockerConfigCredentials({ env }).get('ghcr.io')).toBeUndefined();
  });

  it('uses HOME/.docker when DOCKER_CONFIG is unset', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, '.docker'), { recursive: true });
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: basic('h', 'p') } } }));
    expect(await dockerConfigCredentials({ env: { HOME: home } }).get('ghcr.io')).toEqual({ username: 'h', password: 'p' });
  });

  it.each([
    ['not JSON', '{"auths":'],
    ['auths of the wrong type', { auths: [] }],
    ['auth that is not base64 of user:pass', { auths: { 'ghcr.io': { auth: '!!not base64!!' } } }],
    ['auth without a colon', { auths: { 'ghcr.io': { auth: Buffer.from('nocolon').toString('base64') } } }],
    ['a helper name with a path', { credHelpers: { 'ghcr.io': '../../bin/sh' } }],
    ['a credsStore with a slash', { credsStore: 'a/b' }],
  ])('fails with DOCKER_CONFIG_INVALID on %s', async (_name, config) => {
    await writeConfig(config);
    await expectCode(dockerConfigCredentials({ env }).get('ghcr.io'), 'DOCKER_CONFIG_INVALID');
  });

  it('fails with DOCKER_CONFIG_INVALID on a config larger than the cap', async () => {
    await writeConfig({ auths: {}, padding: 'x'.repeat(2000) });
    const limits = resolveLimits({ maxConfigFileBytes: 1024 });
    await expectCode(dockerConfigCredentials({ env, limits }).get('ghcr.io'), 'DOCKER_CONFIG_INVALID');
  });
});

describe('credential helpers', () => {
  const helperAnswering = `case "$server" in
  ghcr.io) printf '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-secret"}' ;;
  https://index.docker.io/v1/) printf '{"Username":"hub-user","Secret":"hub-secret"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`;

  it('runs the credHelpers entry for the registry, which wins over auths', async () => {
    await writeHelper('test', helperAnswering);
    await writeConfig({ credHelpers: { 'ghcr.io': 'test' }, auths: { 'ghcr.io': { auth: basic('inline', 'x') } } });
    expect(await dockerConfigCredentials({ env }).get('ghcr.io')).toEqual({ username: 'helper-user', password: 'helper-secret' });
  });

  it('runs credsStore for registries without a credHelpers entry, with the legacy URL for Docker Hub', async () => {
    await writeHelper('store', helperAnswering);
    await writeConfig({ credsStore: 'store', credHelpers: { 'other.example.com': 'missing' } });
    const source = dockerConfigCredentials({ env });
    expect(await source.get('index.docker.io')).toEqual({ username: 'hub-user', password: 'hub-secret' });
    expect(await source.get('ghcr.io')).toEqual({ username: 'helper-user', password: 'helper-secret' });
  });

  it('treats "credentials not found" as anonymous', async () => {
    await writeHelper('test', helperAnswering);
    await writeConfig({ credsStore: 'test' });
    expect(await dockerConfigCredentials({ env }).get('quay.io')).toBeUndefined();
  });

  it('does not run a helper configured for a different host', async () => {
    await writeHelper('test', 'touch "$0.ran"; echo "credentials not found"; exit 1');
    await writeConfig({ credHelpers: { 'evil.ghcr.io': 'test' } });
    expect(await dockerConfigCredentials({ env }).get('ghcr.io')).toBeUndefined();
    await expect(access(join(dir, 'docker-credential-test.ran'))).rejects.toThrow();
  });

  it.each([
    ['a helper that fails', 'echo "some other error"; exit 2'],
    ['a helper printing invalid JSON', "printf 'not json'"],
    ['a helper printing the wrong JSON', `printf '{"Username":1}'`],
  ])('fails with CREDENTIAL_HELPER_FAILED on %s', async (_name, script) => {
    await writeHelper('test', script);
    await writeConfig({ credsStore: 'test' });
    await expectCode(dockerConfigCredentials({ env }).get('ghcr.io'), 'CREDENTIAL_HELPER_FAILED');
  });

  it('fails with CREDENTIAL_HELPER_FAILED when the helper is not installed', async () => {
    await writeConfig({ credsStore: 'absent' });
    await expectCode(dockerConfigCredentials({ env }).get('ghcr.io'), 'CREDENTIAL_HELPER_FAILED');
  });

  it('fails with CREDENTIAL_HELPER_FAILED when the helper hangs past the timeout', async () => {
    await writeHelper('test', 'exec sleep 30');
    await writeConfig({ credsStore: 'test' });
    const limits = resolveLimits({ credentialHelperTimeoutMs: 200 });
    await expectCode(dockerConfigCredentials({ env, limits }).get('ghcr.io'), 'CREDENTIAL_HELPER_FAILED');
  });

  it('fails with LIMIT_EXCEEDED when the helper prints more than the cap', async () => {
    await writeHelper('test', 'i=0; while [ $i -lt 200 ]; do printf "xxxxxxxxxx"; i=$((i+1)); done');
    await writeConfig({ credsStore: 'test' });
    const limits = resolveLimits({ maxAuthResponseBytes: 1024 });
    await expectCode(dockerConfigCredentials({ env, limits }).get('ghcr.io'), 'LIMIT_EXCEEDED');
  });

  it('parses helper output, treating empty credentials as none', () => {
    expect(parseHelperOutput('{"ServerURL":"x","Username":"u","Secret":"s"}')).toEqual({ username: 'u', password: 's' });
    expect(parseHelperOutput('{"Username":"","Secret":""}')).toBeUndefined();
    expect(typeof parseHelperOutput('{"Secret":"s"}')).toBe('string');
  });
});

describe('with the registry client', () => {
  it('answers a Basic challenge with credentials from config.json', async () => {
    const expected = `Basic ${basic('alice', 's3cret')}`;
    const server = await startServer((req, res) => {
      if (req.headers.authorization === expected) res.writeHead(404).end();
      else res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
    });
    await writeConfig({ auths: { [`http://${server.host}`]: { auth: basic('alice', 's3cret') } } });
    const client = new RegistryClient({ registry: server.host, repository: 'app', limits: testLimits, credentials: dockerConfigCredentials({ env }) });
    expect(await client.getManifest('v1')).toBeUndefined();
    expect(server.requests.at(-1)?.headers.authorization).toBe(expected);
  });
});
