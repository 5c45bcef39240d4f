import { readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { type ErrorCode, SigverifyError } from '../../src/errors.ts';
import type { PolicyInput } from '../../src/policy/index.ts';
import { type Digest, sha256Digest } from '../../src/reference/index.ts';
import { staticCredentials } from '../../src/registry/index.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { type VerificationResult, type VerifyOptions, verifyImage } from '../../src/verify/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { type OciObject, referrersTag, signatureTag } from '../helpers/sigstore/index.ts';
import { type RecordedRequest, type TestServer, startServer } from '../registry/helpers.ts';

/**
 * A hostile OCI registry on 127.0.0.1 (node:http): it serves the committed
 * fixture image layout (`fixtures/layout`: every tag, every manifest by
 * digest, every blob) honestly, and lies, stalls or fails wherever a test
 * switches a misbehaviour on. Every request is recorded, so tests can count
 * retries and check which headers reached which origin.
 *
 * A misbehaviour is a trigger (which requests) and a behaviour (what to do
 * instead of the honest reply). Behaviours matching one request form a chain:
 * each may answer, or call `next()` to pass the request on (an auth gate
 * in front of a fault), ending with the honest reply.
 */

export const REPOSITORY = 'fixtures';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const POLICY: PolicyInput = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };

/** What the request asked for, parsed from `/v2/<repository>/<kind>/<reference>`. */
export interface Route {
  readonly kind: 'manifests' | 'blobs' | 'referrers' | 'other';
  readonly repository?: string;
  readonly reference?: string;
}

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Route;
  /** What an honest registry answers. */
  readonly honest: Reply;
  /** Passes the request to the next matching behaviour, or answers honestly. */
  next(): Promise<void>;
}

export type Trigger = (route: Route, req: IncomingMessage) => boolean;
export type Behaviour = (exchange: Exchange) => void | Promise<void>;

interface StoredManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
}

export interface HostileRegistry extends TestServer {
  readonly repository: string;
  /** `127.0.0.1:<port>/fixtures:<tag>` or `…@<digest>`. */
  ref(tagOrDigest: string): string;
  /** The manifest stored under a tag or digest (throws if absent). */
  manifest(tagOrDigest: string): StoredManifest;
  blob(digest: Digest): Buffer;
  /** Stores a manifest under its digest and, when given, a tag (replacing what the tag named). */
  putManifest(bytes: Uint8Array, mediaType?: string, tag?: string): Digest;
  /** Stores an object built by the test Sigstore helpers: its manifest, child manifests and blobs. */
  putObject(object: OciObject, tag?: string): Digest;
  /** Switches a misbehaviour on; `times` limits how many requests it applies to. */
  misbehave(when: Trigger, act: Behaviour, options?: { readonly times?: number }): void;
  /** Requests of one kind (and reference). */
  requestsFor(kind: Route['kind'], reference?: string): RecordedRequest[];
}

export interface HostileRegistryOptions {
  /** Answer `GET /v2/<name>/referrers/<digest>` from the `sha256-<hex>` indexes (default: 404, no API, like distribution 2.8). */
  readonly referrersApi?: boolean;
}

// ---------------------------------------------------------------------------
// The fixture layout, read once.

interface Layout {
  readonly manifests: ReadonlyMap<string, StoredManifest>;
  readonly blobs: ReadonlyMap<Digest, Buffer>;
}

