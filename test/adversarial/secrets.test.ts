import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/index.ts';
import { SigverifyError } from '../../src/errors.ts';
import { gateModule } from '../../src/processor/index.ts';
import { type CredentialSource, dockerConfigCredentials, staticCredentials } from '../../src/registry/index.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import type { VerificationResult } from '../../src/verify/index.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { unusedLoopbackAddress } from '../helpers/registry/docker-registry.ts';
import { referrersTag, signatureTag } from '../helpers/sigstore/index.ts';
import { type TestServer, closeServers, sendJson, startServer } from '../registry/helpers.ts';
import {
  type Behaviour,
  type HostileRegistry,
  anyRequest,
  blobOf,
  firstEntry,
  manifestOf,
  redirect,
  replyWith,
  requireBasic,
  requireBearer,
  startHostileRegistry,
  verifyAt,
} from './hostile-registry.ts';

/**
 * Secrets: registry passwords, bearer tokens, docker-config `auth` entries,
 * identity (refresh) tokens and credential-helper secrets never appear in an
 * error message, error details, the error as a logger prints it (with its
 * cause chain), the verification result, CLI output or the audit trail,
 * whatever error path a hostile registry provokes. Every secret is a unique
 * string, checked in plain text and in every encoding it travels in.
 */
const USER = 'alice';
const PASSWORD = 'S3cret-basic-password-4711';
const TOKEN = 'T0ken-issued-bearer-9922';
const AUTH_USER = 'carol';
const AUTH_PASSWORD = 'Auth-entry-password-5150';
const IDENTITY_TOKEN = 'Identity-refresh-token-8080';
const HELPER_SECRET = 'Helper-secret-2600';
/** Short enough to fit in the ten characters of context V8 quotes from bad JSON. */
const SHORT_PASSWORD = 'pw-C0DE9';
const b64 = (text: string): string => Buffer.from(text).toString('base64');
/** Every form a secret could leak in: plain, and base64 as `Basic` and docker's `auth` carry it. */
const SECRETS = [
  PASSWORD, b64(`${USER}:${PASSWORD}`),
  TOKEN,
  AUTH_PASSWORD, b64(`${AUTH_USER}:${AUTH_PASSWORD}`),
  IDENTITY_TOKEN,
  HELPER_SECRET,
  SHORT_PASSWORD,
];
const SIGNED = fixtureDigest('signed');

/**
 * A manifest fetched by digest answered with other bytes: the referrer of a
 * bundle-signed image (a digest reference's own manifest is not fetched at all).
 */
function lieAboutReferrer(hostile: HostileRegistry): void {
  const referrer = firstEntry(hostile, referrersTag(fixtureDigest('bundle-signed')));
  hostile.misbehave(manifestOf(referrer), replyWith({ body: hostile.manifest(signatureTag(SIGNED)).bytes }));
}
const FAST = { retryBaseDelayMs: 1 };

let registry: HostileRegistry;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(closeServers);

function expectNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) expect(text.includes(secret), `${where} contains a secret (${secret.slice(0, 6)}…)`).toBe(false);
}

/** Everything a caller can see of a failure: message, details (with the result), and the error as a logger prints it. */
function expectErrorClean(error: unknown): void {
  expect(error).toBeInstanceOf(SigverifyError);
  const e = error as SigverifyError;
  expectNoSecret(e.message, 'error message');
  expectNoSecret(JSON.stringify(e.details), 'error details');
  expectNoSecret(inspect(e, { depth: 20 }), 'the error as logged (cause chain included)');
  const result = e.details['result'] as VerificationResult | undefined;
  if (result !== undefined) expectNoSecret(JSON.stringify(result), 'verification result');
}

/** Runs a verification that must fail with `code`, and checks what it exposes. */
async function failsCleanly(verification: Promise<VerificationResult>, code: string): Promise<SigverifyError> {
  const error = await verification.then(
    () => expect.fail('the image was verified'),
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code });
  expectErrorClean(error);
  return error as SigverifyError;
}

const basicCredentials = (): CredentialSource => staticCredentials({ [registry.host]: { username: USER, password: PASSWORD } });
const tokenServer = (token = TOKEN): Promise<TestServer> => startServer((_req, res) => { sendJson(res, 200, { token }); });

