import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CertificateAuthority,
  type CtLog,
  type KeyPair,
  buildTrustedRoot,
  certificateAuthorityEntry,
  createCertificateAuthority,
  createCtLog,
  ecdsaSign,
  generateKeyPair,
  issueLeafCertificate,
  sha256,
  spkiDer,
  transparencyLogEntry,
} from '../helpers/sigstore/index.ts';

/**
 * In-process Rekor v1 and Rekor v2 logs for the monitor's hostile-log tests,
 * served through an injected `fetch`: what a real log answers, computed here
 * from a list of entries with an independent, by-the-definition Merkle tree
 * (RFC 9162 §2.1), and hooks that make it lie. Real logs are exercised by
 * peers/monitor.ts; these are for answers a real log will not give.
 */
export const WATCHED = 'release@sigverify.test';
export const ISSUER = 'https://idp.sigverify.test';
export const V1_URL = 'https://rekor.sigverify.test';
export const V2_URL = 'https://log2.sigverify.test';

const H = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
export const leaf = (e: Uint8Array): Buffer => H(Buffer.from([0]), e);
const node = (l: Buffer, r: Buffer): Buffer => H(Buffer.from([1]), l, r);
const split = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);

/** MTH(D[n]) by its definition. */
export function mth(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return H();
  if (leaves.length === 1) return leaves[0] as Buffer;
  const k = split(leaves.length);
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
/** PATH(m, D[n]) by its definition. */
export function path(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
/** PROOF(m, D[n]) by its definition. */
export function proof(m: number, leaves: readonly Buffer[]): Buffer[] {
  const sub = (mm: number, d: readonly Buffer[], complete: boolean): Buffer[] => {
    if (mm === d.length) return complete ? [] : [mth(d)];
    const k = split(d.length);
    return mm <= k ? [...sub(mm, d.slice(0, k), complete), mth(d.slice(k))] : [...sub(mm - k, d.slice(k), false), mth(d.slice(0, k))];
  };
  return sub(m, leaves, true);
}

export interface Fixture {
  readonly ca: CertificateAuthority;
  readonly ctlog: CtLog;
  readonly v1Key: KeyPair;
  readonly v1LogId: Buffer;
  readonly v2Key: { privateKey: KeyObject; publicKey: KeyObject };
  readonly v2LogId: Buffer;
  readonly trustedRootPath: string;
  readonly dir: string;
}

const V2_ORIGIN = 'log2.sigverify.test';

export async function createFixture(): Promise<Fixture> {
  const ca = createCertificateAuthority({ organization: 'sigverify.test', commonName: 'monitor-test' });
  const ctlog = createCtLog();
  const v1Key = generateKeyPair('P-256');
  const v1LogId = sha256(spkiDer(v1Key.publicKey));
  const v2Key = generateKeyPairSync('ed25519');
  const raw = v2Key.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const v2LogId = H(Buffer.from(`${V2_ORIGIN}\n`), Buffer.from([1]), raw);
  const root = buildTrustedRoot({
    tlogs: [
      transparencyLogEntry({ spkiDer: spkiDer(v1Key.publicKey), logId: v1LogId }, { baseUrl: V1_URL }),
      {
        ...transparencyLogEntry({ spkiDer: v2Key.publicKey.export({ format: 'der', type: 'spki' }), logId: v2LogId }, { baseUrl: V2_URL }),
        publicKey: { rawBytes: v2Key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), keyDetails: 'PKIX_ED25519' as 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2026-01-01T00:00:00Z' } },
      },
    ],
    certificateAuthorities: [certificateAuthorityEntry(ca, { uri: 'https://fulcio.sigverify.test', subject: { organization: 'sigverify.test', commonName: 'monitor-test' } })],
    ctlogs: [transparencyLogEntry(ctlog, { baseUrl: 'https://ct.sigverify.test' })],
  });
  const dir = await mkdtemp(join(tmpdir(), 'sigverify-monitor-'));
  await chmod(dir, 0o700);
  const trustedRootPath = join(dir, 'trusted_root.json');
  await writeFile(trustedRootPath, JSON.stringify(root), { mode: 0o600 });
  return { ca, ctlog, v1Key, v1LogId, v2Key, v2LogId, trustedRootPath, dir };
}

export interface Signed {
  readonly digest: string;
  readonly certDer: Buffer;
  readonly signature: Buffer;
}

let counter = 0;
/** A signature by `identity` over a fresh artifact, with a certificate from `ca` (default the trusted one). */
export function signArtifact(fx: Fixture, identity = WATCHED, ca: CertificateAuthority = fx.ca): Signed {
  counter += 1;
  const key = generateKeyPair('P-256');
  const artifact = Buffer.from(`artifact ${counter} ${Math.random()}`);
  const cert = issueLeafCertificate(ca, { publicKey: key.publicKey, san: { kind: 'email', value: identity }, issuer: ISSUER, ctlog: fx.ctlog, notBefore: new Date('2026-06-01T00:00:00Z') });
  return { digest: `sha256:${H(artifact).toString('hex')}`, certDer: cert.der, signature: ecdsaSign(key.privateKey, artifact, 'sha256') };
}

/** A signature by a bare key (cosign key pair) over a fresh artifact. */
export function signWithKey(key: KeyPair): Signed & { readonly keyPem: string } {
  counter += 1;
  const artifact = Buffer.from(`keyed artifact ${counter} ${Math.random()}`);
  const keyPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { digest: `sha256:${H(artifact).toString('hex')}`, certDer: Buffer.alloc(0), signature: ecdsaSign(key.privateKey, artifact, 'sha256'), keyPem };
}

export function v1Body(s: Signed & { readonly keyPem?: string }): Buffer {
  const pem = s.keyPem ?? `-----BEGIN CERTIFICATE-----\n${s.certDer.toString('base64')}\n-----END CERTIFICATE-----\n`;
  return Buffer.from(JSON.stringify({
    apiVersion: '0.0.1', kind: 'hashedrekord',
    spec: { data: { hash: { algorithm: 'sha256', value: s.digest.slice(7) } }, signature: { content: s.signature.toString('base64'), publicKey: { content: Buffer.from(pem).toString('base64') } } },
  }));
}

export function v2Body(s: Signed & { readonly keyPem?: string }): Buffer {
  const verifier = s.keyPem === undefined
    ? { x509Certificate: { rawBytes: s.certDer.toString('base64') } }
    : { publicKey: { rawBytes: Buffer.from(s.keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64') } };
  return Buffer.from(JSON.stringify({
    apiVersion: '0.0.2', kind: 'hashedrekord',
    spec: { hashedRekordV002: { data: { algorithm: 'SHA2_256', digest: Buffer.from(s.digest.slice(7), 'hex').toString('base64') }, signature: { content: s.signature.toString('base64'), verifier: { keyDetails: 'PKIX_ECDSA_P256_SHA_256', ...verifier } } } },
  }));
}

type Handler = (url: URL, init: RequestInit | undefined) => Response | undefined | Promise<Response | undefined>;

/** A fetch that routes to the fake logs; `override` sees every request first (the lies). */
export function fakeFetch(logs: readonly { base: string; handle: Handler }[], counter?: { requests: number }, override?: Handler): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (counter !== undefined) counter.requests += 1;
    const lied = await override?.(url, init);
    if (lied !== undefined) return lied;
    for (const log of logs) if (url.href.startsWith(log.base)) return (await log.handle(url, init)) ?? new Response('not found', { status: 404 });
    return new Response('no such host', { status: 404 });
  });
}

const json = (value: unknown): Response => new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });

