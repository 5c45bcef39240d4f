export { type WrittenReport, defaultReportDirectory, writeQualificationReport } from './files.ts';
export { DEFAULT_KIT_DIRECTORY } from './kit.ts';
export { PROTOCOL, type QualificationOptions, runQualification } from './protocol.ts';
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