/** A hostile registry that echoes whatever Authorization it got into its error bodies and headers. */
const echoing = (status: number): Behaviour => ({ req, res }) => {
  const seen = req.headers.authorization ?? '';
  res.writeHead(status, { 'content-type': 'application/json', 'x-echo': seen.replace(/[^\x20-\x7e]/g, '') });
  res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: `you sent ${seen}`, detail: { authorization: seen, password: PASSWORD } }] }));
};

async function writeDockerConfig(name: string, config: unknown, helper?: string): Promise<string> {
  const configDir = join(dir, name);
  await mkdir(configDir, { recursive: true });
  await writeFile(join(configDir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  if (helper !== undefined) {
    const path = join(configDir, 'docker-credential-leaky');
    await writeFile(path, `#!/bin/sh\n[ "$1" = get ] || exit 3\nread -r server\n${helper}\n`);
    await chmod(path, 0o755);
  }
  return configDir;
}

function dockerConfig(configDir: string): CredentialSource {
  return dockerConfigCredentials({ env: { DOCKER_CONFIG: configDir, PATH: `${configDir}:/usr/bin:/bin` } });
}

describe('Basic credentials (staticCredentials)', () => {
  it('refused credentials (a second 401): REGISTRY_AUTH_FAILED', async () => {
    registry = await startHostileRegistry();
    registry.misbehave(anyRequest, requireBasic(USER, 'another-password'));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials() }), 'REGISTRY_AUTH_FAILED');
  });

  it('a 403 whose body and headers echo the credentials: REGISTRY_AUTH_FAILED', async () => {
    registry = await startHostileRegistry();
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    registry.misbehave(manifestOf('signed'), echoing(403));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials() }), 'REGISTRY_AUTH_FAILED');
  });

  it('5xx storms whose bodies echo the credentials: REGISTRY_HTTP_ERROR', async () => {
    registry = await startHostileRegistry();
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    registry.misbehave(manifestOf('signed'), echoing(503));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials(), limits: FAST }), 'REGISTRY_HTTP_ERROR');
  });

  it('a 5xx on the signature blob (the result carries the per-signature reason): REGISTRY_HTTP_ERROR', async () => {
    registry = await startHostileRegistry();
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    registry.misbehave(blobOf(), echoing(500));
    const error = await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials(), limits: FAST }), 'REGISTRY_HTTP_ERROR');
    expect(error.details['result']).toBeDefined();
  });

  it('a redirect refused (to a URL carrying the password as userinfo and query): REDIRECT_REFUSED', async () => {
    registry = await startHostileRegistry();
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    registry.misbehave(manifestOf('signed'), redirect(`ftp://${USER}:${PASSWORD}@storage.invalid/x?sig=${PASSWORD}`));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials() }), 'REDIRECT_REFUSED');
  });

  it('a redirect loop through URLs carrying the password in the query: REDIRECT_REFUSED', async () => {
    registry = await startHostileRegistry();
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    registry.misbehave(manifestOf('signed'), redirect(`/v2/fixtures/manifests/signed?sig=${PASSWORD}`));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials() }), 'REDIRECT_REFUSED');
  });

  it('a digest mismatch after authenticating: DIGEST_MISMATCH', async () => {
    registry = await startHostileRegistry({ referrersApi: true });
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    lieAboutReferrer(registry);
    await failsCleanly(verifyAt(registry.ref('bundle-signed'), { credentials: basicCredentials() }), 'DIGEST_MISMATCH');
  });

  it('the registry down, with credentials configured: REGISTRY_UNREACHABLE', async () => {
    const host = await unusedLoopbackAddress();
    const credentials = staticCredentials({ [host]: { username: USER, password: PASSWORD } });
    await failsCleanly(verifyAt(`${host}/fixtures:signed`, { credentials, limits: FAST }), 'REGISTRY_UNREACHABLE');
  });

  it('a verified result holds no credential', async () => {
    registry = await startHostileRegistry();
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    expectNoSecret(JSON.stringify(await verifyAt(registry.ref('signed'), { credentials: basicCredentials() })), 'verified result');
  });
});

