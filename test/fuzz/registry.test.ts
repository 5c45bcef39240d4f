import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_HUB } from '../../src/reference/index.ts';
import { type Challenge, parseTokenResponse, parseWwwAuthenticate, tokenRequest } from '../../src/registry/auth.ts';
import { IDENTITY_TOKEN_USERNAME } from '../../src/registry/credentials.ts';
import { configKeyHost, dockerConfigCredentials, matchConfigKey, parseHelperOutput } from '../../src/registry/docker-config.ts';
import { nextLink } from '../../src/registry/link.ts';
import { charOf, hostileJsonValue, hostileText, mutatedJsonText, utf8 } from './arbitraries.ts';
import { fc, neverThrows, outcomeAsync, parsed, runs, titled } from './harness.ts';

/** What registries and the local machine say: WWW-Authenticate, token responses, Link headers, docker config.json, credential helpers. */

/** RFC 7230 tchar. */
const TCHARS = Array.from("!#$%&'*+.^_`|~-abcxyzABCXYZ0189");
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 10 });
const CONTROL = /[\0-\x08\n-\x1f\x7f]/;
/** A quoted-string's content: anything but controls (HTAB allowed); quotes and backslashes are escaped when written. */
const quotable = fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !CONTROL.test(s));
const quote = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`;
const ows = fc.constantFrom('', ' ', '\t', '  ');
/** Header soup: the grammar's own characters, so the parser's branches are all reached. */
const headerSoup = fc.string({ unit: charOf('Bearer realm=",\\ \t;<>/:aZ9=\x01\x7f\né'), maxLength: 80 });

describe('fuzz: parseWwwAuthenticate', () => {
  it(titled('arbitrary headers: challenges or undefined, never a throw', 'wwwAuthHostile'), () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 10, arbitrary: hostileText() }, { weight: 10, arbitrary: headerSoup }, { weight: 1, arbitrary: fc.constantFrom(`Bearer ${'a'.repeat(100_000)}x`, `Bearer realm="${'\\'.repeat(100_001)}`, 'Basic a, '.repeat(20_000)) }), (header) => {
        const challenges = neverThrows(() => parseWwwAuthenticate(header));
        const notLowerCase = (challenges ?? []).flatMap((c) => [c.scheme, ...c.params.keys()]).filter((name) => name !== name.toLowerCase());
        expect(notLowerCase).toEqual([]);
      }),
      runs('wwwAuthHostile'),
    );
  });

  it(titled('generated challenges with quoted params parse to the same schemes and params', 'wwwAuthRoundTrip'), () => {
    const params = fc.uniqueArray(fc.record({ name: token, value: quotable, before: ows, after: ows }), { maxLength: 4, selector: (p) => p.name.toLowerCase() });
    const challenge = fc.record({ scheme: token, space: fc.constantFrom(' ', '  ', '\t'), params, separator: fc.constantFrom(',', ', ', ' , ', ',,') });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), fc.constantFrom(', ', ',', ' ,  '), (challenges, between) => {
        const header = challenges
          .map((c) => c.scheme + (c.params.length === 0 ? '' : c.space + c.params.map((p) => `${p.name}${p.before}=${p.after}${quote(p.value)}`).join(c.separator)))
          .join(between);
        const value = parsed(() => parseWwwAuthenticate(header));
        expect(value).toEqual(challenges.map((c) => ({ scheme: c.scheme.toLowerCase(), params: new Map(c.params.map((p) => [p.name.toLowerCase(), p.value])) })));
      }),
      runs('wwwAuthRoundTrip'),
    );
  });
});

