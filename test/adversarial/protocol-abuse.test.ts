import { afterEach, describe, expect, it } from 'vitest';
import { staticCredentials } from '../../src/registry/index.ts';
import { fixtureDigest } from '../helpers/fixtures.ts';
import { referrersTag, signatureTag } from '../helpers/sigstore/index.ts';
import { type TestServer, closeServers, sendJson, startServer } from '../registry/helpers.ts';
import {
  type HostileRegistry,
  OCI_INDEX,
  OCI_MANIFEST,
  type Trigger,
  anyRequest,
  blobOf,
  streamForever,
  expectRefused,
  manifestOf,
  redirect,
  referrersOf,
  replyWith,
  requireBasic,
  requireBearer,
  send,
  signatureBlobOf,
  startHostileRegistry,
  verifyAt,
} from './hostile-registry.ts';

/**
 * Protocol abuse: redirects, challenges, token endpoints and referrers
 * listings used against the client. Credentials belong to one origin; every
 * loop and every answer is bounded; a registry that claims an API and answers
 * garbage fails closed.
 */
const SIGNED = fixtureDigest('signed');
const BUNDLE_SIGNED = fixtureDigest('bundle-signed');
const USER = 'alice';
const PASSWORD = 'pa55-for-registry-a';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

let registry: HostileRegistry;

afterEach(closeServers);

async function hostile(options: Parameters<typeof startHostileRegistry>[0] = {}): Promise<HostileRegistry> {
  registry = await startHostileRegistry(options);
  return registry;
}

const credentialsFor = (host: string) => staticCredentials({ [host]: { username: USER, password: PASSWORD } });
const pathIs = (path: string): Trigger => (_route, req) => req.url === path;
/** Every header value any request to `server` carried, joined: what the server learnt. */
const seenBy = (server: TestServer): string => JSON.stringify(server.requests.map((r) => ({ url: r.url, headers: r.headers, body: r.body })));

/** A token server on its own origin that issues `token` to anyone (and records who asked). */
async function tokenServer(token = 'tok-1'): Promise<TestServer> {
  return startServer((_req, res) => { sendJson(res, 200, { token }); });
}

describe('redirects', () => {
  it('a redirect loop on the manifest: REDIRECT_REFUSED', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), redirect('/elsewhere'));
    registry.misbehave(pathIs('/elsewhere'), redirect(`/v2/${registry.repository}/manifests/signed`));
    await expectRefused(verifyAt(registry.ref('signed')), 'REDIRECT_REFUSED');
    expect(registry.requests).toHaveLength(2);
  });

  it('an endless chain of redirects: REDIRECT_REFUSED after maxRedirects (5) hops', async () => {
    await hostile();
    let hop = 0;
    registry.misbehave(anyRequest, redirect(() => `/hop/${++hop}`));
    await expectRefused(verifyAt(registry.ref('signed')), 'REDIRECT_REFUSED');
    expect(registry.requests).toHaveLength(6);
  });

  it('a redirect to a file: URL: REDIRECT_REFUSED', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), redirect('file:///etc/passwd'));
    await expectRefused(verifyAt(registry.ref('signed')), 'REDIRECT_REFUSED');
  });

  it('a redirect whose target carries userinfo: REDIRECT_REFUSED', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), redirect(() => `http://user:pass@${registry.host}/elsewhere`));
    await expectRefused(verifyAt(registry.ref('signed')), 'REDIRECT_REFUSED');
    expect(registry.requests).toHaveLength(1);
  });

  it('a redirect to plain http off loopback: REDIRECT_REFUSED, no request made', async () => {
    await hostile();
    registry.misbehave(manifestOf('signed'), redirect('http://storage.invalid/blob'));
    await expectRefused(verifyAt(registry.ref('signed')), 'REDIRECT_REFUSED');
  });
});