describe('bearer tokens from a token endpoint', () => {
  it('the registry refusing the issued token (a second 401): REGISTRY_AUTH_FAILED', async () => {
    registry = await startHostileRegistry();
    const tokens = await tokenServer();
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, 'a-token-never-issued'));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials() }), 'REGISTRY_AUTH_FAILED');
  });

  it('the token endpoint refusing the credentials with a body that echoes them: REGISTRY_AUTH_FAILED', async () => {
    registry = await startHostileRegistry();
    const tokens = await startServer((req, res) => { sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: String(req.headers.authorization) }], password: PASSWORD }); });
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, TOKEN));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials() }), 'REGISTRY_AUTH_FAILED');
  });

  it('a token response whose token carries a newline: REGISTRY_AUTH_FAILED', async () => {
    registry = await startHostileRegistry();
    const tokens = await tokenServer(`${TOKEN}\n`);
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, TOKEN));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials() }), 'REGISTRY_AUTH_FAILED');
  });

  it('a 5xx storm after the token was accepted, echoing it: REGISTRY_HTTP_ERROR', async () => {
    registry = await startHostileRegistry();
    const tokens = await tokenServer();
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, TOKEN));
    registry.misbehave(blobOf(), echoing(502));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: basicCredentials(), limits: FAST }), 'REGISTRY_HTTP_ERROR');
  });

  it('a digest mismatch under a bearer token: DIGEST_MISMATCH', async () => {
    registry = await startHostileRegistry({ referrersApi: true });
    const tokens = await tokenServer();
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, TOKEN));
    lieAboutReferrer(registry);
    await failsCleanly(verifyAt(registry.ref('bundle-signed'), { credentials: basicCredentials() }), 'DIGEST_MISMATCH');
  });
});

describe('docker config: an auth entry, an identity token, a credential helper', () => {
  it('an auth entry refused by the registry: REGISTRY_AUTH_FAILED', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('auth-refused', { auths: { [registry.host]: { auth: b64(`${AUTH_USER}:${AUTH_PASSWORD}`) } } });
    registry.misbehave(anyRequest, requireBasic(AUTH_USER, 'another-password'));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir) }), 'REGISTRY_AUTH_FAILED');
  });

  it('an auth entry accepted, then a 5xx echoing it: REGISTRY_HTTP_ERROR', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('auth-5xx', { auths: { [registry.host]: { auth: b64(`${AUTH_USER}:${AUTH_PASSWORD}`) } } });
    registry.misbehave(anyRequest, requireBasic(AUTH_USER, AUTH_PASSWORD));
    registry.misbehave(manifestOf(signatureTag(SIGNED)), echoing(500));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir), limits: FAST }), 'REGISTRY_HTTP_ERROR');
  });

  it('an identity token exchanged (OAuth2 refresh grant) and then the access token refused: REGISTRY_AUTH_FAILED', async () => {
    registry = await startHostileRegistry();
    const tokens = await startServer((req, res) => { sendJson(res, 200, { access_token: TOKEN, refresh_token: IDENTITY_TOKEN, echoed: req.headers }); });
    const configDir = await writeDockerConfig('identity-token', { auths: { [registry.host]: { identitytoken: IDENTITY_TOKEN } } });
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, 'not-the-issued-one'));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir) }), 'REGISTRY_AUTH_FAILED');
    expect(tokens.requests[0]?.body).toContain(IDENTITY_TOKEN);
  });

  it('an identity token whose token endpoint answers 5xx: REGISTRY_HTTP_ERROR', async () => {
    registry = await startHostileRegistry();
    const tokens = await startServer((req, res) => { sendJson(res, 503, { errors: [{ code: 'UNAVAILABLE', message: req.headers['content-length'] ?? '' }], body: IDENTITY_TOKEN }); });
    const configDir = await writeDockerConfig('identity-5xx', { auths: { [registry.host]: { identitytoken: IDENTITY_TOKEN } } });
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, TOKEN));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir), limits: FAST }), 'REGISTRY_HTTP_ERROR');
  });

  it('a credential helper that prints the secret and fails: CREDENTIAL_HELPER_FAILED', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('helper-fails', { credsStore: 'leaky' }, `echo "error: the secret is ${HELPER_SECRET}"; exit 2`);
    registry.misbehave(anyRequest, requireBasic('dave', HELPER_SECRET));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir) }), 'CREDENTIAL_HELPER_FAILED');
  });

  it('a credential helper printing malformed JSON around the secret: CREDENTIAL_HELPER_FAILED', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('helper-garbage', { credsStore: 'leaky' }, `printf '{"Username":"dave","Secret":"${HELPER_SECRET}"'`);
    registry.misbehave(anyRequest, requireBasic('dave', HELPER_SECRET));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir) }), 'CREDENTIAL_HELPER_FAILED');
  });

  it('a credential helper whose secret the registry refuses: REGISTRY_AUTH_FAILED', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('helper-refused', { credsStore: 'leaky' }, `printf '{"Username":"dave","Secret":"${HELPER_SECRET}"}'`);
    registry.misbehave(anyRequest, requireBasic('dave', 'another-password'));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir) }), 'REGISTRY_AUTH_FAILED');
  });

  it('a config.json that is not JSON, around an auth entry: DOCKER_CONFIG_INVALID', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('broken', `{"auths":{"${registry.host}":{"auth":"${b64(`${AUTH_USER}:${AUTH_PASSWORD}`)}"}} trailing`);
    registry.misbehave(anyRequest, requireBasic(AUTH_USER, AUTH_PASSWORD));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir) }), 'DOCKER_CONFIG_INVALID');
  });

  it("a hand-edited config.json with an unquoted password: DOCKER_CONFIG_INVALID, and V8's quote of the bad JSON is not kept as the cause", async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('unquoted', `{"auths":{"${registry.host}":{"username":"${AUTH_USER}","password":${SHORT_PASSWORD}}}}`);
    registry.misbehave(anyRequest, requireBasic(AUTH_USER, SHORT_PASSWORD));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir) }), 'DOCKER_CONFIG_INVALID');
  });

  it('an auth entry that is not base64 of user:password: DOCKER_CONFIG_INVALID', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('bad-auth', { auths: { [registry.host]: { auth: b64(AUTH_PASSWORD) } } });
    registry.misbehave(anyRequest, requireBasic(AUTH_USER, AUTH_PASSWORD));
    await failsCleanly(verifyAt(registry.ref('signed'), { credentials: dockerConfig(configDir) }), 'DOCKER_CONFIG_INVALID');
  });
});

