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
