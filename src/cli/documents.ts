import type { VerificationResult } from '../index.ts';

/**
 * The JSON documents the CLI prints that the library does not define. Every
 * document on stdout carries a `mediaType`; the JSON Schema of each is in
 * `schemas/` (one file per media type, named after it).
 */

/** A command that failed before it had a result to report: `{mediaType, verified: false, error: {code, message}}`. */
export const ERROR_MEDIA_TYPE = 'application/vnd.sigverify.error+json;version=1';

/** check-module refusing a module: the module, the decision, the error, and the failed verification result when there was one. */
export const GATE_REFUSAL_MEDIA_TYPE = 'application/vnd.sigverify.gate-refusal+json;version=1';

export interface ErrorSummary {
  readonly code: string;
  readonly message: string;
}

/** The document of a command that failed before it had a result. */
export function errorDocument(error: ErrorSummary): { readonly mediaType: typeof ERROR_MEDIA_TYPE; readonly verified: false; readonly error: ErrorSummary } {
  return { mediaType: ERROR_MEDIA_TYPE, verified: false, error };
}

/**
 * A failed verification result as printed: `verified: false`, the error, and
 * no `pinnedReference` — nothing a script could mistake for a reference to run.
 * The resolved `digest` stays.
 */
export function failedResult(result: VerificationResult): Omit<VerificationResult, 'pinnedReference'> {
  const { pinnedReference: _notRunnable, ...rest } = result;
  return { ...rest, verified: false };
}

export function failedResultDocument(result: VerificationResult, error: ErrorSummary): Omit<VerificationResult, 'pinnedReference'> & { readonly error: ErrorSummary } {
  return { ...failedResult(result), error };
}
