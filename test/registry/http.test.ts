import { describe, expect, it } from 'vitest';
import { isLoopbackHost, parseRetryAfter, redactUrl, registryErrorCodes, resolveRedirect } from '../../src/http/http.ts';

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent or unparsable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
  });
});

describe('resolveRedirect', () => {
  const from = new URL('https://registry.example/v2/app/blobs/sha256:00');

  it('resolves relative and absolute https targets', () => {
    expect(resolveRedirect(from, '/elsewhere?sig=1', false)).toEqual({ url: new URL('https://registry.example/elsewhere?sig=1') });
    expect(resolveRedirect(from, 'https://bucket.s3.example/blob?X-Amz-Signature=s', false)).toEqual({
      url: new URL('https://bucket.s3.example/blob?X-Amz-Signature=s'),
    });
  });

  it.each([
    ['no Location', null, false],
    ['https to http downgrade, even with allowHttp', 'http://registry.example/x', true],
    ['non-http scheme', 'file:///etc/passwd', false],
    ['userinfo in target', 'https://user:pw@bucket.example/x', false],
  ])('refuses %s', (_name, location, allowHttp) => {
    expect(resolveRedirect(from, location, allowHttp)).toHaveProperty('refused');
  });

  it('allows http to http only for loopback or with allowHttp', () => {
    const local = new URL('http://127.0.0.1:5000/v2/');
    expect(resolveRedirect(local, 'http://127.0.0.1:6000/x', false)).toHaveProperty('url');
    expect(resolveRedirect(local, 'http://storage.example/x', false)).toHaveProperty('refused');
    expect(resolveRedirect(local, 'http://storage.example/x', true)).toHaveProperty('url');
  });
});

describe('helpers', () => {
  it('recognises loopback hosts only', () => {
    for (const host of ['localhost', '127.0.0.1', '127.255.0.9', '[::1]']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['localhost.example', '128.0.0.1', '127.0.0.1.example', '[::2]', 'example.com']) expect(isLoopbackHost(host)).toBe(false);
  });

  it('strips query, fragment and userinfo from URLs in messages', () => {
    expect(redactUrl(new URL('https://u:p@bucket.example/blob?X-Amz-Signature=secret#f'))).toBe('https://bucket.example/blob');
  });

  it('extracts distribution-spec error codes and nothing else', () => {
    const encode = (value: string): Uint8Array => new TextEncoder().encode(value);
    expect(registryErrorCodes(encode('{"errors":[{"code":"DENIED","message":"no"},{"code":"DENIED"},{"code":"\\u001b[31m"}]}'))).toEqual(['DENIED']);
    expect(registryErrorCodes(encode('<html>'))).toEqual([]);
    expect(registryErrorCodes(encode('{"errors":"x"}'))).toEqual([]);
  });
});
