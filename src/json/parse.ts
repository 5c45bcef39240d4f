import type * as z from 'zod';
import { quote } from '../text/quote.ts';

/**
 * The boundary every piece of untrusted JSON crosses: bytes → JSON → zod.
 * Any failure becomes one caller-chosen error carrying the zod issue paths, so
 * hostile input can only ever produce our own typed errors.
 */
export type JsonFailure = (reason: string, cause?: unknown) => Error;

const decoder = new TextDecoder('utf-8', { fatal: true });

export function parseJson<T extends z.ZodType>(
  schema: T,
  input: Uint8Array | string,
  fail: JsonFailure,
): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(typeof input === 'string' ? input : decoder.decode(input));
  } catch (cause) {
    throw fail('not valid UTF-8 JSON', cause);
  }
  if (nestedDeeperThan(value, MAX_JSON_DEPTH)) throw fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  return parseValue(schema, value, fail);
}

/**
 * Deepest nesting of arrays and objects accepted. JSON.parse copes with any
 * depth, but what it returns may reach the result (an attestation's
 * statement), and JSON.stringify and canonical JSON recurse: 100,000 nested
 * arrays in a signed predicate made the result unserialisable, a RangeError
 * outside our typed errors (test/adversarial/content-lies.test.ts, "deeply
 * nested JSON"). Real manifests, payloads and statements nest a few levels.
 */
const MAX_JSON_DEPTH = 512;

/** Whether `value` holds arrays or objects more than `max` levels deep (iterative: no recursion on hostile input). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item as Record<string, unknown>)) pending.push([child, depth + 1]);
  }
  return false;
}

/** A zod issue path; its keys come from the input, so each one is quoted unless it is a plain name or an index. */
export function issuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((k) => (typeof k === 'number' || (typeof k === 'string' && /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(k)) ? String(k) : quote(String(k), 64))).join('.');
}

export function parseValue<T extends z.ZodType>(schema: T, value: unknown, fail: JsonFailure): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 3)
      .map((i) => `${issuePath(i.path)}: ${i.message}`)
      .join('; ');
    throw fail(issues, result.error);
  }
  return result.data;
}
