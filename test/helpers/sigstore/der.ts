/**
 * A minimal DER encoder and reader: just enough ASN.1 to build X.509
 * certificates byte for byte (X.690 §10, RFC 5280 §4.1) and to take them apart
 * again (strip a precertificate poison, read a certificate's subject).
 *
 * Writing our own encoder keeps every byte of the test PKI under the test's
 * control: raw (non-DER-wrapped) extension values, OtherName SANs, duplicate or
 * conflicting extensions. Nothing here validates its input; it is test tooling.
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single-byte tag. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: readonly Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** SET OF, elements sorted by their encoding as DER requires (X.690 §11.6). */
export function setOf(...items: readonly Uint8Array[]): Buffer {
  return tlv(TAG.SET, Buffer.concat([...items].sort((a, b) => Buffer.compare(a, b))));
}

/** INTEGER from a non-negative number, bigint, or unsigned big-endian magnitude. */
export function integer(value: number | bigint | Uint8Array): Buffer {
  let bytes: Buffer;
  if (value instanceof Uint8Array) {
    bytes = Buffer.from(value);
  } else {
    let hex = BigInt(value).toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    bytes = Buffer.from(hex, 'hex');
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(TAG.INTEGER, bytes);
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first = 0n, second = 0n, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) groups.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

export function utf8String(value: string): Buffer {
  return tlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'));
}

export function printableString(value: string): Buffer {
  return tlv(TAG.PRINTABLE_STRING, Buffer.from(value, 'ascii'));
}

export function octetString(content: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, content);
}

export function bitString(content: Uint8Array, unusedBits = 0): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), content]));
}

export function boolean(value: boolean): Buffer {
  return tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

export function nullValue(): Buffer {
  return tlv(TAG.NULL, Buffer.alloc(0));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, `Z`. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'ascii'));
}

/** `[n] EXPLICIT`: a constructed context-specific wrapper. */
export function explicit(tagNumber: number, inner: Uint8Array): Buffer {
  return tlv(0xa0 | tagNumber, inner);
}

/** `[n] IMPLICIT` for a primitive type: the content with a context-specific tag. */
export function implicitPrimitive(tagNumber: number, content: Uint8Array): Buffer {
  return tlv(0x80 | tagNumber, content);
}

/** `[n] IMPLICIT` for a constructed type (SEQUENCE): the children with a context-specific tag. */
export function implicitConstructed(tagNumber: number, ...children: readonly Uint8Array[]): Buffer {
  return tlv(0xa0 | tagNumber, Buffer.concat(children));
}

// ---------------------------------------------------------------------------
// Reading

export interface Element {
  readonly tag: number;
  /** The whole TLV. */
  readonly bytes: Buffer;
  /** The value part only. */
  readonly content: Buffer;
}

/** Reads the TLV at `offset` (single-byte tags, definite lengths: DER only). */
export function readElement(buffer: Uint8Array, offset = 0): Element {
  const buf = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const tag = buf[offset];
  const first = buf[offset + 1];
  if (tag === undefined || first === undefined) throw new Error('DER: truncated element');
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[offset + 2 + i] ?? 0);
    header += count;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new Error('DER: element overruns its buffer');
  return { tag, bytes: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

/** Dotted form of an OBJECT IDENTIFIER's content octets. */
export function decodeOid(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const [first = 0n, ...rest] = arcs;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...rest].join('.');
}

/** The children of a constructed element. */
export function children(element: Element): Element[] {
  const out: Element[] = [];
  for (let offset = 0; offset < element.content.length; ) {
    const child = readElement(element.content, offset);
    out.push(child);
    offset += child.bytes.length;
  }
  return out;
}

/** Child `index` of a constructed element, or an error naming what was expected. */
export function child(element: Element, index: number, what: string): Element {
  const found = children(element)[index];
  if (!found) throw new Error(`DER: missing ${what}`);
  return found;
}

// ---------------------------------------------------------------------------
// PEM (RFC 7468)

export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block with the given label, in order, as DER. */
export function fromPem(pem: string, label = 'CERTIFICATE'): Buffer[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([^-]*)-----END ${label}-----`, 'g');
  return [...pem.matchAll(pattern)].map((match) => Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64'));
}
