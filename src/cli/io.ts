import type { SignatureOutcome } from '../index.ts';
import { escapeLines, quote } from '../text/quote.ts';

/** Where a command writes: stdout for the answer (a pinned reference, JSON), stderr for people. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * Every byte a command writes passes through here: whatever a foreign string
 * slipped into a line, it cannot add a line break or a control sequence the
 * CLI did not write. JSON stays valid and exact (the escapes are JSON's).
 */
export function guardIo(io: Io): Io {
  return { stdout: (text) => { io.stdout(escapeLines(text)); }, stderr: (text) => { io.stderr(escapeLines(text)); } };
}

/** "signed by …, log index … at …" for a verified signature; identities and issuers are quoted, they come from certificates. */
export function describeSigner(s: SignatureOutcome, keyName = 'the given public key'): string {
  const who = s.publicKey === true ? keyName : `${s.identity === undefined ? 'an unknown identity' : quote(s.identity)} (issuer ${s.issuer === undefined ? 'unknown' : quote(s.issuer)})`;
  // Rekor v2 entries have no integrated time: the time is the TSA's, not the log's.
  const log = s.tlog === undefined
    ? 'no transparency-log entry'
    : `log index ${s.tlog.logIndex}${s.tlog.integratedTime === undefined ? ' (no integrated time; timestamped by a TSA)' : ` at ${s.tlog.integratedTime}`}`;
  return `signed by ${who}, ${log}`;
}

/** One line per signature that did not pass: its outcome, where it came from, and why. */
export function describeOutcome(s: SignatureOutcome): string {
  return `  (${s.outcome}) ${s.origin}: ${s.reason?.code ?? ''} ${s.reason?.message ?? ''}\n`;
}
