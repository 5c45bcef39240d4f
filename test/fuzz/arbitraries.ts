import fc from 'fast-check';
import { DOCKER_HUB, DOCKER_HUB_ALIASES, type Digest } from '../../src/reference/index.ts';

/**
 * Hostile inputs: random text and bytes, JSON-shaped values, and mutations of
 * valid seeds (byte-level and JSON-structure-level), with the values and raw
 * JSON fragments that have broken parsers before: non-finite numbers
 * (`1e999` parses to Infinity), deep nesting, lone surrogates, prototype
 * keys, duplicate keys, huge arrays and strings.
 */

const encoder = new TextEncoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** Characters that delimit the grammars under test (references, headers, PEM, base64, JSON). */
const DELIMITERS = Array.from('/:@.-_=,;"\\<>[]{}() \t\r\n\0+%#?&*|$^~`\'!');

/** One character of `text` (by code point). */
export function charOf(text: string): fc.Arbitrary<string> {
  return fc.constantFrom(...Array.from(text));
}

/** Keys that misbehave in JavaScript objects. */
export const TRICKY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', ''] as const;

const nest = (open: string, leaf: string, close: string, depth: number): string => open.repeat(depth) + leaf + close.repeat(depth);

/** Raw JSON text spliced into a document in place of a value (JSON.stringify cannot write these). */
export const RAW_JSON_VALUES = [
  '1e999',
  '-1e999',
  '1e-999',
  '-0',
  '123456789012345678901234567890',
  '9007199254740993',
  '0.1e1',
  '"\\ud800"',
  '"\\udc00\\ud800"',
  '"\\u0000"',
  '{"__proto__":{"polluted":true}}',
  '{"a":1,"a":"two"}',
  nest('[', '', ']', 64),
  nest('[', '', ']', 20_000),
  nest('{"a":', '1', '}', 20_000),
  nest('[', '1e999', ']', 3),
] as const;

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** JS values that tend to sit on a boundary of some schema. */
export const INTERESTING_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53,
  -(2 ** 53),
  Number.MAX_SAFE_INTEGER + 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  '',
  ' ',
  '0',
  'true',
  'null',
  '\u0000',
  '\ud800',
  '\r\n',
  'a'.repeat(256),
  'A'.repeat(600 * 1024),
  'AAAA',
  '====',
  'not base64!',
  DIGEST,
  DIGEST.toUpperCase(),
  'sha256:',
  `sha512:${'a'.repeat(128)}`,
  `sha256:${'a'.repeat(63)}`,
  '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
  '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----',
  'https://example.com/',
  'http://user:pass@127.0.0.1:1/x?y#z',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'hashedrekord',
  '0.0.1',
  [],
  {},
  [null],
  { '': '' },
];

/** Arbitrary text: any code points, delimiter soup, and JSON-shaped text. */
export function hostileText(maxLength = 200): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: fc.constantFrom(...DELIMITERS, 'a', 'A', '0', 'z', '9', 'é', '\u{1F600}'), maxLength }),
    fc.string({ unit: 'grapheme-ascii', maxLength }),
    fc.constantFrom(...INTERESTING_VALUES.filter((v): v is string => typeof v === 'string')),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.constantFrom(...RAW_JSON_VALUES),
  );
}

/** Arbitrary bytes: random, invalid UTF-8, byte-order marks, and encoded hostile text. */
export function hostileBytes(maxLength = 512): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength }),
    hostileText(maxLength).map(utf8),
    fc.constantFrom(
      Uint8Array.of(0xff, 0xfe, 0x7b, 0x7d),
      Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d),
      Uint8Array.of(0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d),
      Uint8Array.of(0x22, 0xed, 0xa0, 0x80, 0x22),
    ),
  );
}

/** JSON values, including raw-only fragments once serialised by {@link serialise}. */
export function hostileJsonValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom(...INTERESTING_VALUES) },
    { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...TRICKY_KEYS), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }) },
  );
}

// ---------------------------------------------------------------------------
// Byte-level mutation of a seed.

type ByteMutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly op: 'truncate'; readonly at: number };

const at = fc.nat();
const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at, value: fc.constantFrom(0x00, 0x22, 0x2c, 0x3a, 0x5b, 0x5c, 0x5d, 0x7b, 0x7d, 0x80, 0xff) }),
  fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('insert' as const), at, bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.constantFrom(...RAW_JSON_VALUES.slice(0, 12)).map(utf8)) }),
  fc.record({ op: fc.constant('duplicate' as const), at, length: fc.integer({ min: 1, max: 256 }) }),
  fc.record({ op: fc.constant('truncate' as const), at }),
);

