import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveLimits } from '../../src/limits.ts';
import type { Digest } from '../../src/reference/index.ts';
import { nextLink } from '../../src/registry/link.ts';
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
  testLimits,
} from './helpers.ts';

/**
 * distribution-spec v1.1 "Listing Referrers" against the in-process server:
 * what counts as having the API, pagination, and the faults a real registry
 * will not produce on demand.
 */
afterEach(closeServers);

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SUBJECT: Digest = digestOf('subject');
const REFERRERS_PATH = `/v2/${REPO}/referrers/${SUBJECT}`;

function entry(seed: string) {
  return {
    mediaType: OCI_MANIFEST,
    digest: digestOf(seed),
    size: 100,
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
  };
}

function indexOf(entries: readonly unknown[]): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries });
}

function sendIndex(res: ServerResponse, entries: readonly unknown[], headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': OCI_INDEX, ...headers }).end(indexOf(entries));
}

describe('the referrers API', () => {
  it('lists the index entries, asking for an OCI index without an artifactType filter', async () => {
    const server = await startServer((_req, res) => { sendIndex(res, [entry('a'), entry('b')]); });
    const listing = await clientFor(server).getReferrers(SUBJECT);
    expect(listing).toEqual({ kind: 'api', manifests: [entry('a'), entry('b')] });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.url).toBe(REFERRERS_PATH);
    expect(server.requests[0]?.headers.accept).toBe(OCI_INDEX);
  });

  it('accepts an empty listing as "the API, and no referrers"', async () => {
    const server = await startServer((_req, res) => { sendIndex(res, []); });
    expect(await clientFor(server).getReferrers(SUBJECT)).toEqual({ kind: 'api', manifests: [] });
  });

  it('reads the content type case-insensitively and with parameters', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'Application/VND.OCI.Image.Index.v1+json; charset=utf-8' }).end(indexOf([entry('a')]));
    });
    expect(await clientFor(server).getReferrers(SUBJECT)).toMatchObject({ kind: 'api', manifests: [{ digest: digestOf('a') }] });
  });

  it('refuses a subject that is not a sha256 digest with REFERENCE_INVALID', async () => {
    const server = await startServer((_req, res) => { sendIndex(res, []); });
    await expectCode(clientFor(server).getReferrers('sha256:../../x'), 'REFERENCE_INVALID');
    expect(server.requests).toHaveLength(0);
  });

  it('answers the registry challenge like any other GET', async () => {
    const tokens = await startServer((_req, res) => { sendJson(res, 200, { token: 'tok-1' }); });
    const server = await startServer((req, res) => {
      if (req.headers.authorization === 'Bearer tok-1') sendIndex(res, [entry('a')]);
      else res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="test",scope="repository:${REPO}:pull"` }).end();
    });
    expect(await clientFor(server).getReferrers(SUBJECT)).toMatchObject({ kind: 'api' });
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([undefined, 'Bearer tok-1']);
  });
});

describe('no referrers API: the caller falls back to the referrers tag', () => {
  // distribution-spec "Unavailable Referrers API"; go-containerregistry pkg/v1/remote/referrers.go.
  it.each([404, 400, 406])('HTTP %i is "unsupported", without retries', async (status) => {
    const server = await startServer((_req, res) => { res.writeHead(status, { 'content-type': 'text/plain' }).end('404 page not found'); });
    expect(await clientFor(server).getReferrers(SUBJECT)).toEqual({ kind: 'unsupported' });
    expect(server.requests).toHaveLength(1);
  });

  it.each(['text/html', 'application/json', OCI_MANIFEST])('200 with content type %s is "unsupported"', async (contentType) => {
    const server = await startServer((_req, res) => { res.writeHead(200, { 'content-type': contentType }).end(indexOf([entry('a')])); });
    expect(await clientFor(server).getReferrers(SUBJECT)).toEqual({ kind: 'unsupported' });
  });

  it('200 without a content type is "unsupported"', async () => {
    const server = await startServer((_req, res) => {
      res.removeHeader('content-type');
      res.writeHead(200).end(indexOf([entry('a')]));
    });
    expect(await clientFor(server).getReferrers(SUBJECT)).toEqual({ kind: 'unsupported' });
  });

  it('another 2xx, even with the index content type, is "unsupported"', async () => {
    const server = await startServer((_req, res) => { res.writeHead(203, { 'content-type': OCI_INDEX }).end(indexOf([entry('a')])); });
    expect(await clientFor(server).getReferrers(SUBJECT)).toEqual({ kind: 'unsupported' });
  });
});

describe('a registry claiming the API with a bad answer fails closed', () => {
  it.each([
    ['garbage', 'this is not JSON'],
    ['an empty body', ''],
    ['a JSON array', '[]'],
    ['an image manifest', manifestBytes().toString('utf8')],
    ['a Docker manifest list', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [] })],
    ['an entry without a digest', indexOf([{ mediaType: OCI_MANIFEST, size: 1 }])],
  ])('the index content type with %s is MANIFEST_INVALID', async (_what, body) => {
    const server = await startServer((_req, res) => { res.writeHead(200, { 'content-type': OCI_INDEX }).end(body); });
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'MANIFEST_INVALID');
  });

  it('HTTP 500 is REGISTRY_HTTP_ERROR after the retries', async () => {
    const server = await startServer((_req, res) => { res.writeHead(500).end(); });
    const { sleep, delays } = recordingSleep();
    await expectCode(clientFor(server, { sleep }).getReferrers(SUBJECT), 'REGISTRY_HTTP_ERROR');
    expect(server.requests).toHaveLength(testLimits.maxRetries + 1);
    expect(delays).toHaveLength(testLimits.maxRetries);
  });

  it('HTTP 403 is REGISTRY_AUTH_FAILED, not "unsupported"', async () => {
    const server = await startServer((_req, res) => { res.writeHead(403).end(); });
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'REGISTRY_AUTH_FAILED');
  });

  it('a listing over maxManifestBytes is LIMIT_EXCEEDED', async () => {
    const server = await startServer((_req, res) => { sendIndex(res, [entry('a'), entry('b')]); });
    const limits = resolveLimits({ ...testLimits, maxManifestBytes: 200 });
    await expectCode(clientFor(server, { limits }).getReferrers(SUBJECT), 'LIMIT_EXCEEDED');
  });
});

describe('pagination (Link: <…>; rel="next")', () => {
  /** A registry serving `pages` in order; page i links to page i+1 with `link(i + 1)`. */
  async function paged(pages: readonly (readonly unknown[])[], link = (next: number) => `<${REFERRERS_PATH}?page=${next}>; rel="next"`) {
    return startServer((req, res) => {
      const page = Number(new URL(req.url ?? '', 'http://x').searchParams.get('page') ?? '0');
      sendIndex(res, pages[page] ?? [], page + 1 < pages.length ? { link: link(page + 1) } : {});
    });
  }

  it('follows relative next links and concatenates the pages', async () => {
    const server = await paged([[entry('a')], [entry('b'), entry('c')], [entry('d')]]);
    const listing = await clientFor(server).getReferrers(SUBJECT);
    expect(listing).toEqual({ kind: 'api', manifests: [entry('a'), entry('b'), entry('c'), entry('d')] });
    expect(server.requests.map((r) => r.url)).toEqual([REFERRERS_PATH, `${REFERRERS_PATH}?page=1`, `${REFERRERS_PATH}?page=2`]);
    expect(server.requests.every((r) => r.headers.accept === OCI_INDEX)).toBe(true);
  });

  it('follows absolute next links on the same origin, with the same credentials', async () => {
    const tokens = await startServer((_req, res) => { sendJson(res, 200, { token: 'tok-1' }); });
    let origin = '';
    const server = await startServer((req, res) => {
      if (req.headers.authorization !== 'Bearer tok-1') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.origin}/token",service="test"` }).end();
        return;
      }
      const last = req.url?.endsWith('?last=a') === true;
      sendIndex(res, [entry(last ? 'b' : 'a')], last ? {} : { link: `<${origin}${REFERRERS_PATH}?last=a>; rel="next"` });
    });
    origin = server.origin;
    const listing = await clientFor(server).getReferrers(SUBJECT);
    expect(listing).toMatchObject({ kind: 'api', manifests: [{ digest: digestOf('a') }, { digest: digestOf('b') }] });
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([undefined, 'Bearer tok-1', 'Bearer tok-1']);
  });

  it('finds rel="next" among other links and relation types', async () => {
    const server = await paged([[entry('a')], [entry('b')]], (next) => `<${REFERRERS_PATH}?page=9>; rel="prev", <${REFERRERS_PATH}?page=${next}>; title="x;y"; REL="last Next"`);
    expect(await clientFor(server).getReferrers(SUBJECT)).toMatchObject({ kind: 'api', manifests: [{ digest: digestOf('a') }, { digest: digestOf('b') }] });
  });

  it('refuses a next page on another origin with PAGINATION_REFUSED, sending it nothing', async () => {
    const elsewhere = await startServer((_req, res) => { sendIndex(res, [entry('evil')]); });
    const server = await paged([[entry('a')], [entry('b')]], () => `<${elsewhere.origin}${REFERRERS_PATH}?page=1>; rel="next"`);
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'PAGINATION_REFUSED');
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('refuses a next page that differs only in scheme', async () => {
    let host = '';
    const server = await paged([[entry('a')], [entry('b')]], () => `<https://${host}${REFERRERS_PATH}?page=1>; rel="next"`);
    host = server.host;
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'PAGINATION_REFUSED');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a next link carrying credentials', async () => {
    let host = '';
    const server = await startServer((_req, res) => { sendIndex(res, [entry('a')], { link: `<http://user:pw@${host}${REFERRERS_PATH}?page=1>; rel="next"` }); });
    host = server.host;
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'PAGINATION_REFUSED');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a looping next link with PAGINATION_REFUSED', async () => {
    const server = await startServer((req, res) => {
      const onSecond = req.url?.endsWith('?page=1') === true;
      sendIndex(res, [entry(onSecond ? 'b' : 'a')], { link: `<${onSecond ? REFERRERS_PATH : `${REFERRERS_PATH}?page=1`}>; rel="next"` });
    });
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'PAGINATION_REFUSED');
    expect(server.requests).toHaveLength(2);
  });

  it('refuses a page linking to itself', async () => {
    const server = await startServer((_req, res) => { sendIndex(res, [entry('a')], { link: `<${REFERRERS_PATH}#again>; rel="next"` }); });
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'PAGINATION_REFUSED');
    expect(server.requests).toHaveLength(1);
  });

  it('stops after maxReferrerPages pages with LIMIT_EXCEEDED', async () => {
    const server = await startServer((req, res) => {
      const page = Number(new URL(req.url ?? '', 'http://x').searchParams.get('page') ?? '0');
      sendIndex(res, [entry(String(page))], { link: `<${REFERRERS_PATH}?page=${page + 1}>; rel="next"` });
    });
    const limits = resolveLimits({ ...testLimits, maxReferrerPages: 3 });
    await expectCode(clientFor(server, { limits }).getReferrers(SUBJECT), 'LIMIT_EXCEEDED');
    expect(server.requests).toHaveLength(3);
  });

  it('caps the entries of all pages together at maxIndexManifests', async () => {
    const server = await paged([[entry('a'), entry('b')], [entry('c'), entry('d')]]);
    const limits = resolveLimits({ ...testLimits, maxIndexManifests: 3 });
    await expectCode(clientFor(server, { limits }).getReferrers(SUBJECT), 'LIMIT_EXCEEDED');
  });

  it('refuses an unparsable Link header with PAGINATION_REFUSED rather than truncating', async () => {
    const server = await startServer((_req, res) => { sendIndex(res, [entry('a')], { link: `${REFERRERS_PATH}?page=1; rel="next"` }); });
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'PAGINATION_REFUSED');
  });

  it('a later page that is missing is REGISTRY_HTTP_ERROR', async () => {
    const server = await startServer((req, res) => {
      if (req.url === REFERRERS_PATH) sendIndex(res, [entry('a')], { link: `<${REFERRERS_PATH}?page=1>; rel="next"` });
      else res.writeHead(404).end();
    });
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'REGISTRY_HTTP_ERROR');
  });

  it('a later page of another content type is MANIFEST_INVALID', async () => {
    const server = await startServer((req, res) => {
      if (req.url === REFERRERS_PATH) sendIndex(res, [entry('a')], { link: `<${REFERRERS_PATH}?page=1>; rel="next"` });
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    });
    await expectCode(clientFor(server).getReferrers(SUBJECT), 'MANIFEST_INVALID');
  });
});

describe('nextLink (RFC 8288 Link header)', () => {
  it.each([
    [null, undefined],
    ['', undefined],
    ['</a>; rel="prev"', undefined],
    ['</a>; rel=next', '/a'],
    ['</a>;rel="next"', '/a'],
    ['</a> ; rel = "next"', '/a'],
    ['</a>; rel="prev next"', '/a'],
    ['</p>; rel="prev", </n?x=1,2>; rel="next"', '/n?x=1,2'],
    ['</a>; title="a \\" b"; rel="next"', '/a'],
    ['</a>; rel="next", </a>; rel="next"', '/a'],
    [', </a>; rel="next",', '/a'],
  ])('%j → %j', (header, next) => {
    expect(nextLink(header)).toEqual({ next });
  });

  it.each([
    '/a; rel="next"',
    '</a; rel="next"',
    '</a>; ="next"',
    '</a>; rel="next',
    '</a>; rel=',
    '</a> rel="next"',
    '</a>; rel="next", </b>; rel="next"',
  ])('%j is invalid', (header) => {
    expect(nextLink(header)).toHaveProperty('invalid');
  });
});
