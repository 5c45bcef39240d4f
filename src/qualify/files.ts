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
export async function writeQualificationReport(report: QualificationReport, directory: string): Promise<WrittenReport> {
  const dir = resolve(directory);
  const written = { directory: dir, json: join(dir, 'report.json'), html: join(dir, 'report.html') };
  try {
    await mkdir(dir, { recursive: true });
    const json = Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8');
    await writeFile(written.json, json, { flag: 'wx' });
    // The printed page names the exact electronic record it renders.
    await writeFile(written.html, renderQualificationHtml(report, createHash('sha256').update(json).digest('hex')), { flag: 'wx' });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SigverifyError('USAGE', `${dir} already holds a qualification report; a report is never overwritten: choose another --output-dir`, { cause });
    }
    throw new SigverifyError('QUALIFICATION_REPORT_UNWRITABLE', `cannot write the qualification report to ${dir}: ${(cause as Error).message}`, { cause });
  }
  return written;
}