function applyByteMutation(input: Uint8Array, m: ByteMutation): Uint8Array {
  const length = input.length;
  const i = length === 0 ? 0 : m.at % (length + (m.op === 'insert' ? 1 : 0));
  switch (m.op) {
    case 'flip': {
      if (length === 0) return input;
      const out = Uint8Array.from(input);
      out[i] = (out[i] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      if (length === 0) return input;
      const out = Uint8Array.from(input);
      out[i] = m.value;
      return out;
    }
    case 'delete':
      return concat(input.subarray(0, i), input.subarray(i + m.length));
    case 'insert':
      return concat(input.subarray(0, i), m.bytes, input.subarray(i));
    case 'duplicate':
      return concat(input.subarray(0, i + m.length), input.subarray(i));
    case 'truncate':
      return input.subarray(0, i);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A seed with 1–8 byte-level mutations. */
export function mutatedBytes(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(byteMutation, { minLength: 1, maxLength: 8 }))
    .map(([seed, mutations]) => mutations.reduce(applyByteMutation, seed));
}

// ---------------------------------------------------------------------------
// Structure-level mutation of a JSON seed.

type StringEdit =
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'case' }
  | { readonly kind: 'repeat'; readonly times: number };

type JsonMutation =
  | { readonly op: 'replace'; readonly pick: number; readonly value: unknown }
  | { readonly op: 'raw'; readonly pick: number; readonly raw: string }
  | { readonly op: 'delete'; readonly pick: number }
  | { readonly op: 'addKey'; readonly pick: number; readonly key: string; readonly value: unknown }
  | { readonly op: 'addRawKey'; readonly pick: number; readonly key: string; readonly raw: string }
  | { readonly op: 'duplicateKey'; readonly pick: number; readonly value: unknown }
  | { readonly op: 'editString'; readonly pick: number; readonly edit: StringEdit }
  | { readonly op: 'repeat'; readonly pick: number; readonly times: number }
  | { readonly op: 'wrap'; readonly pick: number; readonly how: 'array' | 'string' | 'object' };

const SPLICE_TEXT = ['\n', '\r', '\\', '"', '/', '..', '@', ':', '=', ' ', '\u0000', '\ud800', '%2F', 'A', '-----END CERTIFICATE-----', '*', '(', ')'];
const stringEdit: fc.Arbitrary<StringEdit> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at, text: fc.oneof(fc.constantFrom(...SPLICE_TEXT), fc.string({ unit: 'binary', minLength: 1, maxLength: 4 })) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('case' as const) }),
  fc.record({ kind: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 2000 }) }),
);
const newValue = fc.oneof({ weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(...INTERESTING_VALUES) });
const newKey = fc.oneof(fc.constantFrom(...TRICKY_KEYS), fc.string({ maxLength: 10 }));
const pick = fc.nat();
const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('replace' as const), pick, value: newValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('raw' as const), pick, raw: fc.constantFrom(...RAW_JSON_VALUES) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('addKey' as const), pick, key: newKey, value: newValue }) },
  // Loose schemas pass unknown members through untouched: a raw fragment there reaches whatever reads the value next.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('addRawKey' as const), pick, key: newKey, raw: fc.constantFrom(...RAW_JSON_VALUES) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicateKey' as const), pick, value: newValue }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('editString' as const), pick, edit: stringEdit }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('repeat' as const), pick, times: fc.integer({ min: 2, max: 1200 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), pick, how: fc.constantFrom('array' as const, 'string' as const, 'object' as const) }) },
);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Slot = { readonly parent: Json[] | Record<string, Json>; readonly key: string | number } | undefined;

