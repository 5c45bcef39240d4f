import type { z } from 'zod';

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
  return parseValue(schema, value, fail);
}

export function parseValue<T extends z.ZodType>(schema: T, value: unknown, fail: JsonFailure): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length === 0 ? '(root)' : i.path.join('.')}: ${i.message}`)
      .join('; ');
    throw fail(issues, result.error);
  }
  return result.data;
}
