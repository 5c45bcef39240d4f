/**
 * `sigverify/monitor`: transparency-log monitoring (`sigverify log audit`).
 * Which entries watched signers made in Rekor v1 and v2 logs, whether the
 * site approved each, and whether each log stayed append-only.
 */
export type { WatchedSigner } from './entry.ts';
export type { ApprovalSources } from './expected.ts';
export { type LogMonitorOptions, type MonitoredLog, runLogMonitor } from './monitor.ts';
export { LOG_MONITOR_REPORT_MEDIA_TYPE, type LogMonitorReport, type LogReport, type MonitorOutcome, type ReportedEntry, formatReport, monitorAuditEntry } from './report.ts';