const MANIFEST_TYPES = new Set([OCI_MANIFEST, OCI_INDEX, 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
let layout: Layout | undefined;

function fixtureLayout(): Layout {
  if (layout !== undefined) return layout;
  const blobs = new Map<Digest, Buffer>();
  const manifests = new Map<string, StoredManifest>();
  const blobDir = join(FIXTURE_LAYOUT, 'blobs', 'sha256');
  for (const name of readdirSync(blobDir)) {
    const bytes = readFileSync(join(blobDir, name));
    const digest: Digest = `sha256:${name}`;
    blobs.set(digest, bytes);
    const mediaType = manifestMediaType(bytes);
    if (mediaType !== undefined) manifests.set(digest, { bytes, mediaType });
  }
  const index = JSON.parse(readFileSync(join(FIXTURE_LAYOUT, 'index.json'), 'utf8')) as {
    manifests: { digest: Digest; mediaType: string; annotations?: Record<string, string> }[];
  };
  for (const entry of index.manifests) {
    const tag = entry.annotations?.['org.opencontainers.image.ref.name'];
    const bytes = blobs.get(entry.digest);
    if (tag !== undefined && bytes !== undefined) manifests.set(tag, { bytes, mediaType: entry.mediaType });
  }
  layout = { manifests, blobs };
  return layout;
}

function manifestMediaType(bytes: Buffer): string | undefined {
  if (bytes[0] !== 0x7b) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { schemaVersion?: unknown; mediaType?: unknown };
    return parsed.schemaVersion === 2 && typeof parsed.mediaType === 'string' && MANIFEST_TYPES.has(parsed.mediaType) ? parsed.mediaType : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// The registry.

const ROUTE = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/;

export function parseRoute(url: string): Route {
  const match = ROUTE.exec(new URL(url, 'http://x').pathname);
  if (match === null) return { kind: 'other' };
  return { kind: match[2] as Route['kind'], repository: match[1], reference: decodeURIComponent(match[3] as string) };
}

export async function startHostileRegistry(options: HostileRegistryOptions = {}): Promise<HostileRegistry> {
  const fixtures = fixtureLayout();
  const manifests = new Map<string, StoredManifest>(fixtures.manifests);
  const blobs = new Map<Digest, Buffer>(fixtures.blobs);
  const rules: { when: Trigger; act: Behaviour; left: number }[] = [];

  const honest = (route: Route): Reply => {
    if (route.kind === 'other') return json(200, {});
    if (route.repository !== REPOSITORY || route.reference === undefined) return notFound('NAME_UNKNOWN');
    if (route.kind === 'manifests') {
      const stored = manifests.get(route.reference);
      if (stored === undefined) return notFound('MANIFEST_UNKNOWN');
      return { status: 200, headers: { 'content-type': stored.mediaType, 'docker-content-digest': sha256Digest(stored.bytes) }, body: stored.bytes };
    }
    if (route.kind === 'blobs') {
      const bytes = blobs.get(route.reference as Digest);
      return bytes === undefined ? notFound('BLOB_UNKNOWN') : { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: bytes };
    }
    if (options.referrersApi !== true) return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from('404 page not found\n') };
    const fallback = manifests.get(`sha256-${route.reference.replace(/^sha256:/, '')}`);
    const body = fallback?.mediaType === OCI_INDEX ? fallback.bytes : Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
    return { status: 200, headers: { 'content-type': OCI_INDEX }, body };
  };

  const server = await startServer(async (req, res) => {
    const route = parseRoute(req.url ?? '/');
    const reply = honest(route);
    const chain = rules.filter((rule) => rule.left > 0 && rule.when(route, req));
    const step = async (i: number): Promise<void> => {
      const rule = chain[i];
      if (rule === undefined) {
        send(res, reply);
        return;
      }
      rule.left--;
      await rule.act({ req, res, route, honest: reply, next: () => step(i + 1) });
    };
    await step(0);
  });

  const put = (bytes: Uint8Array, mediaType: string, tag?: string): Digest => {
    const stored = { bytes: Buffer.from(bytes), mediaType };
    const digest = sha256Digest(bytes);
    manifests.set(digest, stored);
    if (tag !== undefined) manifests.set(tag, stored);
    return digest;
  };
  const putObject = (object: OciObject, tag?: string): Digest => {
    for (const child of object.manifests) putObject(child);
    for (const [digest, bytes] of object.blobs) blobs.set(digest, bytes);
    return put(object.manifestBytes, object.mediaType, tag);
  };

  return {
    ...server,
    repository: REPOSITORY,
    ref: (tagOrDigest) => `${server.host}/${REPOSITORY}${tagOrDigest.startsWith('sha256:') ? '@' : ':'}${tagOrDigest}`,
    manifest(tagOrDigest) {
      const stored = manifests.get(tagOrDigest);
      if (stored === undefined) throw new Error(`the hostile registry has no manifest ${tagOrDigest}`);
      return stored;
    },
    blob(digest) {
      const bytes = blobs.get(digest);
      if (bytes === undefined) throw new Error(`the hostile registry has no blob ${digest}`);
      return bytes;
    },
    putManifest: (bytes, mediaType = OCI_MANIFEST, tag) => put(bytes, mediaType, tag),
    putObject,
    misbehave(when, act, misbehaveOptions = {}) {
      rules.push({ when, act, left: misbehaveOptions.times ?? Number.POSITIVE_INFINITY });
    },
    requestsFor: (kind, reference) =>
      server.requests.filter((r) => {
        const route = parseRoute(r.url);
        return route.kind === kind && (reference === undefined || route.reference === reference);
      }),
  };
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(value)) };
}

