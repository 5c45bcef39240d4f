/**
 * Exit codes and the report of a failed command, shared by src/cli/main.ts and
 * the commands it loads when they run (src/cli/verify.ts): a module of its own
 * so that neither has to load the other.
 */
import { SigverifyError } from '../errors.ts';
import type { VerificationResult } from '../index.ts';
import { errorDocument, failedResultDocument } from './documents.ts';
import { type Io, describeOutcome } from './io.ts';

/** Exit codes (stable, documented in the README). */
export const EXIT = { verified: 0, notVerified: 1, usage: 2, undecided: 3 } as const;

export const PURPOSE_WORD = { signature: 'Signature', attestation: 'Attestation', bundle: 'Bundle' } as const;

/**
 * `verify` found no signatures, but attestations were seen (a bundle with
 * another predicate type): say so, and how to verify them instead.
 */
function onlyAttestations(code: string, result: VerificationResult | undefined): boolean {
  return code === 'NO_SIGNATURES' && result?.purpose.kind === 'signature' && result.signatures.some((s) => s.reason?.code === 'PREDICATE_TYPE_MISMATCH');
}

/**
 * Every failure: a usage error (or a failure before anything was verified) is
 * one `sigverify: [CODE] …` line, never a verification verdict; a verdict
 * names what was verified. With JSON output, stdout carries the failed result
 * or, when there is none, an error document; both have a media type.
 */
export function reportError(error: unknown, io: Io, subject: { readonly image: string; readonly purpose: keyof typeof PURPOSE_WORD } | undefined, output: 'text' | 'json'): number {
  const known = error instanceof SigverifyError;
  const code = known ? error.code : 'INTERNAL_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  const result = known ? error.result : undefined;
  const isUsage = known && error.kind === 'usage';
  if (subject === undefined || isUsage) {
    io.stderr(`sigverify: [${code}] ${message}\n${isUsage ? 'Run "sigverify help" for usage.\n' : ''}`);
  } else {
    const hint = onlyAttestations(code, result) ? '; the image has attestations but no signatures: use sigverify verify-attestation --type T' : '';
    io.stderr(`✗ ${PURPOSE_WORD[subject.purpose]} verification FAILED for ${subject.image}: [${code}] ${message}${hint}\n`);
    // The message already carries a lone signature's reason; list them when there are several (or when they are attestations).
    const signatures = result?.signatures ?? [];
    if (signatures.length > 1 || hint !== '') {
      for (const s of signatures) io.stderr(describeOutcome(s));
    }
  }
  if (output === 'json') {
    const document = result === undefined ? errorDocument({ code, message }) : failedResultDocument(result, { code, message });
    io.stdout(`${JSON.stringify(document, null, 2)}\n`);
  }
  if (!known) return EXIT.undecided;
  return isUsage ? EXIT.usage : error.kind === 'unavailable' ? EXIT.undecided : EXIT.notVerified;
}
