import { type Limits, resolveLimits } from '../limits.ts';
import { AUDIT_CHECKPOINT_MEDIA_TYPE } from './checkpoint.ts';
import { readLines } from './lines.ts';
import { AUDIT_DECISIONS, type AuditDecision, AuditRecordSchema } from './record.ts';

export interface DurationStats {
  readonly count: number;
  /** Nearest-rank percentiles and the maximum, in ms; undefined with no records. */
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly max: number | undefined;
}

export interface ModuleSummary {
  readonly total: number;
  readonly decisions: Readonly<Record<AuditDecision, number>>;
  readonly cached: number;
}

/** `audit summary`: counts and durations for a performance-qualification report. */
export interface AuditSummary {
  readonly records: number;
  /** Lines that are not audit records (run `audit verify` on such a trail). */
  readonly unreadable: number;
  /** Time of the first and last record counted. */
  readonly first: string | undefined;
  readonly last: string | undefined;
  readonly decisions: Readonly<Record<AuditDecision, number>>;
  readonly cached: number;
  /** Per `module` (records without a module under `(none)`). */
  readonly modules: Readonly<Record<string, ModuleSummary>>;
  /** Gate call durations: all, cache hits, and decisions reached without the cache. */
  readonly durationMs: { readonly all: DurationStats; readonly cached: DurationStats; readonly uncached: DurationStats };
}

export interface AuditSummaryOptions {
  /** Only records at or after this time. */
  readonly since?: Date;
  readonly limits?: Partial<Limits>;
}

export const NO_MODULE = '(none)';

/** Summarises an audit trail; it does not check the chain (that is {@link verifyAuditLog}). */
export async function summarizeAuditLog(path: string, options: AuditSummaryOptions = {}): Promise<AuditSummary> {
  const limits = resolveLimits(options.limits);
  const since = options.since?.getTime();
  const decisions = zeroDecisions();
  const modules = new Map<string, { total: number; decisions: Record<AuditDecision, number>; cached: number }>();
  const all: number[] = [];
  const cached: number[] = [];
  const uncached: number[] = [];
  let unreadable = 0;
  let first: string | undefined;
  let last: string | undefined;

  for await (const line of readLines(path, limits.maxAuditLineBytes)) {
    let record;
    try {
      if (line.bytes === undefined) throw new Error('line too long');
      const value: unknown = JSON.parse(line.bytes.toString('utf8'));
      // A checkpoint is no decision.
      if ((value as { mediaType?: unknown } | null)?.mediaType === AUDIT_CHECKPOINT_MEDIA_TYPE) continue;
      record = AuditRecordSchema.parse(value);
    } catch {
      unreadable += 1;
      continue;
    }
    if (since !== undefined && Date.parse(record.time) < since) continue;
    first ??= record.time;
    last = record.time;
    decisions[record.decision] += 1;
    const name = record.module ?? NO_MODULE;
    let module = modules.get(name);
    if (module === undefined) {
      module = { total: 0, decisions: zeroDecisions(), cached: 0 };
      modules.set(name, module);
    }
    module.total += 1;
    module.decisions[record.decision] += 1;
    if (record.cached) module.cached += 1;
    all.push(record.durationMs);
    (record.cached ? cached : uncached).push(record.durationMs);
  }
  return {
    records: all.length,
    unreadable,
    first,
    last,
    decisions,
    cached: cached.length,
    modules: Object.fromEntries([...modules].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    durationMs: { all: stats(all), cached: stats(cached), uncached: stats(uncached) },
  };
}

function zeroDecisions(): Record<AuditDecision, number> {
  return Object.fromEntries(AUDIT_DECISIONS.map((d) => [d, 0])) as Record<AuditDecision, number>;
}

/** Nearest-rank percentile (the smallest value with at least q of the values at or below it). */
export function percentile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1];
}

function stats(values: number[]): DurationStats {
  const sorted = values.sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted.at(-1) };
}
