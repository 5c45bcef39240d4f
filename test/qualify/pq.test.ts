import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, AuditLog } from '../../src/audit/index.ts';
import { runQualify } from '../../src/cli/qualify.ts';
import { type PqReport, rotateAuditLog, runPerformanceQualification, writePqReport } from '../../src/qualify/index.ts';
import { printToPdf } from '../helpers/print.ts';

/**
 * PQ over a period: two audit-trail segments (a rotation in between), decisions
 * of two modules, refusals, one slow decision, and log monitor reports in the
 * shape the monitor writes (schemas/log-monitor-report.v1.json).
 */
const DIGEST = `sha256:${'b'.repeat(64)}` as const;
const TRUST = { source: 'trusted_root.json file /etc/sigverify/trusted_root.json', location: '/etc/sigverify/trusted_root.json', digest: `sha256:${'c'.repeat(64)}` as const };

function entry(minute: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString(),
    module: 'brain-seg',
    reference: 'registry.example/brain-seg:2.1',
    digest: DIGEST,
    decision: 'verified',
    trust: TRUST,
    cached: false,
    durationMs: 1000 + minute,
    sigverifyVersion: '0.1.0',
    ...overrides,
  };
}

const monitorReport = (outcome: string, unexpected: unknown[] = []) => ({
  mediaType: 'application/vnd.sigverify.log-monitor-report+json;version=1',
  generatedAt: '2026-11-30T23:00:00.000Z',
  outcome,
  logs: [{ url: 'https://rekor.example', version: 1, checkpoint: { treeSize: 1234, rootHash: 'ab'.repeat(32) }, consistent: true, entriesScanned: 40 }],
  unexpected,
  expectedCount: 12,
});

