import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SigverifyError } from '../errors.ts';
import { type QualificationReport, renderQualificationHtml } from './report.ts';

export interface WrittenReport {
  readonly directory: string;
  readonly json: string;
  readonly html: string;
}

/** `sigverify-qualification-20261124T231302Z`: the default report directory for a report dated `date`. */
export function defaultReportDirectory(date: string): string {
  return `sigverify-qualification-${date.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')}`;
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
    await writeFile(written.json, `${JSON.stringify(report, null, 2)}\n`, { flag: 'wx' });
    await writeFile(written.html, renderQualificationHtml(report), { flag: 'wx' });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SigverifyError('USAGE', `${dir} already holds a qualification report; a report is never overwritten: choose another --output-dir`, { cause });
    }
    throw new SigverifyError('QUALIFICATION_REPORT_UNWRITABLE', `cannot write the qualification report to ${dir}: ${(cause as Error).message}`, { cause });
  }
  return written;
}