/** A Rekor v1 log of `entries` (bodies, integrated times). */
export class FakeRekorV1 {
  readonly entries: { body: Buffer; time: number }[] = [];
  key: KeyPair;
  readonly logId: Buffer;
  readonly treeId = '1234567890123456';
  constructor(fx: Fixture) {
    this.key = fx.v1Key;
    this.logId = fx.v1LogId;
  }
  add(body: Buffer, time = 1_780_272_060): number {
    this.entries.push({ body, time });
    return this.entries.length - 1;
  }
  leaves(): Buffer[] {
    return this.entries.map((e) => leaf(e.body));
  }
  uuid(i: number): string {
    return `${this.treeId}${leaf((this.entries[i] as { body: Buffer }).body).toString('hex')}`;
  }
  checkpoint(size = this.entries.length, root = mth(this.leaves().slice(0, size))): string {
    const note = `rekor.sigverify.test - ${this.treeId}\n${size}\n${root.toString('base64')}\nTimestamp: 1\n`;
    const sig = ecdsaSign(this.key.privateKey, Buffer.from(note), 'sha256');
    return `${note}\n\u2014 rekor.sigverify.test ${Buffer.concat([this.logId.subarray(0, 4), sig]).toString('base64')}\n`;
  }
  #checkpoints = new Map<string, string>();
  #checkpointFor(leaves: Buffer[]): string {
    const root = mth(leaves);
    const key = `${leaves.length}/${root.toString('hex')}`;
    const cached = this.#checkpoints.get(key) ?? this.checkpoint(leaves.length, root);
    this.#checkpoints.set(key, cached);
    return cached;
  }
  entry(i: number, leaves = this.leaves()): Record<string, unknown> {
    const e = this.entries[i] as { body: Buffer; time: number };
    const body = e.body.toString('base64');
    const payload = JSON.stringify({ body, integratedTime: e.time, logID: this.logId.toString('hex'), logIndex: i });
    const set = ecdsaSign(this.key.privateKey, Buffer.from(payload), 'sha256').toString('base64');
    return {
      body, integratedTime: e.time, logID: this.logId.toString('hex'), logIndex: i,
      verification: {
        signedEntryTimestamp: set,
        inclusionProof: { checkpoint: this.#checkpointFor(leaves), hashes: path(i, leaves).map((h) => h.toString('hex')), logIndex: i, rootHash: mth(leaves).toString('hex'), treeSize: leaves.length },
      },
    };
  }
  #frozen: { leaves: Buffer[]; entries: Map<number, Record<string, unknown>>; uuids: Map<string, number> } | undefined;
  /** Answers computed once (benchmarks: a large log would otherwise be rehashed on every request). */
  freeze(): void {
    const leaves = this.leaves();
    this.#frozen = { leaves, entries: new Map(this.entries.map((_, i) => [i, this.entry(i, leaves)])), uuids: new Map(this.entries.map((_, i) => [this.uuid(i), i])) };
  }
  readonly handle: Handler = (url, init) => {
    const p = url.pathname;
    const frozen = this.#frozen;
    if (frozen !== undefined && p === '/api/v1/log/entries/retrieve') {
      const { entryUUIDs } = JSON.parse(init?.body as string) as { entryUUIDs: string[] };
      return json(entryUUIDs.map((u) => {
        const i = frozen.uuids.get(u) ?? -1;
        const e = frozen.entries.get(i) ?? this.entry(i, frozen.leaves);
        frozen.entries.set(i, e);
        return { [u]: e };
      }));
    }
    const leaves = frozen?.leaves ?? this.leaves();
    if (p === '/api/v1/log') return json({ signedTreeHead: this.checkpoint(), treeSize: leaves.length, rootHash: mth(leaves).toString('hex'), treeID: this.treeId });
    if (p === '/api/v1/log/proof') {
      const m = Number(url.searchParams.get('firstSize'));
      return json({ rootHash: mth(leaves).toString('hex'), hashes: proof(m, leaves).map((h) => h.toString('hex')) });
    }
    if (p === '/api/v1/index/retrieve') {
      const query = JSON.parse(init?.body as string) as { email?: string; publicKey?: { content: string } };
      return json(this.entries.flatMap((e, i) => (
        (query.email !== undefined && certEmail(e.body) === query.email) || (query.publicKey !== undefined && keyContent(e.body) === query.publicKey.content) ? [this.uuid(i)] : [])));
    }
    if (p === '/api/v1/log/entries/retrieve') {
      const { entryUUIDs } = JSON.parse(init?.body as string) as { entryUUIDs: string[] };
      return json(entryUUIDs.map((u) => {
        const i = this.entries.findIndex((_, j) => this.uuid(j) === u);
        return { [u]: this.entry(i) };
      }));
    }
    if (p === '/api/v1/log/entries') {
      const i = Number(url.searchParams.get('logIndex'));
      return i < this.entries.length ? json({ [this.uuid(i)]: this.entry(i) }) : undefined;
    }
    return undefined;
  };
}