describe('CLI output (stdout and stderr, text and JSON)', () => {
  const args = (image: string, output: 'text' | 'json'): string[] => [
    'verify', image,
    '--certificate-identity', FIXTURE_IDENTITY,
    '--certificate-oidc-issuer', FIXTURE_ISSUER,
    '--trusted-root', TEST_TRUSTED_ROOT,
    '--output', output,
  ];

  async function cliClean(image: string, configDir: string, code: number): Promise<void> {
    for (const output of ['text', 'json'] as const) {
      const run = await runCli(args(image, output), { DOCKER_CONFIG: configDir, PATH: `${configDir}:${process.env['PATH'] ?? ''}` });
      expect(run.code).toBe(code);
      expectNoSecret(run.stdout, `CLI stdout (${output})`);
      expectNoSecret(run.stderr, `CLI stderr (${output})`);
    }
  }

  it('an auth entry refused: exit 3, no secret printed', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('cli-refused', { auths: { [registry.host]: { auth: b64(`${AUTH_USER}:${AUTH_PASSWORD}`) } } });
    registry.misbehave(anyRequest, requireBasic(AUTH_USER, 'another-password'));
    await cliClean(registry.ref('signed'), configDir, 3);
  });

  it('an identity token, then a 5xx storm echoing the access token: exit 3, no secret printed', async () => {
    registry = await startHostileRegistry();
    const tokens = await tokenServer();
    const configDir = await writeDockerConfig('cli-identity', { auths: { [registry.host]: { identitytoken: IDENTITY_TOKEN } } });
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, TOKEN));
    registry.misbehave(manifestOf('signed'), echoing(503));
    await cliClean(registry.ref('signed'), configDir, 3);
  });

  it('a digest mismatch under an auth entry: exit 1, no secret printed', async () => {
    registry = await startHostileRegistry({ referrersApi: true });
    const configDir = await writeDockerConfig('cli-digest', { auths: { [registry.host]: { auth: b64(`${AUTH_USER}:${AUTH_PASSWORD}`) } } });
    registry.misbehave(anyRequest, requireBasic(AUTH_USER, AUTH_PASSWORD));
    lieAboutReferrer(registry);
    await cliClean(registry.ref('bundle-signed'), configDir, 1);
  });

  it('a failing credential helper that prints the secret: exit 3, no secret printed', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('cli-helper', { credsStore: 'leaky' }, `echo "${HELPER_SECRET}"; echo "${HELPER_SECRET}" >&2; exit 1`);
    registry.misbehave(anyRequest, requireBasic('dave', HELPER_SECRET));
    await cliClean(registry.ref('signed'), configDir, 3);
  });

  it('verified with credentials: exit 0, no secret printed', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('cli-ok', { credsStore: 'leaky' }, `printf '{"Username":"dave","Secret":"${HELPER_SECRET}"}'`);
    registry.misbehave(anyRequest, requireBasic('dave', HELPER_SECRET));
    await cliClean(registry.ref('signed'), configDir, 0);
  });
});

