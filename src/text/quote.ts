/**
 * Foreign strings on human channels. Anything a registry, a log, a bundle or a
 * file says is data: before it reaches stderr, an error message, a log line or
 * an HTML report it goes through {@link quote}, so it can neither start a line
 * of its own (a forged "✓ … PASSED"), nor drive a terminal (ESC sequences that
 * hide the real "✗ … FAILED"), nor reorder what is shown (bidi overrides).
 *
 * Escaped: C0 controls, DEL, C1 controls, the Unicode line and paragraph
 * separators, bidi embeddings, overrides, isolates and marks, zero-width
 * characters and the BOM (invisible text), and unpaired surrogates.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;

/** Inside quotes, the quote and the backslash are escaped too, so the quoted text is unambiguous. */
const UNSAFE_IN_QUOTES = new RegExp(`${UNSAFE.source}|["\\\\]`, 'gu');

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

function escapeChar(c: string): string {
  const short = SHORT_ESCAPES[c];
  if (short !== undefined) return short;
  // JSON's spelling: an escaped line of JSON output still parses to the exact original.
  return `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

/** Longest foreign value shown, in UTF-16 units; the rest is counted, not shown. */
export const MAX_QUOTED_CHARS = 200;

/** Longest message (already built from quoted parts) passed on whole. */
export const MAX_MESSAGE_CHARS = 4096;

function cap(text: string, max: number): { readonly shown: string; readonly omitted: number } {
  if (text.length <= max) return { shown: text, omitted: 0 };
  // Never split a surrogate pair: the half left would be escaped as unpaired.
  const end = /[\ud800-\udbff]/u.test(text.charAt(max - 1)) ? max - 1 : max;
  return { shown: text.slice(0, end), omitted: text.length - end };
}

/**
 * A foreign value, quoted for a human channel: `"…"` with every unsafe
 * character escaped, capped at `max` characters (`"abc…" (+1234 chars)`).
 * Other values are shown as their JSON, unquoted (so `1` and `"1"` differ).
 */
export function quote(value: unknown, max: number = MAX_QUOTED_CHARS): string {
  if (typeof value !== 'string') {
    // JSON has no spelling for these (JSON.stringify returns undefined, whatever its type says).
    const plain = value === undefined || typeof value === 'function' || typeof value === 'symbol';
    return oneLine(plain ? String(value) : JSON.stringify(value), max);
  }
  const { shown, omitted } = cap(value, max);
  const body = shown.replace(UNSAFE_IN_QUOTES, escapeChar);
  return omitted === 0 ? `"${body}"` : `"${body}…" (+${omitted} chars)`;
}

/**
 * A whole message made safe to print as one line: unsafe characters escaped,
 * length capped. The last line of defence, applied by every typed error and
 * every CLI sink; quoting at the place a foreign value is inserted
 * ({@link quote}) is what keeps messages readable.
 */
export function oneLine(text: string, max: number = MAX_MESSAGE_CHARS): string {
  const { shown, omitted } = cap(text, max);
  const body = shown.replace(UNSAFE, escapeChar);
  return omitted === 0 ? body : `${body}… (+${omitted} chars)`;
}

/**
 * What a CLI sink writes: every line of `text` with its unsafe characters
 * escaped, the line breaks kept (the caller wrote those). JSON stays valid
 * and parses to the same values, since the escapes are JSON's own.
 */
export function escapeLines(text: string): string {
  return text.split('\n').map((line) => line.replace(UNSAFE, escapeChar)).join('\n');
}

/** Whether `text` is free of every character {@link oneLine} would escape. */
export function isOneLine(text: string): boolean {
  return !UNSAFE_ONE.test(text);
}

const UNSAFE_ONE = new RegExp(UNSAFE.source, 'u');
