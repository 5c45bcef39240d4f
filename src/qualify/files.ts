import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SigverifyError } from '../errors.ts';
import { type QualificationReport, renderQualificationHtml } from './report.ts';

export interface WrittenReport {
  readonly directory: string;
  readonly json: string;
  readonly html: string;
}

/** `sigverify-qualification-OQ-20261124T231302Z-1a2b3c4d`: the default report directory, named by the report ID. */
export function defaultReportDirectory(reportId: string): string {
  return `sigverify-qualification-${reportId}`;
}

/**
 * Writes `report.json` and `report.html` into `directory` (created if need
 * be). A qualification record is evidence: an existing report is never
 * overwritten (USAGE: choose another directory).
 */
export function writeQualificationReport(report: QualificationReport, directory: string): Promise<WrittenReport> {
  return writeReportFiles(directory, 'report', `${JSON.stringify(report, null, 2)}\n`, (sha256) => renderQualificationHtml(report, sha256));
}

/** `NAME.json`, then `NAME.html` rendered with the SHA-256 of the JSON bytes: the printed page names the exact electronic record it renders. */
export async function writeReportFiles(directory: string, name: string, json: string, html: (jsonSha256: string) => string): Promise<WrittenReport> {
  const dir = resolve(directory);
  const written = { directory: dir, json: join(dir, `${name}.json`), html: join(dir, `${name}.html`) };
  try {
    await mkdir(dir, { recursive: true });
    const bytes = Buffer.from(json, 'utf8');
    await writeFile(written.json, bytes, { flag: 'wx' });
    await writeFile(written.html, html(createHash('sha256').update(bytes).digest('hex')), { flag: 'wx' });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SigverifyError('USAGE', `${dir} already holds a ${name}; a report is never overwritten: choose another --output-dir`, { cause });
    }
    throw new SigverifyError('QUALIFICATION_REPORT_UNWRITABLE', `cannot write the ${name} to ${dir}: ${(cause as Error).message}`, { cause });
  }
  return written;
}
