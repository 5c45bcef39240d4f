import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ANNOTATION_CERTIFICATE, ANNOTATION_REKOR_BUNDLE, ANNOTATION_RFC3161 } from '../../src/cosign/index.ts';
import { FIXTURES, FIXTURE_LAYOUT } from '../helpers/fixtures.ts';
import { INTEROP_DIR, interopAvailable } from '../helpers/interop.ts';

/**
 * The seed corpus: every valid document the repository already holds, sorted
 * by the parser that reads it. Committed fixtures (`fixtures/layout` blobs,
 * `fixtures/trust`) always; real-world data from `../shared/interop` when it
 * is present (the fuzz suite runs without it, on fewer seeds).
 */
export interface Corpus {
  /** Image manifests and indexes (OCI, Docker, signature manifests, referrers listings). */
  readonly manifests: Buffer[];
  /** Simple-signing payloads. */
  readonly payloads: Buffer[];
  /** Layer annotations of signature manifests. */
  readonly annotations: Record<string, string>[];
  /** `dev.sigstore.cosign/bundle` annotation values. */
  readonly rekorBundles: string[];
  /** `dev.sigstore.cosign/rfc3161timestamp` annotation values. */
  readonly rfc3161: string[];
  /** Decoded canonicalized tlog entry bodies (JSON). */
  readonly tlogBodies: Buffer[];
  /** PEM texts (certificates, keys). */
  readonly pems: string[];
  /** Sigstore bundles (JSON). */
  readonly bundles: Buffer[];
  /** Decoded in-toto statements (DSSE payloads). */
  readonly statements: Buffer[];
  /** trusted_root.json documents. */
  readonly trustedRoots: Buffer[];
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .sort();
}

function loadCorpus(): Corpus {
  const corpus: Corpus = { manifests: [], payloads: [], annotations: [], rekorBundles: [], rfc3161: [], tlogBodies: [], pems: [], bundles: [], statements: [], trustedRoots: [] };
  const seen = new Set<string>();
  const add = <T>(list: T[], value: T, key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    list.push(value);
  };

  const addBundle = (bytes: Buffer, json: JsonObject): void => {
    add(corpus.bundles, bytes, bytes.toString('latin1'));
    const material = json['verificationMaterial'];
    if (isObject(material) && Array.isArray(material['tlogEntries'])) {
      for (const entry of material['tlogEntries'] as unknown[]) {
        const body = isObject(entry) ? str(entry['canonicalizedBody']) : undefined;
        if (body !== undefined) addTlogBody(body);
      }
    }
    const envelope = json['dsseEnvelope'];
    const payload = isObject(envelope) ? str(envelope['payload']) : undefined;
    if (payload !== undefined) add(corpus.statements, Buffer.from(payload, 'base64'), `statement:${payload}`);
  };
  const addTlogBody = (base64: string): void => {
    add(corpus.tlogBodies, Buffer.from(base64, 'base64'), `body:${base64}`);
  };
  const addAnnotations = (annotations: unknown): void => {
    if (!isObject(annotations) || !Object.values(annotations).every((v) => typeof v === 'string')) return;
    const record = annotations as Record<string, string>;
    add(corpus.annotations, record, `annotations:${JSON.stringify(record)}`);
    const rekor = record[ANNOTATION_REKOR_BUNDLE];
    if (rekor !== undefined && rekor !== '') {
      add(corpus.rekorBundles, rekor, `rekor:${rekor}`);
      try {
        const payload = (JSON.parse(rekor) as { Payload?: { body?: unknown } }).Payload;
        const body = str(payload?.body);
        if (body !== undefined) addTlogBody(body);
      } catch {
        // Not every annotation seed is well-formed; the fuzzer only needs the good ones here.
      }
    }
    const rfc3161 = record[ANNOTATION_RFC3161];
    if (rfc3161 !== undefined && rfc3161 !== '') add(corpus.rfc3161, rfc3161, `rfc3161:${rfc3161}`);
    const certificate = record[ANNOTATION_CERTIFICATE];
    if (certificate !== undefined && certificate !== '') add(corpus.pems, certificate, `pem:${certificate}`);
  };

  const classify = (bytes: Buffer): void => {
    const text = bytes.toString('utf8');
    if (text.startsWith('-----BEGIN')) {
      add(corpus.pems, text, `pem:${text}`);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    if (!isObject(json)) return;
    const mediaType = str(json['mediaType']) ?? '';
    if (json['schemaVersion'] !== undefined) {
      add(corpus.manifests, bytes, `manifest:${text}`);
      for (const list of [json['layers'], json['manifests']]) {
        if (Array.isArray(list)) for (const d of list as unknown[]) if (isObject(d)) addAnnotations(d['annotations']);
      }
    } else if (isObject(json['critical'])) {
      add(corpus.payloads, bytes, `payload:${text}`);
    } else if (mediaType.startsWith('application/vnd.dev.sigstore.bundle')) {
      addBundle(bytes, json);
    } else if (mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
      add(corpus.trustedRoots, bytes, `root:${text}`);
    } else if (typeof json['payloadType'] === 'string' && typeof json['payload'] === 'string') {
      add(corpus.statements, Buffer.from(json['payload'], 'base64'), `statement:${json['payload']}`);
    } else if (typeof json['_type'] === 'string') {
      add(corpus.statements, bytes, `statement:${text}`);
    } else if (typeof json['kind'] === 'string' && typeof json['apiVersion'] === 'string') {
      add(corpus.tlogBodies, bytes, `body:${bytes.toString('base64')}`);
    } else if (isObject(json['Payload']) && typeof json['SignedEntryTimestamp'] === 'string') {
      add(corpus.rekorBundles, text, `rekor:${text}`);
    } else if (Object.keys(json).some((k) => k.startsWith('dev.cosignproject.') || k.startsWith('dev.sigstore.'))) {
      addAnnotations(json);
    } else if (typeof json['mimeType'] === 'string' && typeof json['payload'] === 'string') {
      add(corpus.payloads, Buffer.from(json['payload'], 'base64'), `payload:${json['payload']}`);
      addAnnotations(json['annotations']);
    }
  };

  const files = [
    join(FIXTURE_LAYOUT, 'index.json'),
    ...jsonFiles(join(FIXTURE_LAYOUT, 'blobs')),
    ...jsonFiles(join(FIXTURES, 'trust')),
    ...(interopAvailable ? [...jsonFiles(join(INTEROP_DIR, 'derived')), ...jsonFiles(join(INTEROP_DIR, 'containers-image')), join(INTEROP_DIR, 'root-signing', 'targets', 'trusted_root.json')] : []),
  ];
  const sigstoreJson = Buffer.from('\0sigstore-json\n');
  for (const path of files) {
    if (!existsSync(path) || statSync(path).size > 4 * 1024 * 1024) continue;
    const bytes = readFileSync(path);
    // containers/image `dir:` signatures: a prefix, then {mimeType, payload, annotations} (interop README §2.1).
    classify(bytes.subarray(0, sigstoreJson.length).equals(sigstoreJson) ? bytes.subarray(sigstoreJson.length) : bytes);
  }
  return corpus;
}

export const corpus: Corpus = loadCorpus();

/** A corpus list, which must not be empty (an empty one would silently fuzz nothing). */
export function seedsOf<K extends keyof Corpus>(key: K): Corpus[K] {
  const list = corpus[key];
  if (list.length === 0) throw new Error(`the fuzz seed corpus has no ${key}: are fixtures/ intact?`);
  return list;
}