describe('fuzz: token requests and responses', () => {
  it(titled('any Bearer challenge: a token request only to a credential-free https (or allowed http) realm, else a reason; never a throw', 'tokenRequestHostile'), () => {
    const realm = fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), hostileText(60), fc.constantFrom('http://127.0.0.1:1/token', 'http://evil.test/token', 'https://user:pw@evil.test/', 'ftp://x/', 'javascript:alert(1)', 'https://[::1]/'));
    const credentials = fc.option(fc.record({ username: fc.oneof(fc.constant(IDENTITY_TOKEN_USERNAME), fc.string()), password: fc.string() }), { nil: undefined });
    fc.assert(
      fc.property(realm, fc.option(hostileText(40), { nil: undefined }), fc.option(hostileText(60), { nil: undefined }), fc.string({ maxLength: 40 }), credentials, fc.boolean(), (r, service, scope, repository, creds, allowHttp) => {
        const challenge: Challenge = { scheme: 'bearer', params: new Map([['realm', r], ...(service === undefined ? [] : [['service', service] as [string, string]]), ...(scope === undefined ? [] : [['scope', scope] as [string, string]])]) };
        const request = neverThrows(() => tokenRequest(challenge, repository, creds, allowHttp));
        if (typeof request === 'string') return;
        expect(request.url.username + request.url.password).toBe('');
        expect(request.url.protocol === 'https:' || (request.url.protocol === 'http:' && (allowHttp || ['localhost', '[::1]'].includes(request.url.hostname) || request.url.hostname.startsWith('127.')))).toBe(true);
        // An identity token is exchanged by POST; it never travels as Basic credentials.
        if (creds?.username === IDENTITY_TOKEN_USERNAME) expect(request.authorization).toBeUndefined();
      }),
      runs('tokenRequestHostile'),
    );
  });

  it(titled('arbitrary token endpoint bodies: a header-safe token or a reason, never a throw', 'tokenResponseHostile'), () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      hostileText().map(utf8),
      fc.record({ token: hostileJsonValue(), access_token: hostileJsonValue(), expires_in: hostileJsonValue() }, { requiredKeys: [] }).map((v) => utf8(JSON.stringify(v))),
      mutatedJsonText([{ token: 'abc', access_token: 'def', expires_in: 300, issued_at: '2026-01-01T00:00:00Z' }]).map(utf8),
    );
    fc.assert(
      fc.property(body, (bytes) => {
        const result = neverThrows(() => parseTokenResponse(bytes));
        if (typeof result === 'string') return;
        expect(result.token).toMatch(/^[\x21-\x7e]+$/);
        expect(result.expiresIn).toBeGreaterThan(0);
      }),
      runs('tokenResponseHostile'),
    );
  });

  it(titled('a generated token response yields its token (access_token preferred) and lifetime', 'tokenResponseRoundTrip'), () => {
    const headerSafe = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(fc.option(headerSafe, { nil: undefined }), fc.option(headerSafe, { nil: undefined }), fc.option(fc.integer({ min: 1, max: 1e9 }), { nil: undefined }), (t, access, expiresIn) => {
        fc.pre(t !== undefined || access !== undefined);
        const body = utf8(JSON.stringify({ token: t, access_token: access, expires_in: expiresIn }));
        expect(parsed(() => parseTokenResponse(body))).toEqual({ token: access ?? t, expiresIn: expiresIn ?? 60 });
      }),
      runs('tokenResponseRoundTrip'),
    );
  });
});

