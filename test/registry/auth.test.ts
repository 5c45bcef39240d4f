import { describe, expect, it } from 'vitest';
import { type Challenge, parseTokenResponse, parseWwwAuthenticate, selectChallenge, tokenRequest } from '../../src/registry/auth.ts';

const params = (challenge: Challenge | undefined): Record<string, string> => Object.fromEntries(challenge?.params ?? []);

describe('parseWwwAuthenticate', () => {
  it('parses a Docker Hub style Bearer challenge', () => {
    const [challenge, ...rest] = parseWwwAuthenticate(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    ) ?? [];
    expect(rest).toEqual([]);
    expect(challenge?.scheme).toBe('bearer');
    expect(params(challenge)).toEqual({
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/alpine:pull',
    });
  });

  it('lower-cases scheme and parameter names, allows spaces around = and unquoted tokens', () => {
    const [challenge] = parseWwwAuthenticate('BEARER Realm = "https://r/token" , Service=svc') ?? [];
    expect(challenge?.scheme).toBe('bearer');
    expect(params(challenge)).toEqual({ realm: 'https://r/token', service: 'svc' });
  });

  it('unescapes quoted-pairs and keeps commas inside quotes', () => {
    const [challenge] = parseWwwAuthenticate('Bearer realm="https://r/t?a=1,b=2",scope="a \\"quoted\\" \\\\ x"') ?? [];
    expect(params(challenge)).toEqual({ realm: 'https://r/t?a=1,b=2', scope: 'a "quoted" \\ x' });
  });

  it('parses several challenges, including one with a token68', () => {
    const challenges = parseWwwAuthenticate('Negotiate abc+/==, Basic realm="registry", Bearer realm="https://r/token"');
    expect(challenges?.map((c) => c.scheme)).toEqual(['negotiate', 'basic', 'bearer']);
    expect(challenges?.[0]?.token68).toBe('abc+/==');
    expect(selectChallenge(challenges ?? [])?.scheme).toBe('bearer');
  });

  it('parses a bare scheme and Basic with an unquoted realm', () => {
    expect(parseWwwAuthenticate('Basic')?.map((c) => c.scheme)).toEqual(['basic']);
    expect(params(parseWwwAuthenticate('Basic realm=registry')?.[0])).toEqual({ realm: 'registry' });
  });

  it('selects Basic when no Bearer is offered, nothing for unknown schemes', () => {
    expect(selectChallenge(parseWwwAuthenticate('Digest realm="x", Basic realm="y"') ?? [])?.scheme).toBe('basic');
    expect(selectChallenge(parseWwwAuthenticate('Digest realm="x"') ?? [])).toBeUndefined();
  });

  it.each([
    ['unterminated quote', 'Bearer realm="https://r/token'],
    ['duplicate parameter', 'Bearer realm="a",realm="b"'],
    ['missing comma between parameters', 'Bearer realm="a" service="b"'],
    ['parameter before any scheme', 'realm="a"'],
    ['control character in quoted string', 'Bearer realm="a\nb"'],
    ['dangling escape', 'Bearer realm="a\\'],
    ['empty value', 'Bearer service=x, realm='],
    ['stray character', 'Bearer realm="a"; x'],
  ])('refuses a malformed header: %s', (_name, header) => {
    expect(parseWwwAuthenticate(header)).toBeUndefined();
  });

  it('does not let a __proto__ parameter reach the prototype', () => {
    const [challenge] = parseWwwAuthenticate('Bearer __proto__="x",realm="r"') ?? [];
    expect(challenge?.params.get('__proto__')).toBe('x');
    expect(Object.getPrototypeOf(params(challenge))).toBe(Object.prototype);
  });
});

describe('tokenRequest', () => {
  const bearer = (header: string): Challenge => {
    const challenge = parseWwwAuthenticate(header)?.[0];
    if (challenge === undefined) throw new Error('test challenge did not parse');
    return challenge;
  };

  it('asks for the challenge scope and service, anonymously without credentials', () => {
    const request = tokenRequest(bearer('Bearer realm="https://auth.example/token?x=1",service="svc",scope="repository:a:pull repository:b:pull"'), 'org/app', undefined, false);
    expect(request).toEqual({ url: new URL('https://auth.example/token?x=1&service=svc&scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apull') });
  });

  it('defaults the scope to pull on the repository and sends Basic credentials', () => {
    const request = tokenRequest(bearer('Bearer realm="https://auth.example/token"'), 'org/app', { username: 'u', password: 'p' }, false);
    expect(request).toEqual({ url: new URL('https://auth.example/token?scope=repository%3Aorg%2Fapp%3Apull'), authorization: `Basic ${btoa('u:p')}` });
  });

  it('uses the OAuth2 refresh-token grant for an identity token', () => {
    const request = tokenRequest(bearer('Bearer realm="https://auth.example/token",service="svc"'), 'org/app', { username: '<token>', password: 'refresh' }, false);
    expect(typeof request).toBe('object');
    if (typeof request === 'string') return;
    expect(request.authorization).toBeUndefined();
    expect(Object.fromEntries(request.form ?? [])).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'refresh',
      client_id: 'sigverify',
      service: 'svc',
      scope: 'repository:org/app:pull',
    });
  });

  it.each([
    ['no realm', 'Bearer service="svc"', false],
    ['relative realm', 'Bearer realm="/token"', false],
    ['plain http realm on a remote host', 'Bearer realm="http://auth.example/token"', false],
    ['realm with userinfo', 'Bearer realm="https://user:pw@auth.example/token"', false],
    ['non-http realm', 'Bearer realm="file:///etc/passwd"', true],
  ])('refuses an unusable realm: %s', (_name, header, allowHttp) => {
    expect(typeof tokenRequest(bearer(header), 'org/app', undefined, allowHttp)).toBe('string');
  });

  it('allows an http realm on loopback, or anywhere with allowHttp', () => {
    expect(typeof tokenRequest(bearer('Bearer realm="http://127.0.0.1:5000/token"'), 'r', undefined, false)).toBe('object');
    expect(typeof tokenRequest(bearer('Bearer realm="http://auth.example/token"'), 'r', undefined, true)).toBe('object');
  });
});

describe('parseTokenResponse', () => {
  const body = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

  it('accepts token or access_token, preferring access_token, with the spec default lifetime', () => {
    expect(parseTokenResponse(body({ token: 't' }))).toEqual({ token: 't', expiresIn: 60 });
    expect(parseTokenResponse(body({ access_token: 'a', token: 't', expires_in: 300, issued_at: 'x' }))).toEqual({ token: 'a', expiresIn: 300 });
  });

  it.each([
    ['not JSON', 'nope'],
    ['no token', { expires_in: 10 }],
    ['empty token', { token: '' }],
    ['token not a string', { token: 1 }],
    ['negative lifetime', { token: 't', expires_in: -1 }],
    ['header injection', { token: 'a\r\nX-Evil: 1' }],
  ])('refuses %s', (_name, value) => {
    expect(typeof parseTokenResponse(body(value))).toBe('string');
  });
});