describe('the audit trail (ModuleGate through gateModule, AuditLog sink)', () => {
  const moduleFor = (reference: string) => ({
    module_name: 'secrets-check',
    docker_tag: reference,
    require_signature: true,
    signature_certificate_identity: FIXTURE_IDENTITY,
    signature_certificate_oidc_issuer: FIXTURE_ISSUER,
  });
  let trails = 0;

  async function gateClean(reference: string, credentials: CredentialSource, code: string | undefined): Promise<void> {
    const path = join(dir, `audit-${++trails}.jsonl`);
    const gated = gateModule(moduleFor(reference), { audit: new AuditLog(path, { fsync: false }), credentials, trust: trustedRootFile(TEST_TRUSTED_ROOT), limits: FAST, allowTestTrustRootUnsafe: true });
    if (code === undefined) {
      expectNoSecret(JSON.stringify(await gated), 'gate result');
    } else {
      const error = await gated.then(() => expect.fail('the module may run'), (e: unknown) => e);
      expect(error).toMatchObject({ code });
      expectErrorClean(error);
    }
    const trail = await readFile(path, 'utf8');
    expect(trail.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expectNoSecret(trail, 'audit trail');
  }

  it('Basic credentials refused: REGISTRY_AUTH_FAILED recorded without them', async () => {
    registry = await startHostileRegistry();
    registry.misbehave(anyRequest, requireBasic(USER, 'another-password'));
    await gateClean(registry.ref('signed'), basicCredentials(), 'REGISTRY_AUTH_FAILED');
  });

  it('a bearer token, then a 5xx storm echoing it: REGISTRY_HTTP_ERROR recorded without it', async () => {
    registry = await startHostileRegistry();
    const tokens = await tokenServer();
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, TOKEN));
    registry.misbehave(blobOf(), echoing(503));
    await gateClean(registry.ref('signed'), basicCredentials(), 'REGISTRY_HTTP_ERROR');
  });

  it('an identity token from the docker config, the registry down: REGISTRY_UNREACHABLE recorded without it', async () => {
    const host = await unusedLoopbackAddress();
    const configDir = await writeDockerConfig('gate-down', { auths: { [host]: { identitytoken: IDENTITY_TOKEN } } });
    await gateClean(`${host}/fixtures:signed`, dockerConfig(configDir), 'REGISTRY_UNREACHABLE');
  });

  it('a failing credential helper: CREDENTIAL_HELPER_FAILED recorded without its output', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('gate-helper', { credsStore: 'leaky' }, `echo "${HELPER_SECRET}"; exit 1`);
    registry.misbehave(anyRequest, requireBasic('dave', HELPER_SECRET));
    await gateClean(registry.ref('signed'), dockerConfig(configDir), 'CREDENTIAL_HELPER_FAILED');
  });

  it('verified with an auth entry: the record names the signer, never the credentials', async () => {
    registry = await startHostileRegistry();
    const configDir = await writeDockerConfig('gate-ok', { auths: { [registry.host]: { auth: b64(`${AUTH_USER}:${AUTH_PASSWORD}`) } } });
    registry.misbehave(anyRequest, requireBasic(AUTH_USER, AUTH_PASSWORD));
    await gateClean(registry.ref('signed'), dockerConfig(configDir), undefined);
  });
});
