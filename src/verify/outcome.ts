import { SignatureRejected, SigverifyError } from '../errors.ts';
import { oneLine } from '../text/quote.ts';
import type { SignatureOutcome } from './result.ts';

/** A refusal as a result entry: not-a-signature is skipped; registry trouble leaves it undecided. */
export function outcomeOfError(error: unknown): Pick<SignatureOutcome, 'outcome' | 'reason'> {
  if (error instanceof SignatureRejected) {
    const outcome = error.code === 'PREDICATE_TYPE_MISMATCH' || error.code === 'BUNDLE_UNSUPPORTED' ? 'skipped' : 'failed';
    const sigstoreCode = (error as { sigstoreCode?: string }).sigstoreCode;
    return { outcome, reason: { code: error.code, message: error.message, ...(sigstoreCode === undefined ? {} : { sigstoreCode }) } };
  }
  if (error instanceof SigverifyError) {
    return { outcome: error.kind === 'unavailable' ? 'unavailable' : 'failed', reason: { code: error.code, message: error.message } };
  }
  // Anything else (node:crypto on a malformed certificate, a bug) ends this
  // signature only: it is not verified, and the image's other signatures still count.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { outcome: 'failed', reason: { code: 'UNEXPECTED_ERROR', message: oneLine(`checking this signature failed unexpectedly: ${message}`, 500) } };
}