let tmp = '';
let segment = '';
let current = '';
let report: PqReport;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sigverify-pq-'));
  current = join(tmp, 'audit.jsonl');
  segment = join(tmp, 'audit-2026-11a.jsonl');
  const log = new AuditLog(current, { fsync: false, processor: 'radiology-processor-1' });
  // Before the period: not counted.
  await log.append({ ...entry(0), time: '2026-10-31T23:59:00.000Z' });
  for (let i = 1; i <= 4; i++) await log.append(entry(i));
  await log.append(entry(5, { decision: 'rejected', reason: 'NO_MATCHING_SIGNATURE', signatureReasons: ['IDENTITY_MISMATCH'], durationMs: 800 }));
  await rotateAuditLog(current, segment);
  await log.append(entry(6, { module: 'lung-nodules', cached: true, durationMs: 3 }));
  await log.append(entry(7, { module: 'lung-nodules', decision: 'invalid', reason: 'POLICY_INVALID', durationMs: 1 }));
  await log.append(entry(8, { module: 'lung-nodules', durationMs: 61_000 }));
  // A log monitor run in the trail is not a gate decision: no module, no refusal, no timing.
  await log.append({
    time: '2026-11-30T23:00:00.000Z', reference: 'https://rekor.example', decision: 'log-monitor', cached: false, durationMs: 90_000, sigverifyVersion: '0.1.0',
    monitor: { outcome: 'unexpected', logs: [{ url: 'https://rekor.example', treeSize: 1234, rootHash: 'ab'.repeat(32) }], unexpectedCount: 1, reportSha256: 'cd'.repeat(32) },
  });
  await writeFile(join(tmp, 'monitor-clean.json'), JSON.stringify(monitorReport('clean')));
  await writeFile(join(tmp, 'monitor-unexpected.json'), JSON.stringify(monitorReport('unexpected', [{ logUrl: 'https://rekor.example', logIndex: 77, integratedTime: '2026-11-20T10:00:00Z', identity: 'https://github.com/mallory/x/.github/workflows/r.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com', digest: `sha256:${'d'.repeat(64)}` }])));
  report = await runPerformanceQualification({
    auditLogs: [segment, current],
    from: new Date('2026-11-01T00:00:00Z'),
    to: new Date('2026-12-01T00:00:00Z'),
    monitorReports: [join(tmp, 'monitor-clean.json')],
    site: { name: 'St. Example Radiology' },
  });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('performance qualification', () => {
  it('verifies each segment, the later one continuing from the earlier', () => {
    expect(report.auditTrails).toEqual([
      expect.objectContaining({ path: segment, records: 6, intact: true }),
      expect.objectContaining({ path: current, records: 5, intact: true }),
    ]);
  });

  it('counts the decisions of the period per module, with refusals and their reasons', () => {
    expect(report.decisions).toBe(8);
    expect(report.modules).toEqual({
      'brain-seg': { total: 5, decisions: { verified: 4, rejected: 1 }, cached: 0 },
      'lung-nodules': { total: 3, decisions: { verified: 2, invalid: 1 }, cached: 1 },
    });
    expect(report.refusals).toEqual([
      expect.objectContaining({ module: 'brain-seg', decision: 'rejected', reason: 'NO_MATCHING_SIGNATURE', signatureReasons: 'IDENTITY_MISMATCH', count: 1 }),
      expect.objectContaining({ module: 'lung-nodules', decision: 'invalid', reason: 'POLICY_INVALID', count: 1 }),
    ]);
    expect(report.trustRoots).toEqual([{ ...TRUST, decisions: 8 }]);
    expect(report.versions).toEqual({ '0.1.0': 8 });
    expect(report.writers).toEqual([expect.objectContaining({ processor: 'radiology-processor-1', decisions: 8 })]);
  });

  it('measures verification time against the 60-second limit: one slow decision is a finding', () => {
    expect(report.durationMs).toMatchObject({ limit: 60_000, all: { count: 8, max: 61_000, overLimit: 1 }, uncached: { count: 7 } });
    expect(report.durationMs.all.p50).toBe(1001);
    expect(report.passed).toBe(false);
    expect(report.findings).toEqual([expect.stringContaining('1 decisions took longer than the 60-second limit')]);
  });

  it("reports the monitor's findings; an unexpected entry is a finding", async () => {
    expect(report.monitor).toEqual([expect.objectContaining({ outcome: 'clean', expectedCount: 12, logs: [expect.objectContaining({ url: 'https://rekor.example', consistent: true })] })]);
    const flagged = await runPerformanceQualification({ auditLogs: [segment], from: new Date('2026-11-01'), to: new Date('2026-11-02'), monitorReports: [join(tmp, 'monitor-unexpected.json')] });
    expect(flagged).toMatchObject({ passed: false, decisions: 5 });
    expect(flagged.findings).toEqual([expect.stringContaining('is unexpected: 1 unexpected entries')]);
    const clean = await runPerformanceQualification({ auditLogs: [segment], from: new Date('2026-11-01'), to: new Date('2026-11-02'), monitorReports: [join(tmp, 'monitor-clean.json')] });
    expect(clean).toMatchObject({ passed: true, findings: [] });
  });

  it('takes the monitor report as the monitor writes it for Rekor v2 and an unreadable log (nulls)', async () => {
    const file = join(tmp, 'monitor-v2.json');
    await writeFile(file, JSON.stringify({
      ...monitorReport('unexpected', [{ logUrl: 'https://log2025-1.rekor.example', logIndex: 5, integratedTime: null, identity: 'release@site.example', issuer: 'https://issuer.example', digest: null }]),
      logs: [
        { url: 'https://log2025-1.rekor.example', version: 2, checkpoint: { treeSize: 9, rootHash: 'ef'.repeat(32) }, consistent: true, entriesScanned: 9 },
        { url: 'https://rekor.example', version: 1, checkpoint: null, consistent: false, entriesScanned: 0 },
      ],
    }));
    const out = await runPerformanceQualification({ auditLogs: [segment], from: new Date('2026-11-01'), to: new Date('2026-11-02'), monitorReports: [file] });
    expect(out.passed).toBe(false);
    expect(out.monitor).toEqual([expect.objectContaining({ outcome: 'unexpected', logs: [expect.objectContaining({ version: 2 }), expect.objectContaining({ checkpoint: null })] })]);
  });

  it('fails on a broken segment, and on a segment that does not continue the one before', async () => {
    const out = await runPerformanceQualification({ auditLogs: [current], from: new Date('2026-11-01'), to: new Date('2026-12-01'), monitorReports: [join(tmp, 'monitor-clean.json')] });
    expect(out.auditTrails[0]).toMatchObject({ intact: false });
    expect(out.findings[0]).toContain('is not intact');
  });

  it('refuses a monitor report that is not one', async () => {
    await writeFile(join(tmp, 'not-a-report.json'), '{"outcome":"clean"}');
    await expect(runPerformanceQualification({ auditLogs: [segment], from: new Date('2026-11-01'), to: new Date('2026-11-02'), monitorReports: [join(tmp, 'not-a-report.json')] })).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('writes JSON and an HTML page that prints on A4 with page numbers, every module and finding', async () => {
    const written = await writePqReport(report, join(tmp, 'report'));
    const json = await readFile(written.json);
    const html = await readFile(written.html, 'utf8');
    expect(html).toContain(createHash('sha256').update(json).digest('hex'));
    const printed = await printToPdf(written.html);
    expect([Math.round(printed.width), Math.round(printed.height)]).toEqual([595, 842]);
    const text = printed.text.replace(/\s+/g, ' ');
    expect(text).toContain(`Page 1 of ${printed.pages}`);
    expect(text).toContain(report.reportId);
    for (const name of ['brain-seg', 'lung-nodules', 'NO_MATCHING_SIGNATURE', 'POLICY_INVALID', 'NOT ACCEPTED', 'rekor.example']) expect(text.replace(/ /g, '')).toContain(name.replace(/ /g, ''));
  }, 120_000);

  it('as the CLI: exit 1 when not accepted, 2 without --audit-log or with a bad time', async () => {
    const out = { stdout: '', stderr: '' };
    const io = { stdout: (t: string) => { out.stdout += t; }, stderr: (t: string) => { out.stderr += t; } };
    const code = await runQualify(['pq', '--audit-log', segment, '--audit-log', current, '--from', '2026-11-01', '--to', '2026-12-01', '--monitor-report', join(tmp, 'monitor-clean.json'), '--output-dir', join(tmp, 'cli')], io);
    expect(code).toBe(1);
    expect(out.stdout).toContain('Performance qualification NOT ACCEPTED: 8 decisions');
    expect(await runQualify(['pq', '--from', '2026-11-01', '--to', '2026-12-01'], io)).toBe(2);
    expect(await runQualify(['pq', '--audit-log', segment, '--from', 'yesterday', '--to', '2026-12-01'], io)).toBe(2);
  });
});
