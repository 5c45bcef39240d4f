import { createHash } from 'node:crypto';
import type { Digest } from '../reference/index.ts';

/**
 * Canonical JSON for hashing: object keys sorted by UTF-16 code unit (as
 * RFC 8785 JCS sorts them), no whitespace, strings and finite numbers as
 * `JSON.stringify` writes them (JCS's number form for every value sigverify
 * records). The same value always yields the same bytes, so a digest of it
 * names the value, not its formatting. Only JSON values are accepted:
 * `undefined` members are left out, as `JSON.stringify` leaves them out.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no form for ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v: unknown) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON has no form for a ${typeof value}`);
}

/** sha256 of the canonical JSON of `value`, as a digest. */
export function canonicalDigest(value: unknown): Digest {
  return `sha256:${sha256Hex(canonicalJson(value))}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
