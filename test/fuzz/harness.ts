import fc from 'fast-check';
import { ERROR_CODES, type ErrorCode, REJECTION_CODES, type RejectionCode, SignatureRejected, SigverifyError } from '../../src/errors.ts';

/**
 * Property-based fuzzing of the parsers that see untrusted bytes (issue 7,
 * item 3). Two properties per parser:
 *  (a) any input — random, JSON-shaped, or a mutation of a valid seed — either
 *      parses or fails with one of *our* typed errors, with an expected code,
 *      and within {@link MAX_PARSE_MS};
 *  (b) a generated valid input round-trips.
 *
 * Runs are reproducible: one fixed seed ({@link SEED}) and a fixed `numRuns`
 * per property, all listed in {@link RUNS}. To explore beyond the committed
 * budget, set `SIGVERIFY_FUZZ_SEED` and/or `SIGVERIFY_FUZZ_SCALE` (a run
 * multiplier); a failure report names the seed and path to replay. Inputs
 * that once broke a parser are pinned as fast-check `examples`, so they run
 * whatever the seed (they count within `numRuns`).
 */
export const SEED = envNumber('SIGVERIFY_FUZZ_SEED') ?? 0x51_6e_72_1f;
const SCALE = envNumber('SIGVERIFY_FUZZ_SCALE') ?? 1;

/** A single parse slower than this fails the property: a hang or a super-linear blow-up. */
export const MAX_PARSE_MS = 1000;

/**
 * Generated runs per property. The suite's total, {@link TOTAL_RUNS}, is the
 * number reported for the issue; sized so the whole fuzz suite stays well
 * under 60 s on a 2-core machine.
 */
export const RUNS = {
  referenceHostile: 3000,
  referenceMutated: 2000,
  referenceRoundTrip: 2000,
  layoutRoundTrip: 500,
  platformHostile: 1000,
  platformRoundTrip: 500,
  manifestHostile: 1000,
  manifestMutated: 2000,
  manifestRoundTrip: 1000,
  manifestReformatted: 300,
  payloadHostile: 1000,
  payloadMutated: 1500,
  payloadRoundTrip: 1000,
  annotationsHostile: 1000,
  annotationsMutated: 1500,
  annotationsRoundTrip: 500,
  rfc3161Hostile: 500,
  rfc3161RoundTrip: 300,
  rekorHostile: 500,
  rekorMutated: 1500,
  rekorRoundTrip: 500,
  statementHostile: 500,
  statementMutated: 1000,
  statementRoundTrip: 500,
  tlogHostile: 500,
  tlogMutated: 2000,
  tlogRoundTrip: 500,
  pemHostile: 500,
  pemRoundTrip: 300,
  bundleHostile: 300,
  bundleMutated: 800,
  bundleReformatted: 100,
  legacyMutated: 800,
  wwwAuthHostile: 3000,
  wwwAuthRoundTrip: 2000,
  tokenRequestHostile: 500,
  tokenResponseHostile: 1000,
  tokenResponseRoundTrip: 500,
  linkHostile: 2000,
  linkRoundTrip: 1000,
  dockerConfigMutated: 300,
  dockerConfigRoundTrip: 200,
  dockerConfigKeyExact: 1000,
  dockerConfigKeyForms: 500,
  helperOutputHostile: 1000,
  helperOutputRoundTrip: 300,
  trustedRootMutated: 400,
  trustedRootReformatted: 50,
  trustConfigHostile: 1000,
  trustConfigRoundTrip: 500,
  policyHostile: 1500,
  policyRoundTrip: 500,
  regexpHostile: 1500,
  regexpAnchoring: 1500,
  regexpAlternation: 500,
  modulePolicyHostile: 1000,
  modulePolicyMutated: 1000,
  modulePolicyRoundTrip: 300,
  auditLinesHostile: 150,
  auditTrailMutated: 600,
  auditTrailRoundTrip: 50,
  cliHostile: 2000,
  cliRoundTrip: 500,
} as const satisfies Record<string, number>;

export const TOTAL_RUNS = Object.values(RUNS).reduce((sum, n) => sum + n, 0);

/** fast-check parameters for one property: the fixed seed and its run budget. */
export function runs(name: keyof typeof RUNS): { seed: number; numRuns: number } {
  return { seed: SEED, numRuns: Math.max(1, Math.round(RUNS[name] * SCALE)) };
}

/** `title (N runs)`, so every test names its budget. */
export function titled(title: string, name: keyof typeof RUNS): string {
  return `${title} (${RUNS[name]} runs)`;
}

type TypedError = SigverifyError | SignatureRejected;
type Code = ErrorCode | RejectionCode;

/** Fails (throws a plain Error, which fast-check reports with the counterexample) unless `error` is ours with an allowed code. */
export function assertTypedError(error: unknown, allowed: readonly Code[]): asserts error is TypedError {
  if (error instanceof SigverifyError) {
    if (!(error.code in ERROR_CODES) || error.kind !== ERROR_CODES[error.code]) throw new Error(`SigverifyError with an unknown code ${error.code}`, { cause: error });
  } else if (error instanceof SignatureRejected) {
    if (!(REJECTION_CODES as readonly string[]).includes(error.code)) throw new Error(`SignatureRejected with an unknown code ${error.code}`, { cause: error });
  } else {
    throw new Error(`untyped ${describeThrown(error)}`, { cause: error });
  }
  if (!allowed.includes(error.code)) throw new Error(`unexpected code ${error.code} (allowed: ${allowed.join(', ')}): ${error.message}`, { cause: error });
}

function describeThrown(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 300)}` : `throw of ${typeof error}`;
}

function checkElapsed(start: number, what: string): void {
  const elapsed = performance.now() - start;
  if (elapsed > MAX_PARSE_MS) throw new Error(`${what} took ${Math.round(elapsed)} ms (budget ${MAX_PARSE_MS} ms)`);
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: TypedError };

/** Runs one parse: returns its value or its typed error; anything else, or a slow parse, fails the property. */
export function outcome<T>(parse: () => T, allowed: readonly Code[], what = 'parse'): Outcome<T> {
  const start = performance.now();
  let result: Outcome<T>;
  try {
    result = { ok: true, value: parse() };
  } catch (error) {
    assertTypedError(error, allowed);
    result = { ok: false, error };
  }
  checkElapsed(start, what);
  return result;
}

export async function outcomeAsync<T>(parse: () => Promise<T>, allowed: readonly Code[], what = 'parse'): Promise<Outcome<T>> {
  const start = performance.now();
  let result: Outcome<T>;
  try {
    result = { ok: true, value: await parse() };
  } catch (error) {
    assertTypedError(error, allowed);
    result = { ok: false, error };
  }
  checkElapsed(start, what);
  return result;
}

/** What two outcomes must share to agree: the value, or the error code. */
export function outcomeSummary<T>(result: Outcome<T>): { value: T } | { code: string } {
  return result.ok ? { value: result.value } : { code: result.error.code };
}

/** For the parsers that report failure as a value (undefined, a reason string): they must never throw at all. */
export function neverThrows<T>(parse: () => T, what = 'parse'): T {
  const start = performance.now();
  let value: T;
  try {
    value = parse();
  } catch (error) {
    throw new Error(`${what} threw ${describeThrown(error)}`, { cause: error });
  }
  checkElapsed(start, what);
  return value;
}

/** The value of a parse that must succeed (round-trip properties): any throw fails the property. */
export function parsed<T>(parse: () => T): T {
  return neverThrows(parse, 'parse of a valid input');
}

/** Escapes every RegExp syntax character; valid in `u` mode (which refuses escapes of anything else). */
export function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export { fc };
