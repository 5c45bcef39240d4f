import { subscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach, expect, vi } from 'vitest';

/**
 * Tests talk to nothing but loopback: a request to any other host fails the
 * test loudly instead of silently depending on the internet.
 */
const realFetch = globalThis.fetch;

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = new URL(input instanceof Request ? input.url : input.toString());
  if (!isLoopback(url.hostname)) {
    return Promise.reject(new Error(`test tried to reach ${url.host}: only loopback is allowed in tests`));
  }
  return realFetch(input, init);
};

/**
 * sigverify's own transport (src/http/http.ts, a pooled undici agent) does not
 * go through fetch: every connection it is about to open is checked here, and
 * a test that tried to reach beyond loopback fails after it ran.
 */
let offLoopback: string[] = [];
subscribe('undici:client:beforeConnect', (message) => {
  const { connectParams } = message as { connectParams: { hostname: string; port: string | number } };
  if (!isLoopback(connectParams.hostname)) offLoopback.push(`${connectParams.hostname}:${connectParams.port}`);
});

/**
 * A test that writes to the console is either debugging left behind or a
 * library that logs where it should return or throw: both fail the test.
 * (Suite-level notices, such as an interop suite announcing that it is
 * skipped, are printed while collecting, outside any test.)
 */

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
let consoleCalls: string[] = [];
let spies: { mockRestore(): void }[] = [];

beforeEach(() => {
  consoleCalls = [];
  spies = CONSOLE_METHODS.map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleCalls.push(`console.${method}: ${args.map(String).join(' ')}`);
    }),
  );
});

afterEach(() => {
  const reached = offLoopback;
  offLoopback = [];
  expect(reached, 'connections beyond loopback (only loopback is allowed in tests)').toEqual([]);
  for (const spy of spies) spy.mockRestore();
  expect(consoleCalls, 'stray console output').toEqual([]);
});