function notFound(code: string): Reply {
  return json(404, { errors: [{ code, message: 'not found' }] });
}

export function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.body.byteLength) }).end(reply.body);
}

/** The digest of the first layer (or entry, for an index) of a stored manifest. */
export function firstEntry(registry: HostileRegistry, tagOrDigest: string): Digest {
  const manifest = JSON.parse(registry.manifest(tagOrDigest).bytes.toString('utf8')) as { layers?: { digest: Digest }[]; manifests?: { digest: Digest }[] };
  const entry = (manifest.layers ?? manifest.manifests ?? [])[0];
  if (entry === undefined) throw new Error(`${tagOrDigest} lists nothing`);
  return entry.digest;
}

/** The payload blob of the first `.sig` layer of an image. */
export const signatureBlobOf = (registry: HostileRegistry, image: Digest): Digest => firstEntry(registry, signatureTag(image));

/** The bundle blob of an image's first referrer, found through its `sha256-<hex>` index. */
export const bundleBlobOf = (registry: HostileRegistry, image: Digest): Digest => firstEntry(registry, firstEntry(registry, referrersTag(image)));

// ---------------------------------------------------------------------------
// Triggers.

export const anyRequest: Trigger = () => true;
/** A manifest request, by tag or digest; any manifest when not given. */
export const manifestOf = (reference?: string): Trigger => (route) => route.kind === 'manifests' && (reference === undefined || route.reference === reference);
/** A blob request, for one digest or any. */
export const blobOf = (digest?: Digest): Trigger => (route) => route.kind === 'blobs' && (digest === undefined || route.reference === digest);
export const referrersOf = (digest?: Digest): Trigger => (route) => route.kind === 'referrers' && (digest === undefined || route.reference === digest);

// ---------------------------------------------------------------------------
// Behaviours.

/** The honest reply with some of it replaced. */
export function replyWith(change: Partial<Reply> | ((honest: Reply) => Partial<Reply>)): Behaviour {
  return ({ res, honest }) => {
    const changed = typeof change === 'function' ? change(honest) : change;
    send(res, { ...honest, ...changed, headers: { ...honest.headers, ...changed.headers } });
  };
}

/** A fixed status, e.g. a 503 or a 429 with Retry-After. */
export function status(code: number, headers: Record<string, string> = {}): Behaviour {
  return ({ res }) => {
    send(res, json(code, { errors: [{ code: code === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'hostile' }] }, headers));
  };
}

export function redirect(location: string | ((exchange: Exchange) => string), code = 307): Behaviour {
  return (exchange) => {
    exchange.res.writeHead(code, { location: typeof location === 'string' ? location : location(exchange), 'content-length': '0' }).end();
  };
}

/**
 * Writes a response by hand on the socket: status line, headers (with the
 * given Content-Length, true or not) and body, then closes, resets or keeps
 * the connection open.
 */
