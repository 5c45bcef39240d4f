import type { AuditEntry } from '../audit/record.ts';
import type { ErrorCode } from '../errors.ts';
import { oneLine, quote } from '../text/quote.ts';
import type { WatchedSigner } from './entry.ts';

/**
 * The versioned report of one monitor run (schemas/log-monitor-report.v1.json).
 * Members are only ever added within a version.
 */
export const LOG_MONITOR_REPORT_MEDIA_TYPE = 'application/vnd.sigverify.log-monitor-report+json;version=1';

/**
 * `clean`: every log verified consistent and nothing unexpected. `unexpected`:
 * a watched signer signed something the site did not approve. `inconsistent`:
 * a log forked, was rewritten, or dropped an entry a decision relied on.
 * `undecided`: a log could not be read or served proofs that do not verify.
 */
export type MonitorOutcome = 'clean' | 'unexpected' | 'inconsistent' | 'undecided';

export interface ReportedEntry {
  readonly logUrl: string;
  readonly logId: string;
  readonly logIndex: number;
  /** Rekor v1 entry UUID (tree ID and leaf hash). */
  readonly uuid?: string;
  /** Rekor v1: the integrated time its signed entry timestamp covers; null for Rekor v2, which records none. */
  readonly integratedTime: string | null;
  readonly identity: string;
  readonly issuer: string;
  /** The artifact digest the entry records, `sha256:<hex>`; null for entry kinds that record none. */
  readonly digest: string | null;
  /** What `digest` is the hash of (the log holds no payload): the signed payload, the DSSE payload, the DSSE PAE. */
  readonly digestOf: string;
  /** Entry kind and version, e.g. `dsse/0.0.1`, `hashedrekord/0.0.2`. */
  readonly kind: string;
  /** Keyless: serial number (hex) of the Fulcio certificate, for the CA's records. */
  readonly certificateSerial?: string;
  /** Key mode: sha256 of the watched key (`identity` holds the same; `issuer` is empty). */
  readonly publicKeySha256?: string;
  /** The approved image whose verified signature is this entry, when it is expected. */
  readonly imageReference?: string;
  /** Why it is expected: `audit record 12`, `module brain-seg`, `operator list`. */
  readonly expectedBecause?: string;
}

export interface LogReport {
  readonly url: string;
  readonly version: 1 | 2;
  readonly logId: string | null;
  readonly origin: string | null;
  /** The newest signed checkpoint, verified; null when none could be read. */
  readonly checkpoint: { readonly treeSize: number; readonly rootHash: string } | null;
  /** The checkpoint verified by the previous run (the state directory); null on the first run. */
  readonly previous: { readonly treeSize: number; readonly rootHash: string; readonly verifiedAt: string } | null;
  /** `verified`: consistency proof from `previous` verified; `first-run`: nothing to compare yet; `forked`; `not-checked` (the run stopped first). */
  readonly consistency: 'verified' | 'first-run' | 'forked' | 'not-checked';
  /** consistency is `verified` or `first-run`, and no entry an accepted decision relied on is missing. */
  readonly consistent: boolean;
  readonly entriesScanned: number;
  readonly matches: number;
  readonly auditedEntriesChecked: number;
  readonly requests: number;
  readonly durationMs: number;
  readonly error?: { readonly code: ErrorCode | 'INTERNAL_ERROR'; readonly message: string };
}

export interface LogMonitorReport {
  readonly mediaType: typeof LOG_MONITOR_REPORT_MEDIA_TYPE;
  readonly generatedAt: string;
  readonly sigverifyVersion: string;
  readonly outcome: MonitorOutcome;
  readonly watch: readonly WatchedSigner[];
  /** Watched keys, as `sha256:<hex>` of their DER SubjectPublicKeyInfo. */
  readonly watchKeys: readonly string[];
  readonly since: string | null;
  readonly trustRoot: { readonly source: string; readonly digest: string | null };
  readonly approvals: { readonly images: number; readonly entries: number; readonly digests: number; readonly auditedEntries: number };
  readonly logs: readonly LogReport[];
  readonly unexpected: readonly ReportedEntry[];
  readonly expected: readonly ReportedEntry[];
  readonly expectedCount: number;
  /** Entries naming a watched signer whose certificate the trust root's CA did not issue: not theirs, listed for the record. */
  readonly untrusted: readonly { readonly logUrl: string; readonly logIndex: number; readonly uuid?: string; readonly identity: string; readonly reason: string }[];
  /** Failures outside one log (reading the approvals). */
  readonly errors: readonly { readonly code: ErrorCode | 'INTERNAL_ERROR'; readonly message: string }[];
}

