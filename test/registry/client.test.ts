import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type ErrorCode, SigverifyError } from '../../src/errors.ts';
import { resolveLimits } from '../../src/limits.ts';
import {
  MANIFEST_ACCEPT,
  MEDIA_TYPES,
  RegistryClient,
  staticCredentials,
} from '../../src/registry/index.ts';
import {
  clientFor,
  closeServers,
  digestOf,
  expectCode,
  manifestBytes,
  OCI_MANIFEST,
  recordingSleep,
  REPO,
  sendJson,
  startServer,
  type TestServer,
  testLimits,
} from './helpers.ts';

afterEach(closeServers);

function expectConstructCode(make: () => unknown, code: ErrorCode): void {
  let error: unknown;
  try {
    make();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SigverifyError);
  expect(error).toMatchObject({ code });
}

/** A server answering every request with `body` (200). */
function serve(body: Uint8Array, headers: Record<string, string> = {}): Promise<TestServer> {
  return startServer((_req, res) => {
    res.writeHead(200, { 'content-type': OCI_MANIFEST, ...headers });
    res.end(body);
  });
}

describe('construction', () => {
  it('uses https for remote registries, Docker Hub included, through the injected fetch', async () => {
    const urls: string[] = [];
    const fakeFetch: typeof fetch = (input) => {
      urls.push(input instanceof Request ? input.url : input.toString());
      return Promise.resolve(new Response(null, { status: 404 }));
    };
    await new RegistryClient({ registry: 'index.docker.io', repository: 'library/alpine', fetch: fakeFetch }).getManifest('latest');
    await new RegistryClient({ registry: 'ghcr.io', repository: 'org/app', fetch: fakeFetch }).getManifest('v1');
    expect(urls).toEqual(['https://index.docker.io/v2/library/alpine/manifests/latest', 'https://ghcr.io/v2/org/app/manifests/v1']);
  });

  it('uses http for loopback registries, and https when asked', async () => {
    const urls: string[] = [];
    const fakeFetch: typeof fetch = (input) => {
      urls.push(input instanceof Request ? input.url : input.toString());
      return Promise.resolve(new Response(null, { status: 404 }));
    };
    await new RegistryClient({ registry: 'localhost:5000', repository: 'app', fetch: fakeFetch }).getManifest('v1');
    await new RegistryClient({ registry: '[::1]:5000', repository: 'app', fetch: fakeFetch, scheme: 'https' }).getManifest('v1');
    expect(urls).toEqual(['http://localhost:5000/v2/app/manifests/v1', 'https://[::1]:5000/v2/app/manifests/v1']);
  });

  it('refuses plain http to a remote registry without allowHttp', () => {
    expectConstructCode(() => new RegistryClient({ registry: 'registry.example.com', repository: 'app', scheme: 'http' }), 'INSECURE_TRANSPORT');
    expect(new RegistryClient({ registry: 'registry.example.com', repository: 'app', scheme: 'http', allowHttp: true }).description).toBe(
      'registry.example.com/app',
    );
  });

  it.each([
    ['alias not normalised', 'docker.io', 'library/alpine'],
    ['Docker Hub repository without library/', 'index.docker.io', 'alpine'],
    ['upper-case repository', 'ghcr.io', 'Org/App'],
    ['tag in repository', 'ghcr.io', 'org/app:v1'],
    ['path traversal', 'ghcr.io', 'org/../admin'],
    ['host without dot or port', 'myhost', 'app'],
    ['path in registry', 'ghcr.io/x', 'app'],
  ])('refuses a name that is not normalised: %s', (_name, registry, repository) => {
    expectConstructCode(() => new RegistryClient({ registry, repository }), 'REFERENCE_INVALID');
  });
});