export function rawResponse(options: {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: (honest: Reply) => Uint8Array;
  readonly contentLength?: (body: Uint8Array, honest: Reply) => number;
  readonly then: 'close' | 'reset';
}): Behaviour {
  return ({ req, honest }) => {
    const body = options.body(honest);
    const headers = { ...honest.headers, ...options.headers, 'content-length': String(options.contentLength?.(body, honest) ?? body.byteLength), connection: 'close' };
    const head = `HTTP/1.1 ${options.status ?? 200} OK\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    const socket = req.socket;
    socket.write(head);
    socket.write(body, () => {
      if (options.then === 'reset') socket.resetAndDestroy();
      else socket.end();
    });
  };
}

/** The honest headers (Content-Length included), half the body, then a TCP reset. */
export const resetMidBody: Behaviour = rawResponse({ body: (h) => h.body.subarray(0, Math.floor(h.body.byteLength / 2)), contentLength: (_b, h) => h.body.byteLength, then: 'reset' });

/** Never answers: no status line, no headers. */
export const hang: Behaviour = () => new Promise<void>(() => undefined);

/** The honest headers at once, then the body one byte every `intervalMs`. */
export function dribble(intervalMs: number): Behaviour {
  return ({ res, honest }) => {
    res.writeHead(honest.status, { ...honest.headers, 'content-length': String(honest.body.byteLength) });
    let i = 0;
    const timer = setInterval(() => {
      if (res.destroyed || i >= honest.body.byteLength) {
        clearInterval(timer);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(honest.body.subarray(i, ++i));
    }, intervalMs);
    res.on('close', () => { clearInterval(timer); });
  };
}

/** A 200 whose body never ends (chunked, 64 KiB of `[` at a time: never complete JSON), until the client goes away. */
export function streamForever(res: ServerResponse, contentType: string): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 0x5b);
  return new Promise<void>((resolve) => {
    res.writeHead(200, { 'content-type': contentType });
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) { /* until the socket buffer is full */ }
    };
    res.on('drain', pump);
    res.on('close', () => { resolve(); });
    pump();
  });
}

/** {@link streamForever} in place of the honest body (its content type, or `contentType`). */
export function endless(contentType?: string): Behaviour {
  return ({ res, honest }) => streamForever(res, contentType ?? honest.headers['content-type'] ?? 'application/octet-stream');
}

let bomb: Buffer | undefined;
/** 1 GiB of zeros, gzipped twice (`Content-Encoding: gzip, gzip`): about 2.5 KB on the wire. */
export function gzipBombBytes(): Buffer {
  if (bomb !== undefined) return bomb;
  // Gzip members concatenate: 1024 copies of 1 MiB of zeros, then that gzipped again.
  const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  bomb = gzipSync(Buffer.concat(Array.from({ length: 1024 }, () => member)), { level: 9 });
  return bomb;
}

export const gzipBomb: Behaviour = ({ res, honest }) => {
  const body = gzipBombBytes();
  res.writeHead(200, { 'content-type': honest.headers['content-type'] ?? 'application/octet-stream', 'content-encoding': 'gzip, gzip', 'content-length': String(body.byteLength) }).end(body);
};

/** 401 with a Basic challenge unless the request carries `Basic user:password`; then passes it on. */
export function requireBasic(username: string, password: string): Behaviour {
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return async (exchange) => {
    if (exchange.req.headers.authorization === expected) return exchange.next();
    send(exchange.res, json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': 'Basic realm="hostile"' }));
  };
}

/** 401 with a Bearer challenge at `realm` unless the request carries `Bearer token`; then passes it on. */
export function requireBearer(realm: string, token: string, extra = ''): Behaviour {
  return async (exchange) => {
    if (exchange.req.headers.authorization === `Bearer ${token}`) return exchange.next();
    const challenge = `Bearer realm="${realm}",service="hostile",scope="repository:${REPOSITORY}:pull"${extra}`;
    send(exchange.res, json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': challenge }));
  };
}

// ---------------------------------------------------------------------------
// Verifying against it.

/** Offline trust in the fixture Sigstore, anonymous credentials (no developer Docker config leaks in). */
export function verifyOptions(extra: VerifyOptions = {}): VerifyOptions {
  return { trust: trustedRootFile(TEST_TRUSTED_ROOT), credentials: staticCredentials({}), ...extra };
}

export function verifyAt(reference: string, options: VerifyOptions = {}, policy: PolicyInput = POLICY): Promise<VerificationResult> {
  return verifyImage(reference, policy, verifyOptions(options));
}

export interface Refusal {
  readonly error: SigverifyError;
  /** The per-signature outcomes, when signatures were evaluated. */
  readonly result: VerificationResult | undefined;
  /** Per signature: its reason code, or its outcome when it has none. */
  readonly reasons: string[];
}

/**
 * Asserts the verification is refused with `code`: it throws a SigverifyError
 * of that code, never resolves a result, and any result it carries is not
 * verified.
 */
export async function expectRefused(verification: Promise<VerificationResult>, code: ErrorCode): Promise<Refusal> {
  const settled = await verification.then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  if ('result' in settled) {
    expect.fail(`the image was verified (${settled.result.digest}, ${settled.result.verifiedSignatures} signature(s)); expected ${code}`);
  }
  const { error } = settled;
  expect(error).toBeInstanceOf(SigverifyError);
  expect(error).toMatchObject({ code });
  const { result } = error as SigverifyError;
  if (result !== undefined) {
    expect(result.verified).toBe(false);
    expect(result.verifiedSignatures).toBe(0);
  }
  return { error: error as SigverifyError, result, reasons: result?.signatures.map((s) => s.reason?.code ?? s.outcome) ?? [] };
}
