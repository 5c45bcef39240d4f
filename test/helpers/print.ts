import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's chromium (apt-get install chromium; .ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';

export interface PrintedPdf {
  /** pdftotext -layout output. */
  readonly text: string;
  /** pdfinfo output. */
  readonly info: string;
  readonly pages: number;
  /** Page size in points, as pdfinfo reports it. */
  readonly width: number;
  readonly height: number;
}

/**
 * Prints an HTML file to PDF with a real headless Chromium (offline: no
 * network services, a fresh profile, no browser header or footer, so what
 * is in the margins comes from the page's own CSS), then reads the PDF back
 * with poppler's pdftotext and pdfinfo.
 */
export async function printToPdf(html: string): Promise<PrintedPdf> {
  const work = await mkdtemp(join(tmpdir(), 'sigverify-print-'));
  try {
    const pdf = join(work, 'report.pdf');
    await run(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-extensions', `--user-data-dir=${join(work, 'profile')}`, '--no-pdf-header-footer', `--print-to-pdf=${pdf}`,
      pathToFileURL(html).href,
    ], { timeout: 90_000, env: { ...process.env, HOME: work } });
    const text = (await run('pdftotext', ['-layout', pdf, '-'])).stdout;
    const info = (await run('pdfinfo', [pdf])).stdout;
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
    const [, width, height] = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(info) ?? [];
    return { text, info, pages, width: Number(width), height: Number(height) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