/** Every node of a JSON value, as the slot holding it (undefined: the root). */
function slots(root: Json): Slot[] {
  const out: Slot[] = [undefined];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        out.push({ parent: node, key: i });
        walk(child);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        out.push({ parent: node, key });
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

function get(root: Json, slot: Slot): Json {
  if (slot === undefined) return root;
  return (slot.parent as Record<string | number, Json>)[slot.key] as Json;
}

const isObject = (value: unknown): value is Record<string, Json> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Sets as an own, enumerable property, so that `__proto__` becomes a key and not a prototype. */
function define(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A JSON document under construction: its value plus raw fragments to splice in by marker. */
class Document {
  root: Json;
  readonly raw: string[] = [];
  readonly duplicateKeys: string[] = [];

  constructor(root: Json) {
    this.root = root;
  }

  set(slot: Slot, value: unknown): void {
    if (slot === undefined) this.root = value as Json;
    else define(slot.parent, slot.key, value);
  }

  rawMarker(raw: string): string {
    this.raw.push(raw);
    return `\u0001raw${this.raw.length - 1}\u0001`;
  }

  duplicateMarker(key: string): string {
    this.duplicateKeys.push(key);
    return `\u0001dup${this.duplicateKeys.length - 1}\u0001`;
  }

  serialise(): string {
    // Replacer functions: a replacement string would interpret `$&` and the like.
    let text = JSON.stringify(this.root);
    this.raw.forEach((raw, i) => {
      text = text.replace(`"\\u0001raw${i}\\u0001"`, () => raw);
    });
    this.duplicateKeys.forEach((key, i) => {
      text = text.replace(`"\\u0001dup${i}\\u0001"`, () => JSON.stringify(key));
    });
    return text;
  }

  apply(m: JsonMutation): void {
    const all = slots(this.root);
    const slot = all[m.pick % all.length];
    const node = get(this.root, slot);
    switch (m.op) {
      case 'replace':
        this.set(slot, structuredClone(m.value));
        return;
      case 'raw':
        this.set(slot, this.rawMarker(m.raw));
        return;
      case 'delete':
        if (slot === undefined) this.root = null;
        else if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else Reflect.deleteProperty(slot.parent, slot.key);
        return;
      case 'addKey':
      case 'addRawKey': {
        // On a leaf, add to the object that holds it.
        const target = isObject(node) ? node : slot !== undefined && isObject(slot.parent) ? slot.parent : isObject(this.root) ? this.root : undefined;
        if (target !== undefined) define(target, m.key, m.op === 'addKey' ? structuredClone(m.value) : this.rawMarker(m.raw));
        return;
      }
      case 'duplicateKey': {
        const key = node !== null && typeof node === 'object' && !Array.isArray(node) ? Object.keys(node)[0] : undefined;
        if (key !== undefined && node !== null && typeof node === 'object') define(node, this.duplicateMarker(key), structuredClone(m.value));
        return;
      }
      case 'editString':
        if (typeof node === 'string') this.set(slot, editString(node, m.edit));
        else if (slot !== undefined && !Array.isArray(slot.parent)) {
          // On a container, edit the key that holds it instead.
          const parent = slot.parent;
          const value = parent[slot.key as string];
          Reflect.deleteProperty(parent, slot.key);
          define(parent, editString(slot.key as string, m.edit), value);
        }
        return;
      case 'repeat':
        if (Array.isArray(node) && node.length > 0) {
          // Past the count limits (1000 manifests or layers), but under a few MiB of text.
          const first = node[0] as Json;
          const times = Math.min(m.times, Math.floor(2_000_000 / Math.max(1, JSON.stringify(first).length)));
          for (let i = 1; i < times; i++) node.push(structuredClone(first));
        } else if (typeof node === 'string' && node.length * m.times <= 2_000_000) this.set(slot, node.repeat(m.times));
        return;
      case 'wrap':
        this.set(slot, m.how === 'array' ? [node] : m.how === 'string' ? JSON.stringify(node) : { value: node });
        return;
    }
  }
}

function editString(text: string, edit: StringEdit): string {
  switch (edit.kind) {
    case 'insert': {
      const i = edit.at % (text.length + 1);
      return text.slice(0, i) + edit.text + text.slice(i);
    }
    case 'truncate':
      return text.slice(0, edit.at % (text.length + 1));
    case 'case':
      return text === text.toUpperCase() ? text.toLowerCase() : text.toUpperCase();
    case 'repeat':
      return text.length * edit.times <= 2_000_000 ? text.repeat(edit.times) : text;
  }
}

/** A JSON seed with 1–`maxMutations` structural mutations, serialised (raw fragments and duplicate keys spliced in). */
export function mutatedJsonText(seeds: readonly unknown[], maxMutations = 5): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(jsonMutation, { minLength: 1, maxLength: maxMutations })).map(([seed, mutations]) => {
    const doc = new Document(structuredClone(seed) as Json);
    for (const m of mutations) doc.apply(m);
    return doc.serialise();
  });
}

/** Mutations of a JSON seed corpus, structural and byte-level, as bytes. */
export function mutatedJsonBytes(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  // Negative seeds that are not JSON at all get byte-level mutations only.
  const values = seeds.flatMap((s) => {
    try {
      return [JSON.parse(new TextDecoder().decode(s)) as unknown];
    } catch {
      return [];
    }
  });
  return fc.oneof({ weight: 3, arbitrary: mutatedJsonText(values).map(utf8) }, { weight: 1, arbitrary: mutatedBytes(seeds) });
}

/** Mutations of JSON seed values, parsed back into values (for parsers that take a value); raw-only fragments make the text unparsable, so they are left out here. */
export function mutatedJsonValue(seeds: readonly unknown[]): fc.Arbitrary<unknown> {
  return mutatedJsonText(seeds).map((text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  });
}

