export { type WrittenReport, defaultReportDirectory, writeQualificationReport } from './files.ts';
export { DEFAULT_KIT_DIRECTORY } from './kit.ts';
export { PROTOCOL, type QualificationOptions, type SiteFields, runQualification } from './protocol.ts';
export { PQ_DURATION_LIMIT_MS, PQ_REPORT_MEDIA_TYPE, type PqOptions, type PqReport, renderPqHtml, runPerformanceQualification, writePqReport } from './pq.ts';
export { SITE_PROTOCOL, type SiteFile, type SiteQualificationOptions, runSiteQualification } from './site.ts';
export {
  QUALIFICATION_REPORT_MEDIA_TYPE,
  type QualificationCaseResult,
  type QualificationExpectation,
  type QualificationObservation,
  type QualificationOutcome,
  type QualificationReport,
  describeExpectation,
  describeObservation,
  renderQualificationHtml,
} from './report.ts';
// Audit-trail retention: keyed checkpoints and rotation (the trail itself is in the root entry).
export {
  AUDIT_CHECKPOINT_MEDIA_TYPE,
  type AuditCheckpoint,
  type CheckpointSigner,
  type CheckpointVerifier,
  DEFAULT_CHECKPOINT_EVERY,
  type RotateOptions,
  type Rotation,
  checkpointSigner,
  checkpointVerifier,
  rotateAuditLog,
} from '../audit/index.ts';