describe('getManifest', () => {
  it('computes the digest by hashing, ignoring a lying Docker-Content-Digest', async () => {
    const body = manifestBytes();
    const server = await serve(body, { 'docker-content-digest': digestOf('something else') });
    const manifest = await clientFor(server).getManifest('v1');
    expect(manifest?.digest).toBe(digestOf(body));
    expect(manifest?.contentType).toBe(OCI_MANIFEST);
    expect(Buffer.from(manifest?.bytes ?? []).equals(body)).toBe(true);
    expect(server.requests[0]?.url).toBe('/v2/org/app/manifests/v1');
    expect(server.requests[0]?.headers.accept).toBe(MANIFEST_ACCEPT);
    for (const type of Object.values(MEDIA_TYPES)) expect(MANIFEST_ACCEPT).toContain(type);
  });

  it('returns a manifest fetched by its digest', async () => {
    const body = manifestBytes();
    const server = await serve(body);
    const manifest = await clientFor(server).getManifest(digestOf(body));
    expect(manifest?.digest).toBe(digestOf(body));
    expect(server.requests[0]?.url).toBe(`/v2/org/app/manifests/${digestOf(body)}`);
  });

  it('fails with DIGEST_MISMATCH when content fetched by digest hashes differently', async () => {
    const wanted = manifestBytes('wanted');
    const server = await serve(manifestBytes('substituted'), { 'docker-content-digest': digestOf(wanted) });
    await expectCode(clientFor(server).getManifest(digestOf(wanted)), 'DIGEST_MISMATCH');
  });

  it('resolves undefined on 404', async () => {
    const server = await startServer((_req, res) => { sendJson(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] }); });
    expect(await clientFor(server).getManifest('sha256-abc.sig')).toBeUndefined();
  });

  it('fails with LIMIT_EXCEEDED while streaming a body over the cap (no Content-Length)', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': OCI_MANIFEST });
      res.write('x'.repeat(600));
      res.end('x'.repeat(600));
    });
    await expectCode(clientFor(server, { limits: resolveLimits({ ...testLimits, maxManifestBytes: 1000 }) }).getManifest('v1'), 'LIMIT_EXCEEDED');
  });

  it('fails early with LIMIT_EXCEEDED on a Content-Length over the cap, without waiting for the body', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(10_000_000) });
      res.write('{'); // then stall: only an early refusal avoids the timeout
    });
    const limits = resolveLimits({ ...testLimits, requestTimeoutMs: 5_000 });
    const started = Date.now();
    await expectCode(clientFor(server, { limits }).getManifest('v1'), 'LIMIT_EXCEEDED');
    expect(Date.now() - started).toBeLessThan(limits.requestTimeoutMs);
  });

  it.each(['../../v2/other/manifests/x', 'sha256:ABC', 'sha512:' + 'a'.repeat(128), '', 'v1?x=1'])(
    'refuses reference %j before any request',
    async (reference) => {
      const server = await serve(manifestBytes());
      await expectCode(clientFor(server).getManifest(reference), 'REFERENCE_INVALID');
      expect(server.requests).toHaveLength(0);
    },
  );
});

