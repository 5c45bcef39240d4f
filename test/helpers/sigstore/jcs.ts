/**
 * RFC 8785 JSON Canonicalization Scheme for the values Sigstore canonicalises
 * (Rekor entry bodies, SET payloads): objects with keys sorted by UTF-16 code
 * units, compact, ECMAScript number and string serialisation.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('JCS: non-finite number');
    // JSON.stringify yields no text for these (and throws on bigint).
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      throw new Error(`JCS: cannot encode ${typeof value}`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