describe('fuzz: Link rel="next"', () => {
  it(titled('arbitrary Link headers: a next target, none, or invalid; never a throw', 'linkHostile'), () => {
    const soup = fc.string({ unit: charOf('<>;,="\\ \trel=next/?a'), maxLength: 80 });
    fc.assert(
      fc.property(fc.oneof({ weight: 10, arbitrary: hostileText() }, { weight: 10, arbitrary: soup }, { weight: 1, arbitrary: fc.constantFrom(`<a>${'; x'.repeat(20_000)}`, `<${'a'.repeat(200_000)}`, `<a>; rel="${'\\'.repeat(100_001)}`) }), (header) => {
        const result = neverThrows(() => nextLink(header));
        expect('next' in result || 'invalid' in result).toBe(true);
      }),
      runs('linkHostile'),
    );
  });

  it(titled('a generated Link header names its one rel="next" target', 'linkRoundTrip'), () => {
    const target = fc.string({ unit: 'binary', maxLength: 40 }).filter((t) => !t.includes('>'));
    const value = fc.oneof(token, quotable.map(quote));
    const otherParam = fc.record({ name: token.filter((n) => n.toLowerCase() !== 'rel'), value: fc.option(value, { nil: undefined }) });
    const params = (rel: fc.Arbitrary<string>): fc.Arbitrary<string> =>
      fc.tuple(fc.array(otherParam, { maxLength: 2 }), rel, fc.array(otherParam, { maxLength: 2 }), ows).map(([before, r, after, space]) =>
        [...before.map((p) => `${p.name}${p.value === undefined ? '' : `=${p.value}`}`), r, ...after.map((p) => `${p.name}${p.value === undefined ? '' : `=${p.value}`}`)]
          .filter((p) => p !== '')
          .map((p) => `;${space}${p}`)
          .join(space),
      );
    const nextRel = fc.constantFrom('rel=next', 'rel="next"', 'REL=NEXT', 'rel="prev next"', 'rel = "next  last"');
    const otherRel = fc.constantFrom('', 'rel=prev', 'rel="first last"', 'rel="nextpage"');
    fc.assert(
      fc.property(target, params(nextRel), fc.array(fc.tuple(target, params(otherRel)), { maxLength: 3 }), fc.nat(), fc.constantFrom(', ', ',', ' , ,'), (next, nextParams, others, position, between) => {
        const links = others.map(([t, p]) => `<${t}>${p}`);
        links.splice(position % (links.length + 1), 0, `<${next}>${nextParams}`);
        expect(parsed(() => nextLink(links.join(between)))).toEqual({ next });
      }),
      runs('linkRoundTrip'),
    );
  });
});

