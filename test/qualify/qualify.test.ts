import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQualify } from '../../src/cli/qualify.ts';
import { VERSION, trustSourceFrom } from '../../src/index.ts';
import { QUALIFICATION_REPORT_MEDIA_TYPE, type QualificationReport, renderQualificationHtml, runQualification, writeQualificationReport } from '../../src/qualify/index.ts';
import { matches } from '../../src/qualify/protocol.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURES, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { expectCode } from '../registry/helpers.ts';

const CASE_IDS = Array.from({ length: 17 }, (_, i) => `OQ-${String(i + 1).padStart(2, '0')}`);

let tmp = '';
let report: QualificationReport;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sigverify-qualify-test-'));
  report = await runQualification();
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Every way an HTML page can pull in something from elsewhere: elements, attributes in tags, CSS. */
function externalReferences(html: string): string[] {
  const style = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '').join('\n');
  return [
    ...[...html.matchAll(/<(link|script|img|iframe|object|embed|base|source|video|audio)\b/gi)].map((m) => m[0]),
    ...[...html.matchAll(/<[a-z][^>]*\s(src|href|srcset|action|data)\s*=[^>]*>/gi)].map((m) => m[0]),
    ...[...style.matchAll(/url\s*\(|@import/gi)].map((m) => m[0]),
  ];
}

