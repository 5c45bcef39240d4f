export { canonicalDigest, canonicalJson } from './canonical-json.ts';
export {
  AUDIT_CHECKPOINT_MEDIA_TYPE,
  type AuditCheckpoint,
  type CheckpointSigner,
  type CheckpointVerifier,
  checkpointSigner,
  checkpointVerifier,
} from './checkpoint.ts';
export { AuditLog, type AuditLogOptions, type AuditSink, DEFAULT_CHECKPOINT_EVERY, type RotateOptions, type Rotation, rotateAuditLog } from './log.ts';
export {
  AUDIT_DECISIONS,
  AUDIT_RECORD_MEDIA_TYPE,
  type AuditAttestation,
  type AuditDecision,
  type AuditEntry,
  type AuditMonitorRun,
  type AuditRecord,
  type AuditSigner,
  type AuditTlog,
  type AuditTrust,
  type AuditWriter,
  auditTrust,
  GENESIS_PREV,
  attestationEvidence,
  evidenceOf,
  recordHash,
  refusalOf,
} from './record.ts';
export { type AuditSummary, type AuditSummaryOptions, type DurationStats, type ModuleSummary, NO_MODULE, percentile, summarizeAuditLog } from './summary.ts';
export { type AuditProblem, type AuditVerification, type AuditVerifyOptions, verifyAuditLog } from './verify.ts';