/** The same JSON value, its keys shuffled and re-indented: a parser must not care. */
export function reformattedJson(seeds: readonly unknown[]): fc.Arbitrary<{ seed: unknown; text: string }> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(fc.nat(), { minLength: 1, maxLength: 64 }), fc.constantFrom(0, 1, 2, '\t')).map(([seed, order, indent]) => {
    let draw = 0;
    const next = (): number => order[draw++ % order.length] as number;
    const shuffle = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(shuffle);
      if (value === null || typeof value !== 'object') return value;
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i > 0; i--) {
        const j = next() % (i + 1);
        [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
      }
      const out = {};
      for (const [k, v] of entries) define(out, k, shuffle(v));
      return out;
    };
    return { seed, text: JSON.stringify(shuffle(seed), null, indent) };
  });
}

/** Lowercase hex of `length` characters. */
export function hex(length: number): fc.Arbitrary<string> {
  return fc.string({ unit: charOf('0123456789abcdef'), minLength: length, maxLength: length });
}

/** A valid `sha256:<64 hex>` digest. */
export const digestArb: fc.Arbitrary<Digest> = hex(64).map((h) => `sha256:${h}` as const);

/** Standard base64 of random bytes (non-empty). */
export const base64Arb = fc.uint8Array({ minLength: 1, maxLength: 96 }).map((b) => Buffer.from(b).toString('base64'));

// ---------------------------------------------------------------------------
// Valid image references (distribution/reference grammar).

const lower = Array.from('abcdefghijklmnopqrstuvwxyz0123456789');
const alnum = fc.string({ unit: fc.constantFrom(...lower), minLength: 1, maxLength: 6 });
const separator = fc.constantFrom('.', '_', '__', '-', '--');
/** distribution/reference path-component: alnum runs joined by separators. */
const pathComponent = (withDots: boolean): fc.Arbitrary<string> =>
  fc
    .tuple(alnum, fc.array(fc.tuple(withDots ? separator : fc.constantFrom('_', '__', '-', '--'), alnum), { maxLength: 3 }))
    .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(''));
export const tagArb = fc
  .tuple(charOf('abcXYZ019_'), fc.string({ unit: charOf('abcXYZ019_.-'), maxLength: 127 }))
  .map(([first, rest]) => first + rest);
const label = fc
  .tuple(charOf('abcxyzABC019'), fc.string({ unit: charOf('abcAB01-'), maxLength: 8 }), charOf('az09Z'))
  .map(([a, mid, z]) => a + mid + z);
const port = fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`);
/** A registry host the parser must recognise as one: dotted, with a port, `localhost`, or an IPv6 literal. */
const registryArb = fc.oneof(
  fc.tuple(fc.array(label, { minLength: 2, maxLength: 4 }), fc.option(port, { nil: '' })).map(([labels, p]) => labels.join('.') + p),
  fc.tuple(label, port).map(([l, p]) => l + p),
  fc.constant('localhost'),
  port.map((p) => `localhost${p}`),
  fc.ipV4().map((ip) => ip),
  fc.tuple(fc.constantFrom('[::1]', '[fe80::1]', '[2001:db8::a]'), fc.option(port, { nil: '' })).map(([h, p]) => h + p),
  fc.constantFrom(...DOCKER_HUB_ALIASES).chain((alias) => fc.mixedCase(fc.constant(alias))),
);

export interface GeneratedReference {
  readonly text: string;
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** A valid `[registry/]repo[:tag][@digest]` and the parts it must parse to. */
export const referenceArb: fc.Arbitrary<GeneratedReference> = fc
  .record({
    registry: fc.option(registryArb, { nil: undefined }),
    // Without a registry the first component must not look like a host (no dots, not localhost).
    first: fc.oneof(pathComponent(false), pathComponent(true)),
    rest: fc.array(pathComponent(true), { maxLength: 3 }),
    tag: fc.option(tagArb, { nil: undefined }),
    digest: fc.option(digestArb, { nil: undefined }),
  })
  .filter(({ registry, first, rest }) => registry !== undefined || rest.length === 0 || (!first.includes('.') && first !== 'localhost'))
  .map(({ registry, first, rest, tag, digest }) => {
    const parts = [first, ...rest];
    const host = registry === undefined ? DOCKER_HUB : DOCKER_HUB_ALIASES.has(registry.toLowerCase()) ? DOCKER_HUB : registry.toLowerCase();
    const repository = host === DOCKER_HUB && parts.length === 1 ? `library/${first}` : parts.join('/');
    const text = `${registry === undefined ? '' : `${registry}/`}${parts.join('/')}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
    return { text, registry: host, repository, ...(tag === undefined && digest === undefined ? { tag: 'latest' } : tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
  })
  .filter((r) => r.repository.length <= 255);