describe('the qualification protocol, in process', () => {
  it('passes all seventeen cases on this machine', () => {
    expect(report.cases.map((c) => c.id)).toEqual(CASE_IDS);
    expect(report.cases.filter((c) => !c.passed)).toEqual([]);
    expect(report).toMatchObject({ passed: true, summary: { total: 17, passed: 17, failed: 0, notExecuted: 0 }, deviations: [] });
    expect(report.reportId).toMatch(/^OQ-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
  });

  it('observes the expected outcome, error code and reason of every case', () => {
    const observed = Object.fromEntries(report.cases.map((c) => [c.id, [c.observation?.outcome, c.observation?.code, c.observation?.reasons]]));
    expect(observed).toEqual({
      'OQ-01': ['verified', undefined, undefined],
      'OQ-02': ['refused', 'NO_SIGNATURES', undefined],
      'OQ-03': ['refused', 'NO_MATCHING_SIGNATURE', ['IDENTITY_MISMATCH']],
      'OQ-04': ['refused', 'NO_MATCHING_SIGNATURE', ['ISSUER_MISMATCH']],
      'OQ-05': ['refused', 'NO_SIGNATURES', undefined],
      'OQ-06': ['refused', 'NO_MATCHING_SIGNATURE', ['PAYLOAD_DIGEST_MISMATCH']],
      'OQ-07': ['refused', 'TRUST_METADATA_EXPIRED', undefined],
      'OQ-08': ['refused', 'NO_MATCHING_SIGNATURE', ['TLOG_ENTRY_INVALID']],
      'OQ-09': ['verified', undefined, undefined],
      'OQ-10': ['verified', undefined, undefined],
      'OQ-11': ['verified', undefined, undefined],
      'OQ-12': ['refused', 'NO_MATCHING_SIGNATURE', ['KEY_MISMATCH']],
      'OQ-13': ['verified', undefined, undefined],
      'OQ-14': ['refused', 'ATTESTATION_NOT_VERIFIED', undefined],
      'OQ-15': ['verified', undefined, undefined],
      'OQ-16': ['verified', undefined, undefined],
      'OQ-17': ['verified', undefined, undefined],
    });
  });

  it('covers what the gate does, each decision recorded in the audit trail', () => {
    const byId = Object.fromEntries(report.cases.map((c) => [c.id, c]));
    expect(byId['OQ-09']?.observation?.digest).toBe(fixtureDigest('bundle-signed'));
    expect(byId['OQ-10']?.observation?.digest).toBe(fixtureDigest('bundle-signed'));
    expect(byId['OQ-11']?.observation?.digest).toBe(fixtureDigest('signed-key'));
    expect(byId['OQ-13']?.observation?.digest).toBe(fixtureDigest('bundle-multi'));
    expect(byId['OQ-15']?.observation?.digest).toBe('sha256:1a2c35d5c951c42e16f392e11055694cf7fcfb42d12ef1eb78f35b88b5d62074');
    expect(byId['OQ-16']?.observation?.cached).toBe(true);
    expect(report.cases.slice(0, 16).map((c) => c.audit?.decision)).toEqual(report.cases.slice(0, 16).map((c) => (c.observation?.outcome === 'verified' ? 'verified' : c.id === 'OQ-07' ? 'unavailable' : 'rejected')));
    expect(report.auditTrail).toMatchObject({ records: 17, intact: true });
    expect(report.scope.join(' ')).toContain('TEST Sigstore');
  });

  it('pins the signed image to its fixture digest over HTTP on loopback', () => {
    const signed = report.cases[0];
    expect(signed?.observation?.digest).toBe(fixtureDigest('signed'));
    expect(signed?.observation?.reference).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/qualification/oq-01@${fixtureDigest('signed')}$`));
  });

  it('serves the modified image under the signed tag with another digest', () => {
    const modified = report.cases.find((c) => c.id === 'OQ-05');
    expect(modified?.observation?.message).toMatch(/qualification\/oq-05:signed \(sha256:[0-9a-f]{64}\)/);
    expect(modified?.observation?.message).not.toContain(fixtureDigest('signed'));
  });

  it('has the versioned report structure', async () => {
    const trustRoot = await readFile(TEST_TRUSTED_ROOT);
    expect(report).toMatchObject({
      mediaType: QUALIFICATION_REPORT_MEDIA_TYPE,
      protocol: { name: expect.any(String) as unknown, version: 2, document: 'docs/qualification.md' },
      host: expect.any(String) as unknown,
      platform: `${process.platform}/${process.arch}`,
      versions: { sigverify: VERSION, node: process.versions.node, '@sigstore/verify': expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown },
      trustRoot: { source: expect.stringContaining('trusted_root.json') as unknown, sha256: createHash('sha256').update(trustRoot).digest('hex') },
    });
    expect(new Date(report.date).toISOString()).toBe(report.date);
    for (const c of report.cases) {
      expect(c.id).toMatch(/^OQ-\d\d$/);
      expect(c.title.length * c.description.length).toBeGreaterThan(0);
      expect(c.passed).toBe(true);
      expect(c.expectation.outcome).toMatch(/^(verified|refused)$/);
      expect(c.observation?.message.length).toBeGreaterThan(0);
      expect(c.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it("uses a TUF repository that is expired in its timestamp only (accepted with the unsafe opt-out, it serves the kit's trusted root)", async () => {
    const cacheDir = join(tmp, 'tuf-cache');
    const root = await trustSourceFrom({
      source: 'tuf-directory',
      path: join(FIXTURES, 'qualify', 'tuf-expired'),
      root: join(FIXTURES, 'qualify', 'tuf-expired-root.json'),
      cacheDir,
      allowExpiredMetadataUnsafe: true,
    }).load();
    expect(root.digest).toBe(`sha256:${report.trustRoot.sha256}`);
    expect(root.expiredMetadataAccepted).toEqual([{ role: 'timestamp', version: 1, expires: '2026-01-02T00:00:00Z' }]);
  });

  it('refuses a missing qualification kit', async () => {
    await expectCode(runQualification({ kitDirectory: join(tmp, 'no-kit') }), 'QUALIFICATION_KIT_INVALID');
  });

  it('reports FAIL when the kit no longer behaves as expected (the signed image lost its signature)', async () => {
    const kit = join(tmp, 'damaged-kit');
    await cp(FIXTURES, kit, { recursive: true, filter: (src) => !src.startsWith(join(FIXTURES, 'private')) && !src.startsWith(join(FIXTURES, 'keys')) });
    const index = join(kit, 'layout', 'index.json');
    const layout = JSON.parse(await readFile(index, 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
    const signatureTag = `sha256-${fixtureDigest('signed').slice('sha256:'.length)}.sig`;
    layout.manifests = layout.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== signatureTag);
    await writeFile(index, JSON.stringify(layout));

    const damaged = await runQualification({ kitDirectory: kit });
    expect(damaged.passed).toBe(false);
    const byId = Object.fromEntries(damaged.cases.map((c) => [c.id, c]));
    expect(byId['OQ-01']).toMatchObject({ passed: false, observation: { outcome: 'refused', code: 'NO_SIGNATURES' } });
    // The cases that modify the signature cannot even be set up.
    expect(byId['OQ-06']).toMatchObject({ passed: false, observation: { outcome: 'error', code: 'QUALIFICATION_KIT_INVALID' } });
    expect(byId['OQ-02']?.passed).toBe(true);
    expect(renderQualificationHtml(damaged)).toContain('FAILED');
  });
});

describe('matching an observation against its expectation', () => {
  it('needs the same code, and every signature rejected for the expected reason', () => {
    const expected = { outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reason: 'IDENTITY_MISMATCH' } as const;
    expect(matches(expected, { outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reasons: ['IDENTITY_MISMATCH'], message: '' })).toBe(true);
    expect(matches(expected, { outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reasons: ['IDENTITY_MISMATCH', 'SIGNATURE_INVALID'], message: '' })).toBe(false);
    expect(matches(expected, { outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', message: '' })).toBe(false);
    expect(matches(expected, { outcome: 'refused', code: 'NO_SIGNATURES', message: '' })).toBe(false);
    expect(matches(expected, { outcome: 'error', code: 'INTERNAL_ERROR', message: '' })).toBe(false);
  });

  it('needs a verified image pinned to the expected digest', () => {
    const expected = { outcome: 'verified', digest: fixtureDigest('signed') } as const;
    expect(matches(expected, { outcome: 'verified', digest: fixtureDigest('signed'), message: '' })).toBe(true);
    expect(matches(expected, { outcome: 'verified', digest: fixtureDigest('unsigned'), message: '' })).toBe(false);
    expect(matches(expected, { outcome: 'refused', code: 'NO_SIGNATURES', message: '' })).toBe(false);
  });
});

describe('the report files', () => {
  it('writes report.json and a self-contained report.html that names every case', async () => {
    const written = await writeQualificationReport(report, join(tmp, 'written'));
    expect(JSON.parse(await readFile(written.json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
    const html = await readFile(written.html, 'utf8');
    for (const id of CASE_IDS) expect(html).toContain(`<code>${id}</code>`);
    expect(html.match(/>PASS</g)).toHaveLength(17);
    expect(html).toContain(createHash('sha256').update(await readFile(written.json)).digest('hex'));
    expect(html).toContain('@page');
    expect(html).not.toContain('>FAIL<');
    expect(html).toContain(report.trustRoot.sha256);
    expect(html).toContain(`${VERSION} / ${process.versions.node}`);
    expect(html).toContain('<style>');
    expect(externalReferences(html)).toEqual([]);
  });

  it('never overwrites a report', async () => {
    const dir = join(tmp, 'twice');
    await writeQualificationReport(report, dir);
    await expectCode(writeQualificationReport(report, dir), 'USAGE');
  });

  it('refuses a directory it cannot create', async () => {
    const file = join(tmp, 'a-file');
    await writeFile(file, '');
    await expectCode(writeQualificationReport(report, join(file, 'sub')), 'QUALIFICATION_REPORT_UNWRITABLE');
  });

  it('escapes every text in the HTML', () => {
    const hostile = '<script>alert("x")</script><img src=https://evil.test/x.png> & \'q\'';
    const cases = report.cases.map((c, i) => (i === 0 && c.observation !== undefined ? { ...c, title: hostile, observation: { ...c.observation, message: hostile, code: hostile } } : c));
    const html = renderQualificationHtml({ ...report, host: hostile, cases });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=https://evil.test/x.png&gt; &amp; &#39;q&#39;');
    expect(externalReferences(html)).toEqual([]);
  });
});

describe('sigverify qualify', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t) } };
  };

  it('prints one line per case and the summary, writes both files and exits 0', async () => {
    const { out, io: streams } = io();
    const dir = join(tmp, 'cli-text');
    expect(await runQualify(['--output-dir', dir], streams)).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(18);
    CASE_IDS.forEach((id, i) => {
      expect(lines[i]).toMatch(new RegExp(`^PASS +${id} `));
    });
    expect(lines[17]).toMatch(/^Operational qualification PASSED: 17 of 17 cases passed; report OQ-/);
    expect(out.stderr).toContain(join(dir, 'report.html'));
    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as QualificationReport;
    expect(json.passed).toBe(true);
  });

  it('prints the report with --output json', async () => {
    const { out, io: streams } = io();
    expect(await runQualify(['--output-dir', join(tmp, 'cli-json'), '--output', 'json'], streams)).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ mediaType: QUALIFICATION_REPORT_MEDIA_TYPE, passed: true, summary: { total: 17, passed: 17 } });
  });

  it.each([[['--bogus']], [['--output', 'xml']], [['extra']]])('exits 2 on usage errors: %j', async (argv) => {
    const { out, io: streams } = io();
    expect(await runQualify(argv, streams)).toBe(2);
    expect(out.stderr).toContain('[USAGE]');
  });

  it('runs as a subprocess of the built CLI', async () => {
    const dir = join(tmp, 'cli-subprocess');
    const run = await runCli(['qualify', '--output-dir', dir]);
    expect(run.stderr).not.toContain('Unknown');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Operational qualification PASSED: 17 of 17 cases passed/);
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    for (const id of CASE_IDS) expect(html).toContain(id);
  });
});