describe('getBlob', () => {
  const blob = Buffer.from('{"critical":{}}');
  const digest = digestOf(blob);

  it('returns a blob whose size and digest match', async () => {
    const server = await serve(blob);
    const bytes = await clientFor(server).getBlob(digest, blob.length, 1024);
    expect(Buffer.from(bytes).equals(blob)).toBe(true);
    expect(server.requests[0]?.url).toBe(`/v2/org/app/blobs/${digest}`);
  });

  it('refuses with LIMIT_EXCEEDED before any request when the descriptor size exceeds the cap', async () => {
    const server = await serve(blob);
    await expectCode(clientFor(server).getBlob(digest, 2048, 1024), 'LIMIT_EXCEEDED');
    expect(server.requests).toHaveLength(0);
  });

  it('fails with DIGEST_MISMATCH when the registry sends more bytes than the descriptor size', async () => {
    const server = await serve(Buffer.concat([blob, Buffer.from('trailing')]));
    await expectCode(clientFor(server).getBlob(digest, blob.length, 1024), 'DIGEST_MISMATCH');
  });

  it('fails with DIGEST_MISMATCH when the registry sends fewer bytes than the descriptor size', async () => {
    const server = await serve(blob.subarray(0, 5));
    await expectCode(clientFor(server).getBlob(digest, blob.length, 1024), 'DIGEST_MISMATCH');
  });

  it('fails with DIGEST_MISMATCH when same-size content hashes differently', async () => {
    const server = await serve(Buffer.from('{"critical":[]}'));
    await expectCode(clientFor(server).getBlob(digest, blob.length, 1024), 'DIGEST_MISMATCH');
  });

  it('fails with BLOB_NOT_FOUND on 404', async () => {
    const server = await startServer((_req, res) => { sendJson(res, 404, { errors: [{ code: 'BLOB_UNKNOWN' }] }); });
    await expectCode(clientFor(server).getBlob(digest, blob.length, 1024), 'BLOB_NOT_FOUND');
  });

  it('follows a redirect to storage on another origin without sending Authorization', async () => {
    const storage = await serve(blob);
    const registry = await startServer((req, res) => {
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      } else {
        res.writeHead(307, { location: `${storage.origin}/bucket/blob?X-Amz-Signature=presigned` }).end();
      }
    });
    const credentials = staticCredentials({ [registry.host]: { username: 'alice', password: 's3cret' } });
    const bytes = await clientFor(registry, { credentials }).getBlob(digest, blob.length, 1024);
    expect(Buffer.from(bytes).equals(blob)).toBe(true);
    expect(registry.requests.at(-1)?.headers.authorization).toBe(`Basic ${btoa('alice:s3cret')}`);
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]?.url).toBe('/bucket/blob?X-Amz-Signature=presigned');
    expect(storage.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('keeps Authorization on a same-origin redirect', async () => {
    const registry = await startServer((req, res) => {
      if (req.headers.authorization === undefined) res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      else if (req.url?.startsWith('/v2/')) res.writeHead(302, { location: '/storage/blob' }).end();
      else res.writeHead(200).end(blob);
    });
    const credentials = staticCredentials({ [registry.host]: { username: 'alice', password: 's3cret' } });
    await clientFor(registry, { credentials }).getBlob(digest, blob.length, 1024);
    expect(registry.requests.at(-1)).toMatchObject({ url: '/storage/blob', headers: { authorization: `Basic ${btoa('alice:s3cret')}` } });
  });

  it('refuses a redirect loop with REDIRECT_REFUSED', async () => {
    const server = await startServer((req, res) => {
      res.writeHead(302, { location: req.url === '/elsewhere' ? `/v2/org/app/blobs/${digest}` : '/elsewhere' }).end();
    });
    await expectCode(clientFor(server).getBlob(digest, blob.length, 1024), 'REDIRECT_REFUSED');
    expect(server.requests).toHaveLength(2);
  });

  it('refuses more than maxRedirects redirects with REDIRECT_REFUSED', async () => {
    let hop = 0;
    const server = await startServer((_req, res) => {
      res.writeHead(307, { location: `/hop/${++hop}` }).end();
    });
    const limits = resolveLimits({ ...testLimits, maxRedirects: 3 });
    await expectCode(clientFor(server, { limits }).getBlob(digest, blob.length, 1024), 'REDIRECT_REFUSED');
    expect(server.requests).toHaveLength(4);
  });

  it('keeps pre-signed query strings out of error details', async () => {
    const storage = await startServer((_req, res) => res.writeHead(400).end());
    const registry = await startServer((_req, res) => {
      res.writeHead(307, { location: `${storage.origin}/blob?X-Amz-Signature=topsecret` }).end();
    });
    const error = await expectCode(clientFor(registry).getBlob(digest, blob.length, 1024), 'REGISTRY_HTTP_ERROR');
    expect(error.details).toMatchObject({ status: 400, url: `${storage.origin}/blob`, digest });
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('topsecret');
  });
});

