import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QualificationReport, runQualification, writeQualificationReport } from '../../src/qualify/index.ts';
import { type PrintedPdf, printToPdf } from '../helpers/print.ts';

/**
 * The printed report, in a real browser: what a QA reviewer signs. Chromium
 * prints report.html to PDF; the PDF must be A4 portrait, carry "Page X of Y"
 * and the report ID on every page, and show every case's verdict.
 */
let tmp = '';
let report: QualificationReport;
let printed: PrintedPdf;
let jsonSha256 = '';
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sigverify-print-test-'));
  report = await runQualification({ site: { name: 'St. Example Radiology', processor: 'radiology-processor-1', operator: 'A. Reviewer' } });
  const written = await writeQualificationReport(report, join(tmp, 'report'));
  jsonSha256 = createHash('sha256').update(await readFile(written.json)).digest('hex');
  printed = await printToPdf(written.html);
}, 120_000);
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the qualification report, printed by Chromium', () => {
  it('is A4 portrait (595 x 842 pt)', () => {
    expect(Math.round(printed.width)).toBe(595);
    expect(Math.round(printed.height)).toBe(842);
  });

  it('numbers its pages "Page X of Y" and names the report on every page', () => {
    expect(printed.pages).toBeGreaterThan(1);
    for (let page = 1; page <= printed.pages; page++) expect(printed.text).toContain(`Page ${page} of ${printed.pages}`);
    const pages = printed.text.split('\f').filter((p) => p.trim() !== '');
    expect(pages).toHaveLength(printed.pages);
    for (const page of pages) expect(page).toContain(`sigverify qualification report ${report.reportId}`);
  });

  it("shows every case's verdict on the line of its case id", () => {
    const lines = printed.text.split('\n');
    for (const c of report.cases) {
      const line = lines.find((l) => new RegExp(`^\\s*${c.id}\\s`).test(l));
      expect(line, c.id).toBeDefined();
      expect(line).toMatch(new RegExp(`^\\s*${c.id}\\s+PASS\\s`));
    }
    expect(report.cases.length).toBe(17);
  });

  it('carries the report ID, the SHA-256 of report.json, installation integrity, system, site fields, protocol, deviations and approval', () => {
    const text = printed.text.replace(/\s+/g, ' ');
    expect(text).toContain(`Report ID ${report.reportId}`);
    expect(text).toContain(jsonSha256);
    expect(text).toContain(report.installation.executable.sha256);
    expect(text).toContain(report.installation.package?.sha256 ?? 'no package hash');
    expect(text).toContain(report.installation.kit?.sha256 ?? 'no kit hash');
    expect(text).toContain(report.system.os);
    expect(text).toContain('St. Example Radiology');
    expect(text).toContain('radiology-processor-1');
    expect(text).toContain('A. Reviewer');
    expect(text).toContain('version 2 (docs/qualification.md)');
    expect(text).toContain('TEST Sigstore');
    expect(text).toContain('Deviations None recorded by the protocol.');
    for (const role of ['Executed by', 'Reviewed by', 'Approved by (QA)']) expect(text).toContain(role);
  });

  it('wraps digests inside the page: no text line is wider than the page', () => {
    // pdftotext -layout keeps columns: a line running off the page would be cut, so every digest must appear whole.
    const joined = printed.text.replace(/\s+/g, '');
    for (const c of report.cases) if (c.observation?.digest !== undefined) expect(joined).toContain(c.observation.digest);
  });
});