describe('cross-origin redirects: credentials never follow', () => {
  it('a signature blob redirected to storage on another origin: it is fetched there without the Basic credentials', async () => {
    await hostile();
    const storage = await startServer((_req, res) => { res.writeHead(200).end(registry.blob(signatureBlobOf(registry, SIGNED))); });
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    registry.misbehave(blobOf(signatureBlobOf(registry, SIGNED)), redirect(`${storage.origin}/bucket/blob?X-Signature=presigned`));
    const result = await verifyAt(registry.ref('signed'), { credentials: credentialsFor(registry.host) });
    expect(result.verifiedSignatures).toBe(1);
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]?.headers.authorization).toBeUndefined();
    expect(seenBy(storage)).not.toContain(PASSWORD);
  });

  // The signature blob is fetched after the registry's challenge was answered, so the credentials go up front.
  it('a signature blob redirected to another origin that answers 401 Basic to phish: REGISTRY_AUTH_FAILED, it never sees the credentials', async () => {
    await hostile();
    const phisher = await startServer((_req, res) => { res.writeHead(401, { 'www-authenticate': 'Basic realm="login again"' }).end(); });
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    registry.misbehave(blobOf(signatureBlobOf(registry, SIGNED)), redirect(`${phisher.origin}/bucket/blob`));
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed'), { credentials: credentialsFor(registry.host) }), 'REGISTRY_AUTH_FAILED');
    expect(reasons).toEqual(['REGISTRY_AUTH_FAILED']);
    expect(phisher.requests.length).toBeGreaterThan(0);
    expect(phisher.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it("a signature blob redirected to another origin that answers 401 Bearer with its own realm: REGISTRY_AUTH_FAILED, the registry's credentials never reach that realm", async () => {
    await hostile();
    const realm = await tokenServer();
    const phisher = await startServer((_req, res) => { res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.origin}/token",service="phish"` }).end(); });
    registry.misbehave(anyRequest, requireBasic(USER, PASSWORD));
    registry.misbehave(blobOf(signatureBlobOf(registry, SIGNED)), redirect(`${phisher.origin}/bucket/blob`));
    const { reasons } = await expectRefused(verifyAt(registry.ref('signed'), { credentials: credentialsFor(registry.host) }), 'REGISTRY_AUTH_FAILED');
    expect(reasons).toEqual(['REGISTRY_AUTH_FAILED']);
    expect(seenBy(phisher)).not.toContain(BASIC.slice('Basic '.length));
    expect(realm.requests).toEqual([]);
  });

  it("the first request redirected to another origin that answers 401 Bearer with its own realm: REGISTRY_AUTH_FAILED, the registry's credentials never reach that realm", async () => {
    await hostile();
    const realm = await tokenServer();
    const phisher = await startServer((_req, res) => { res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.origin}/token",service="phish"` }).end(); });
    registry.misbehave(manifestOf('signed'), redirect(`${phisher.origin}/v2/fixtures/manifests/signed`));
    await expectRefused(verifyAt(registry.ref('signed'), { credentials: credentialsFor(registry.host) }), 'REGISTRY_AUTH_FAILED');
    expect(realm.requests).toEqual([]);
  });

  it('a blob redirected to another origin under Bearer auth: the registry token stays behind', async () => {
    await hostile();
    const tokens = await tokenServer('registry-token-1');
    const storage = await startServer((_req, res) => { res.writeHead(200).end(registry.blob(signatureBlobOf(registry, SIGNED))); });
    registry.misbehave(anyRequest, requireBearer(`${tokens.origin}/token`, 'registry-token-1'));
    registry.misbehave(blobOf(signatureBlobOf(registry, SIGNED)), redirect(`${storage.origin}/bucket/blob`));
    expect((await verifyAt(registry.ref('signed'))).verifiedSignatures).toBe(1);
    expect(storage.requests.map((r) => r.headers.authorization)).toEqual([undefined]);
  });
});

describe('token endpoints on other hosts', () => {
  it("a registry pointing its realm at another registry's token endpoint gets its own credentials (none), never the other registry's", async () => {
    await hostile();
    const other = await tokenServer();
    registry.misbehave(anyRequest, requireBearer(`${other.origin}/token`, 'tok-1'));
    // Credentials exist for the token server's host (another registry), none for this one.
    const credentials = staticCredentials({ [other.host]: { username: USER, password: PASSWORD } });
    expect((await verifyAt(registry.ref('signed'), { credentials })).verifiedSignatures).toBe(1);
    expect(other.requests.length).toBeGreaterThan(0);
    expect(other.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('a token endpoint redirecting to a third origin: the Basic credentials are not forwarded there', async () => {
    await hostile();
    const third = await tokenServer();
    const realm = await startServer((req, res) => { res.writeHead(307, { location: `${third.origin}/token${new URL(req.url ?? '/', 'http://x').search}` }).end(); });
    registry.misbehave(anyRequest, requireBearer(`${realm.origin}/token`, 'tok-1'));
    expect((await verifyAt(registry.ref('signed'), { credentials: credentialsFor(registry.host) })).verifiedSignatures).toBe(1);
    expect(realm.requests[0]?.headers.authorization).toBe(BASIC);
    expect(third.requests.length).toBeGreaterThan(0);
    expect(third.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('an identity-token (OAuth2 refresh) POST redirected to another origin: REDIRECT_REFUSED, the refresh token is not re-posted', async () => {
    await hostile();
    const third = await tokenServer();
    const realm = await startServer((_req, res) => { res.writeHead(307, { location: `${third.origin}/token` }).end(); });
    registry.misbehave(anyRequest, requireBearer(`${realm.origin}/token`, 'tok-1'));
    const credentials = staticCredentials({ [registry.host]: { username: '<token>', password: 'refresh-token-of-a' } });
    await expectRefused(verifyAt(registry.ref('signed'), { credentials }), 'REDIRECT_REFUSED');
    expect(third.requests).toEqual([]);
  });

  it('a realm carrying userinfo: REGISTRY_AUTH_FAILED, no token request', async () => {
    await hostile();
    const realm = await tokenServer();
    registry.misbehave(anyRequest, requireBearer(`http://attacker:x@${realm.host}/token`, 'tok-1'));
    await expectRefused(verifyAt(registry.ref('signed'), { credentials: credentialsFor(registry.host) }), 'REGISTRY_AUTH_FAILED');
    expect(realm.requests).toEqual([]);
  });

  it('a realm with a file: scheme: REGISTRY_AUTH_FAILED', async () => {
    await hostile();
    registry.misbehave(anyRequest, requireBearer('file:///etc/passwd', 'tok-1'));
    await expectRefused(verifyAt(registry.ref('signed'), { credentials: credentialsFor(registry.host) }), 'REGISTRY_AUTH_FAILED');
  });

  it('a realm over plain http off loopback: REGISTRY_AUTH_FAILED, the credentials are not sent in clear', async () => {
    await hostile();
    registry.misbehave(anyRequest, requireBearer('http://auth.invalid/token', 'tok-1'));
    await expectRefused(verifyAt(registry.ref('signed'), { credentials: credentialsFor(registry.host) }), 'REGISTRY_AUTH_FAILED');
  });

  it('a token carrying CR LF (header injection): REGISTRY_AUTH_FAILED', async () => {
    await hostile();
    const realm = await tokenServer('tok-1\r\nX-Injected: yes');
    registry.misbehave(anyRequest, requireBearer(`${realm.origin}/token`, 'tok-1'));
    await expectRefused(verifyAt(registry.ref('signed')), 'REGISTRY_AUTH_FAILED');
    expect(registry.requests.every((r) => r.headers['x-injected'] === undefined)).toBe(true);
  });

  it('an endless token response: LIMIT_EXCEEDED at maxAuthResponseBytes', async () => {
    await hostile();
    const realm = await startServer((_req, res) => streamForever(res, 'application/json'));
    registry.misbehave(anyRequest, requireBearer(`${realm.origin}/token`, 'tok-1'));
    await expectRefused(verifyAt(registry.ref('signed')), 'LIMIT_EXCEEDED');
  });

  it('a registry refusing every token it is given: REGISTRY_AUTH_FAILED after one token request, not a loop', async () => {
    await hostile();
    const realm = await tokenServer('never-accepted');
    registry.misbehave(anyRequest, requireBearer(`${realm.origin}/token`, 'something-else'));
    await expectRefused(verifyAt(registry.ref('signed')), 'REGISTRY_AUTH_FAILED');
    expect(realm.requests).toHaveLength(1);
    expect(registry.requests).toHaveLength(2);
  });
});

describe('malformed WWW-Authenticate', () => {
  const challenged = (header: string | undefined) => (exchange: { res: import('node:http').ServerResponse }) => {
    exchange.res.writeHead(401, header === undefined ? {} : { 'www-authenticate': header }).end();
  };

  it('an unterminated quoted string: REGISTRY_AUTH_FAILED', async () => {
    await hostile();
    registry.misbehave(anyRequest, challenged('Bearer realm="http://127.0.0.1:1/token'));
    await expectRefused(verifyAt(registry.ref('signed')), 'REGISTRY_AUTH_FAILED');
  });

  it('a realm given twice (which one?): REGISTRY_AUTH_FAILED', async () => {
    await hostile();
    const realm = await tokenServer();
    registry.misbehave(anyRequest, challenged(`Bearer realm="${realm.origin}/token",realm="http://127.0.0.1:1/token"`));
    await expectRefused(verifyAt(registry.ref('signed')), 'REGISTRY_AUTH_FAILED');
    expect(realm.requests).toEqual([]);
  });

  it('a Bearer challenge without realm: REGISTRY_AUTH_FAILED', async () => {
    await hostile();
    registry.misbehave(anyRequest, challenged('Bearer service="hostile"'));
    await expectRefused(verifyAt(registry.ref('signed')), 'REGISTRY_AUTH_FAILED');
  });

  it('a 401 with no challenge at all: REGISTRY_AUTH_FAILED', async () => {
    await hostile();
    registry.misbehave(anyRequest, challenged(undefined));
    await expectRefused(verifyAt(registry.ref('signed')), 'REGISTRY_AUTH_FAILED');
  });

  it('a 64 KiB challenge (beyond the HTTP client header limit): REGISTRY_UNREACHABLE after bounded retries', async () => {
    await hostile();
    registry.misbehave(anyRequest, challenged(`Bearer realm="${'x'.repeat(64 * 1024)}"`));
    await expectRefused(verifyAt(registry.ref('signed'), { limits: { retryBaseDelayMs: 1 } }), 'REGISTRY_UNREACHABLE');
    expect(registry.requests).toHaveLength(4);
  });
});

describe('referrers API and fallback tag', () => {
  it('the referrers API answering garbage with the index content type: MANIFEST_INVALID, no fallback to the tag', async () => {
    await hostile({ referrersApi: true });
    registry.misbehave(referrersOf(), replyWith({ body: Buffer.from('{"schemaVersion":2,"manifests":"garbage"}') }));
    await expectRefused(verifyAt(registry.ref('bundle-signed')), 'MANIFEST_INVALID');
    expect(registry.requestsFor('manifests', referrersTag(BUNDLE_SIGNED))).toEqual([]);
  });

  it('the referrers API answering an image manifest with the index content type: MANIFEST_INVALID', async () => {
    await hostile({ referrersApi: true });
    registry.misbehave(referrersOf(), replyWith({ body: registry.manifest('signed').bytes }));
    await expectRefused(verifyAt(registry.ref('bundle-signed')), 'MANIFEST_INVALID');
  });

  it('the referrers API answering non-UTF-8 bytes with the index content type: MANIFEST_INVALID', async () => {
    await hostile({ referrersApi: true });
    registry.misbehave(referrersOf(), replyWith({ body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }));
    await expectRefused(verifyAt(registry.ref('bundle-signed')), 'MANIFEST_INVALID');
  });

  it('the fallback tag pointing at an image manifest: NO_SIGNATURES, reported as FALLBACK_NOT_INDEX', async () => {
    await hostile();
    registry.putManifest(registry.manifest('unsigned').bytes, OCI_MANIFEST, referrersTag(BUNDLE_SIGNED));
    const { result } = await expectRefused(verifyAt(registry.ref('bundle-signed')), 'NO_SIGNATURES');
    expect(result?.discovery.skippedReferrers.map((s) => s.code)).toEqual(['FALLBACK_NOT_INDEX']);
  });

  it('the fallback tag pointing at bytes that are no manifest: NO_SIGNATURES, reported as FALLBACK_NOT_INDEX', async () => {
    await hostile();
    registry.putManifest(Buffer.from('not json at all'), OCI_INDEX, referrersTag(BUNDLE_SIGNED));
    const { result } = await expectRefused(verifyAt(registry.ref('bundle-signed')), 'NO_SIGNATURES');
    expect(result?.discovery.skippedReferrers.map((s) => s.code)).toEqual(['FALLBACK_NOT_INDEX']);
  });

  it('the legacy .sig tag pointing at an index: MANIFEST_INVALID', async () => {
    await hostile();
    registry.putManifest(registry.manifest('multiarch').bytes, OCI_INDEX, signatureTag(SIGNED));
    await expectRefused(verifyAt(registry.ref('signed')), 'MANIFEST_INVALID');
  });

  it('the legacy .sig tag holding bytes that are no manifest: MANIFEST_INVALID', async () => {
    await hostile();
    registry.putManifest(Buffer.from('<html>maintenance</html>'), OCI_MANIFEST, signatureTag(SIGNED));
    await expectRefused(verifyAt(registry.ref('signed')), 'MANIFEST_INVALID');
  });

  it('a referrers listing naming a referrer of another image: skipped as SUBJECT_MISMATCH, NO_SIGNATURES', async () => {
    await hostile({ referrersApi: true });
    const listing = registry.manifest(referrersTag(BUNDLE_SIGNED)).bytes;
    registry.misbehave(referrersOf(fixtureDigest('unsigned')), (exchange) => { send(exchange.res, { ...exchange.honest, body: listing }); });
    const { result } = await expectRefused(verifyAt(registry.ref('unsigned')), 'NO_SIGNATURES');
    expect(result?.discovery.skippedReferrers.map((s) => s.code)).toEqual(['SUBJECT_MISMATCH']);
  });
});