describe('fuzz: docker config.json and credential helpers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigverify-fuzz-docker-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const label = fc.string({ unit: charOf('abcxyz019-'), minLength: 1, maxLength: 8 }).filter((l) => !l.startsWith('-') && !l.endsWith('-'));
  const host = fc.tuple(fc.array(label, { minLength: 2, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })).map(([labels, port]) => labels.join('.') + (port === undefined ? '' : `:${port}`));
  const CONFIG_SEED = {
    auths: {
      'https://index.docker.io/v1/': { auth: Buffer.from('user:pa:ss').toString('base64') },
      'ghcr.io': { username: 'u', password: 'p', email: 'e@example.com' },
      'quay.io': { identitytoken: 'refresh' },
      'registry.example.com:5000': { auth: '' },
    },
    credHelpers: { 'gcr.io': 'gcloud' },
    credsStore: '',
    psFormat: 'table',
  };
  const registries = ['index.docker.io', 'ghcr.io', 'quay.io', 'registry.example.com:5000', 'gcr.io', 'example.com'];

  it(titled('mutated config files: credentials, anonymous, or typed errors (helpers cannot run here)', 'dockerConfigMutated'), async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: mutatedJsonText([CONFIG_SEED]) }, { weight: 1, arbitrary: hostileText() }), fc.constantFrom(...registries), async (text, registry) => {
        const configPath = join(dir, `config-${n++}.json`);
        await writeFile(configPath, text);
        // PATH points at an empty directory: a configured helper fails to start, as CREDENTIAL_HELPER_FAILED.
        const source = dockerConfigCredentials({ configPath, env: { PATH: dir, HOME: dir } });
        await outcomeAsync(() => source.get(registry), ['DOCKER_CONFIG_INVALID', 'CREDENTIAL_HELPER_FAILED', 'LIMIT_EXCEEDED']);
        await rm(configPath);
      }),
      // A helper name too long for the system: spawn throws ENAMETOOLONG instead of emitting 'error'.
      { ...runs('dockerConfigMutated'), examples: [[JSON.stringify({ credHelpers: { 'gcr.io': 'gcloud'.repeat(1000) } }), 'gcr.io']] },
    );
  });

  it(titled('a generated auths entry yields its credentials, under any of docker\'s key forms', 'dockerConfigRoundTrip'), async () => {
    const user = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((u) => !u.includes(':') && u !== IDENTITY_TOKEN_USERNAME);
    const entry = fc.oneof(
      fc.record({ kind: fc.constant('auth' as const), username: user, password: fc.string({ unit: 'binary', maxLength: 20 }) }),
      fc.record({ kind: fc.constant('plain' as const), username: user, password: fc.string({ unit: 'binary', maxLength: 20 }) }),
      fc.record({ kind: fc.constant('identitytoken' as const), token: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) }),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(host, fc.constantFrom('', 'https://', 'http://'), fc.constantFrom('', '/', '/v1/', '/v2'), entry, async (h, scheme, suffix, e) => {
        const auth = e.kind === 'auth' ? { auth: Buffer.from(`${e.username}:${e.password}`).toString('base64') } : e.kind === 'plain' ? { username: e.username, password: e.password } : { identitytoken: e.token };
        const configPath = join(dir, `roundtrip-${n++}.json`);
        await writeFile(configPath, JSON.stringify({ auths: { [`${scheme}${h}${suffix}`]: auth, [`${h}.other`]: { auth: Buffer.from('x:y').toString('base64') } } }));
        const expected = e.kind === 'identitytoken' ? { username: IDENTITY_TOKEN_USERNAME, password: e.token } : { username: e.username, password: e.password };
        expect(await dockerConfigCredentials({ configPath, env: { PATH: dir, HOME: dir } }).get(h)).toEqual(expected);
        await rm(configPath);
      }),
      runs('dockerConfigRoundTrip'),
    );
  });

  it(titled('a key matches only its own registry: no suffix, prefix, port or path confusion', 'dockerConfigKeyExact'), () => {
    const confusable = (h: string): string[] => [
      `evil.${h}`, `${h}.evil`, `${h}x`, `x${h}`, `${h}:1`, `https://${h}.evil/v2/`, `https://evil.${h}/v1/`,
      `${h}/v3/`, `${h}/path`, `https://${h}@evil`, `${h}/v1/x`, ` ${h}`, `${h} `, `ftp://${h}`, `${h}/v1//`,
    ].filter((k) => configKeyHost(k) !== h);
    fc.assert(
      fc.property(host, (h) => {
        const keys = confusable(h);
        expect(neverThrows(() => matchConfigKey(keys, h))).toBeUndefined();
        for (const k of keys) expect(neverThrows(() => matchConfigKey([k], h))).toBeUndefined();
      }),
      runs('dockerConfigKeyExact'),
    );
  });

  it(titled('docker writes a registry key in several forms: each matches, and the exact host wins', 'dockerConfigKeyForms'), () => {
    const form = (h: string): fc.Arbitrary<string> =>
      fc.constantFrom(h, `https://${h}/v1/`, `http://${h}/v2`, `${h}/`, `${h}/v2/`, `HTTPS://${h.toUpperCase()}/v1/`, h.toUpperCase());
    fc.assert(
      fc.property(host.chain((h) => fc.tuple(fc.constant(h), form(h), fc.array(host, { maxLength: 3 }))), ([h, key, others]) => {
        const noise = others.filter((o) => o !== h);
        expect(matchConfigKey([...noise, key], h)).toBe(key);
        expect(matchConfigKey([`https://${h}/v1/`, ...noise, h], h)).toBe(h);
        // Docker Hub answers to all its names.
        expect(matchConfigKey([...noise, key.replace(h, 'docker.io').replace(h.toUpperCase(), 'DOCKER.IO')], DOCKER_HUB)).toBeDefined();
      }),
      runs('dockerConfigKeyForms'),
    );
  });

  it(titled('arbitrary helper output: credentials, anonymous, or a reason; never a throw', 'helperOutputHostile'), () => {
    const helperSeed = [{ ServerURL: 'https://index.docker.io/v1/', Username: 'u', Secret: 's' }];
    fc.assert(
      fc.property(fc.oneof(hostileText(), mutatedJsonText(helperSeed)), (stdout) => {
        const result = neverThrows(() => parseHelperOutput(stdout));
        if (result !== undefined && typeof result !== 'string') {
          expect(typeof result.username).toBe('string');
          expect(typeof result.password).toBe('string');
        }
      }),
      runs('helperOutputHostile'),
    );
  });

  it(titled('generated helper output round-trips', 'helperOutputRoundTrip'), () => {
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: undefined }), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (serverUrl, username, password) => {
        const stdout = JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: password });
        expect(parsed(() => parseHelperOutput(stdout))).toEqual(username === '' && password === '' ? undefined : { username, password });
      }),
      runs('helperOutputRoundTrip'),
    );
  });
});