function keyContent(body: Buffer): string {
  return (JSON.parse(body.toString()) as { spec: { signature: { publicKey: { content: string } } } }).spec.signature.publicKey.content;
}

/** The email SAN in a hashedrekord 0.0.1 body's certificate (what Rekor's search index keys on). */
function certEmail(body: Buffer): string | undefined {
  const pem = Buffer.from(keyContent(body), 'base64').toString();
  if (!pem.includes('CERTIFICATE')) return undefined;
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return der.includes(Buffer.from(WATCHED)) ? WATCHED : undefined;
}

/** A Rekor v2 log: checkpoint and tiles (< 65536 entries: levels 0 and 1). */
export class FakeRekorV2 {
  readonly entries: Buffer[] = [];
  readonly key: { privateKey: KeyObject; publicKey: KeyObject };
  readonly logId: Buffer;
  constructor(fx: Fixture) {
    this.key = fx.v2Key;
    this.logId = fx.v2LogId;
  }
  add(body: Buffer): number {
    this.entries.push(body);
    return this.entries.length - 1;
  }
  checkpoint(size = this.entries.length, root = mth(this.entries.slice(0, size).map(leaf))): string {
    const note = `${V2_ORIGIN}\n${size}\n${root.toString('base64')}\n`;
    const sig = cryptoSign(null, Buffer.from(note), this.key.privateKey);
    return `${note}\n\u2014 ${V2_ORIGIN} ${Buffer.concat([this.logId.subarray(0, 4), sig]).toString('base64')}\n`;
  }
  readonly handle: Handler = (url) => {
    const p = url.pathname;
    if (p === '/checkpoint') return new Response(this.checkpoint());
    const m = /^\/tile\/(entries|\d+)\/((?:x\d{3}\/)*\d{3})(?:\.p\/(\d+))?$/.exec(p);
    if (m === null) return undefined;
    const index = Number((m[2] as string).replace(/x|\//g, ''));
    const width = m[3] === undefined ? 256 : Number(m[3]);
    if (m[1] === 'entries') {
      const slice = this.entries.slice(index * 256, index * 256 + width);
      return new Response(Buffer.concat(slice.flatMap((e) => [Buffer.from([e.length >> 8, e.length & 0xff]), e])));
    }
    const level = Number(m[1]);
    const span = 256 ** level;
    const first = index * 256 * span;
    const leaves = this.entries.slice(first, first + width * span).map(leaf);
    const hashes: Buffer[] = [];
    for (let i = 0; i < width; i++) hashes.push(mth(leaves.slice(i * span, (i + 1) * span)));
    return new Response(Buffer.concat(hashes));
  };
}