/** The audit-trail record of a run (decision `log-monitor`). */
export function monitorAuditEntry(report: LogMonitorReport, reportSha256: string, durationMs: number): AuditEntry {
  return {
    time: report.generatedAt,
    reference: report.logs.map((l) => l.url).join(' '),
    decision: 'log-monitor',
    cached: false,
    durationMs,
    sigverifyVersion: report.sigverifyVersion,
    monitor: {
      outcome: report.outcome,
      logs: report.logs.flatMap((l) => (l.checkpoint === null ? [] : [{ url: l.url, treeSize: l.checkpoint.treeSize, rootHash: l.checkpoint.rootHash }])),
      unexpectedCount: report.unexpected.length,
      reportSha256,
    },
  };
}

const HEADLINE: Record<MonitorOutcome, string> = {
  clean: '✓ Transparency-log audit CLEAN: every log is consistent and every entry of the watched signers is approved',
  unexpected: '✗ Transparency-log audit found UNEXPECTED entries: a watched signer signed something the site did not approve',
  inconsistent: '✗ Transparency-log audit found an INCONSISTENT log: it forked, was rewritten, or dropped an entry a decision relied on',
  undecided: '? Transparency-log audit could NOT DECIDE: a log could not be read or served proofs that do not verify',
};

/** The human summary: foreign strings quoted, one line per fact. */
export function formatReport(report: LogMonitorReport): string {
  const lines = [HEADLINE[report.outcome], ''];
  for (const log of report.logs) {
    const cp = log.checkpoint === null ? 'no verified checkpoint' : `checkpoint size ${log.checkpoint.treeSize} root ${log.checkpoint.rootHash.slice(0, 16)}…`;
    const consistency = log.consistency === 'first-run' ? 'first run, nothing to compare with yet'
      : log.previous === null ? log.consistency
      : `${log.consistency} from size ${log.previous.treeSize} (verified ${log.previous.verifiedAt})`;
    lines.push(`Log ${quote(log.url)} (Rekor v${log.version}): ${cp}; consistency ${consistency}`);
    lines.push(`  ${log.entriesScanned} entries scanned, ${log.matches} by watched signers, ${log.auditedEntriesChecked} audited entries still included; ${log.requests} requests in ${(log.durationMs / 1000).toFixed(1)} s`);
    if (log.error !== undefined) lines.push(`  [${log.error.code}] ${log.error.message}`);
  }
  for (const error of report.errors) lines.push(`[${error.code}] ${error.message}`);
  const watched = [...report.watch.map((w) => `${quote(w.identity)} (issuer ${quote(w.issuer)})`), ...report.watchKeys.map((k) => `key ${k}`)];
  lines.push('', `Watched: ${watched.join(', ')}${report.since === null ? '' : `; since ${report.since}`}`);
  lines.push(`Approved: ${report.approvals.images} images, ${report.approvals.entries} log entries, ${report.approvals.digests} listed digests; ${report.expectedCount} expected entries found`);
  if (report.unexpected.length > 0) {
    lines.push('', `UNEXPECTED (${report.unexpected.length}); start the incident procedure (docs/signing.md) for each:`);
    for (const e of report.unexpected) {
      lines.push(`  ${quote(e.logUrl)} index ${e.logIndex}${e.uuid === undefined ? '' : ` uuid ${e.uuid}`}`);
      const signer = e.publicKeySha256 !== undefined ? `key ${e.publicKeySha256}` : `${quote(e.identity)} (issuer ${quote(e.issuer)}), certificate serial ${e.certificateSerial ?? '?'}`;
      lines.push(`    signed ${e.integratedTime ?? 'at a time Rekor v2 does not record'} by ${signer}`);
      lines.push(`    ${e.kind}: ${e.digest ?? 'no digest'} = hash of ${e.digestOf}; the log does not hold the payload, so it cannot name the image`);
    }
  }
  if (report.untrusted.length > 0) {
    lines.push('', `Not issued by the trusted CA (${report.untrusted.length}), so not the watched signer's; listed for the record:`);
    for (const u of report.untrusted) lines.push(`  ${quote(u.logUrl)} index ${u.logIndex} claims ${quote(u.identity)}: ${oneLine(u.reason)}`);
  }
  return `${lines.join('\n')}\n`;
}