describe('retries, timeouts and network failures', () => {
  it('retries a 503 and succeeds, backing off exponentially', async () => {
    const body = manifestBytes();
    let calls = 0;
    const server = await startServer((_req, res) => {
      if (++calls === 1) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': OCI_MANIFEST }).end(body);
    });
    const { sleep, delays } = recordingSleep();
    const manifest = await clientFor(server, { sleep }).getManifest('v1');
    expect(manifest?.digest).toBe(digestOf(body));
    expect(server.requests).toHaveLength(2);
    expect(delays).toEqual([testLimits.retryBaseDelayMs]);
  });

  it('honours Retry-After on 429', async () => {
    let calls = 0;
    const server = await startServer((_req, res) => {
      if (++calls === 1) res.writeHead(429, { 'retry-after': '2' }).end();
      else res.writeHead(404).end();
    });
    const { sleep, delays } = recordingSleep();
    expect(await clientFor(server, { sleep }).getManifest('v1')).toBeUndefined();
    expect(delays).toEqual([2000]);
  });

  it('fails at once with REGISTRY_HTTP_ERROR when Retry-After exceeds maxRetryAfterMs', async () => {
    const server = await startServer((_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end());
    const { sleep, delays } = recordingSleep();
    const error = await expectCode(clientFor(server, { sleep }).getManifest('v1'), 'REGISTRY_HTTP_ERROR');
    expect(error.details).toMatchObject({ status: 429 });
    expect(server.requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('gives up with REGISTRY_HTTP_ERROR after maxRetries', async () => {
    const server = await startServer((_req, res) => res.writeHead(502).end());
    const { sleep, delays } = recordingSleep();
    const error = await expectCode(clientFor(server, { sleep }).getManifest('v1'), 'REGISTRY_HTTP_ERROR');
    expect(error.details).toMatchObject({ status: 502, reference: `${server.host}/${REPO}:v1` });
    expect(server.requests).toHaveLength(testLimits.maxRetries + 1);
    expect(delays).toEqual([1, 2]);
  });

  it('does not retry other errors, and reports the registry error codes', async () => {
    const server = await startServer((_req, res) => { sendJson(res, 400, { errors: [{ code: 'NAME_INVALID', message: 'bad' }] }); });
    const error = await expectCode(clientFor(server).getManifest('v1'), 'REGISTRY_HTTP_ERROR');
    expect(error.details).toMatchObject({ status: 400, registryErrors: ['NAME_INVALID'] });
    expect(server.requests).toHaveLength(1);
  });

  it('fails with REGISTRY_TIMEOUT when no headers arrive in time', async () => {
    const server = await startServer(() => undefined);
    const limits = resolveLimits({ ...testLimits, requestTimeoutMs: 200 });
    await expectCode(clientFor(server, { limits }).getManifest('v1'), 'REGISTRY_TIMEOUT');
  });

  it('fails with REGISTRY_TIMEOUT when the body stalls (the deadline covers the body)', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': OCI_MANIFEST });
      res.write('{"schemaVersion":');
    });
    const limits = resolveLimits({ ...testLimits, requestTimeoutMs: 200 });
    await expectCode(clientFor(server, { limits }).getManifest('v1'), 'REGISTRY_TIMEOUT');
  });

  it('fails with REGISTRY_TIMEOUT when the caller deadline passes', async () => {
    const server = await startServer(() => undefined);
    await expectCode(clientFor(server, { signal: AbortSignal.timeout(100) }).getManifest('v1'), 'REGISTRY_TIMEOUT');
  });

  it('fails with REGISTRY_UNREACHABLE when the connection is refused, after retrying', async () => {
    const server = await startServer(() => undefined);
    await server.close();
    const { sleep, delays } = recordingSleep();
    const error = await expectCode(clientFor(server, { sleep }).getManifest('v1'), 'REGISTRY_UNREACHABLE');
    expect(error.details).toMatchObject({ reason: 'ECONNREFUSED' });
    expect(delays).toHaveLength(testLimits.maxRetries);
  });
});

describe('authentication', () => {
  const TOKEN_SCOPE = `repository:${REPO}:pull`;

  /** A registry requiring `Bearer tok-*` and a token server issuing tok-1, tok-2, … */
  async function bearerRegistry(tokenBody: (n: number) => unknown = (n) => ({ token: `tok-${n}` })) {
    let issued = 0;
    const tokens = await startServer((_req, res) => { sendJson(res, 200, tokenBody(++issued)); });
    const body = manifestBytes();
    const registry = await startServer((req, res) => {
      if (req.headers.authorization?.startsWith('Bearer tok-') === true) {
        res.writeHead(200, { 'content-type': OCI_MANIFEST }).end(body);
      } else {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="test-registry",scope="${TOKEN_SCOPE}"` }).end();
      }
    });
    return { tokens, registry, body };
  }

  it('fetches an anonymous token and retries with it', async () => {
    const { tokens, registry, body } = await bearerRegistry();
    const manifest = await clientFor(registry).getManifest('v1');
    expect(manifest?.digest).toBe(digestOf(body));
    expect(tokens.requests).toHaveLength(1);
    const tokenUrl = new URL(tokens.requests[0]?.url ?? '', tokens.origin);
    expect(tokenUrl.pathname).toBe('/token');
    expect(tokenUrl.searchParams.get('service')).toBe('test-registry');
    expect(tokenUrl.searchParams.getAll('scope')).toEqual([TOKEN_SCOPE]);
    expect(tokens.requests[0]?.headers.authorization).toBeUndefined();
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([undefined, 'Bearer tok-1']);
  });

  it("sends this registry's credentials to the token endpoint as Basic", async () => {
    const { tokens, registry } = await bearerRegistry();
    const credentials = staticCredentials({ [registry.host]: { username: 'alice', password: 's3cret' } });
    await clientFor(registry, { credentials }).getManifest('v1');
    expect(tokens.requests[0]?.headers.authorization).toBe(`Basic ${btoa('alice:s3cret')}`);
  });

  it("never sends another registry's credentials", async () => {
    const { tokens, registry } = await bearerRegistry();
    const credentials = staticCredentials({ [`127.0.0.1:1`]: { username: 'alice', password: 's3cret' } });
    await clientFor(registry, { credentials }).getManifest('v1');
    expect(tokens.requests[0]?.headers.authorization).toBeUndefined();
    expect(registry.requests.every((r) => r.headers.authorization === undefined || r.headers.authorization === 'Bearer tok-1')).toBe(true);
  });

  it('reuses the token for later requests, sending it up front', async () => {
    const { tokens, registry } = await bearerRegistry();
    const client = clientFor(registry);
    await client.getManifest('v1');
    await client.getManifest('v2');
    expect(tokens.requests).toHaveLength(1);
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([undefined, 'Bearer tok-1', 'Bearer tok-1']);
  });

  it('fetches a new token once expires_in has passed', async () => {
    const { tokens, registry } = await bearerRegistry((n) => ({ access_token: `tok-${n}`, expires_in: 300 }));
    let now = Date.parse('2025-01-01T00:00:00Z');
    const client = clientFor(registry, { now: () => now });
    await client.getManifest('v1');
    now += 299_000;
    await client.getManifest('v1');
    now += 2_000;
    await client.getManifest('v1');
    expect(tokens.requests).toHaveLength(2);
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([undefined, 'Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
  });

  it('exchanges an identity token with the OAuth2 refresh-token grant', async () => {
    const { tokens, registry } = await bearerRegistry();
    const credentials = staticCredentials({ [registry.host]: { username: '<token>', password: 'refresh-me' } });
    await clientFor(registry, { credentials }).getManifest('v1');
    expect(tokens.requests[0]?.method).toBe('POST');
    expect(tokens.requests[0]?.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(tokens.requests[0]?.body))).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: 'refresh-me',
      service: 'test-registry',
      scope: TOKEN_SCOPE,
    });
  });

  it('fails with REGISTRY_AUTH_FAILED on a second 401, without leaking secrets', async () => {
    const tokens = await startServer((_req, res) => { sendJson(res, 200, { token: 'tok-secret' }); });
    const registry = await startServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token"` }).end();
    });
    const credentials = staticCredentials({ [registry.host]: { username: 'alice', password: 's3cret' } });
    const error = await expectCode(clientFor(registry, { credentials }).getManifest('v1'), 'REGISTRY_AUTH_FAILED');
    expect(registry.requests).toHaveLength(2);
    const shown = JSON.stringify({ message: error.message, details: error.details });
    for (const secret of ['s3cret', 'tok-secret', btoa('alice:s3cret')]) expect(shown).not.toContain(secret);
  });

  it('fails with REGISTRY_AUTH_FAILED on 403', async () => {
    const server = await startServer((_req, res) => { sendJson(res, 403, { errors: [{ code: 'DENIED' }] }); });
    await expectCode(clientFor(server).getManifest('v1'), 'REGISTRY_AUTH_FAILED');
  });

  it.each([
    ['a malformed challenge', { 'www-authenticate': 'Bearer realm="unterminated' }],
    ['no challenge', {}],
    ['an unsupported scheme', { 'www-authenticate': 'Negotiate' }],
    ['a realm over plain http to a remote host', { 'www-authenticate': 'Bearer realm="http://auth.example.com/token"' }],
  ])('fails with REGISTRY_AUTH_FAILED on a 401 with %s', async (_name, headers) => {
    const server = await startServer((_req, res) => res.writeHead(401, headers).end());
    await expectCode(clientFor(server).getManifest('v1'), 'REGISTRY_AUTH_FAILED');
  });

  it('fails with REGISTRY_AUTH_FAILED when the token endpoint refuses or answers nonsense', async () => {
    for (const answer of [
      (res: ServerResponse) => { sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] }); },
      (res: ServerResponse) => { sendJson(res, 200, { nothing: true }); },
    ]) {
      const tokens = await startServer((_req, res) => { answer(res); });
      const registry = await startServer((_req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token"` }).end());
      await expectCode(clientFor(registry).getManifest('v1'), 'REGISTRY_AUTH_FAILED');
    }
  });

  it('caps the token response at maxAuthResponseBytes', async () => {
    const { registry } = await bearerRegistry(() => ({ token: 'tok-' + 'x'.repeat(500) }));
    const limits = resolveLimits({ ...testLimits, maxAuthResponseBytes: 256 });
    await expectCode(clientFor(registry, { limits }).getManifest('v1'), 'LIMIT_EXCEEDED');
  });

  it('answers a Basic challenge with credentials, then sends them up front', async () => {
    const expected = `Basic ${btoa('alice:s3cret')}`;
    const server = await startServer((req, res) => {
      if (req.headers.authorization === expected) res.writeHead(404).end();
      else res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
    });
    const client = clientFor(server, { credentials: staticCredentials({ [server.host]: { username: 'alice', password: 's3cret' } }) });
    await client.getManifest('v1');
    await client.getManifest('v2');
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([undefined, expected, expected]);
  });

  it('fails with REGISTRY_AUTH_FAILED on a Basic challenge without credentials', async () => {
    const server = await startServer((_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end());
    await expectCode(clientFor(server).getManifest('v1'), 'REGISTRY_AUTH_FAILED');
    expect(server.requests).toHaveLength(1);
  });
});
