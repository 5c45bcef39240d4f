import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../../src/audit/index.ts';
import { type QualificationReport, runSiteQualification } from '../../src/qualify/index.ts';
import { staticCredentials } from '../../src/registry/index.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { type RunningRegistry, startRegistry } from '../helpers/registry/docker-registry.ts';
import { pushLayoutAll } from '../helpers/registry/push.ts';

/**
 * `qualify --site` against the real Debian docker-registry: the site's images
 * in one registry; a scratch repository the protocol may write to in the same
 * registry, or in a second registry in read-only mode (no write access: the
 * write cases are NOT EXECUTED, never passed). The fixtures are signed by
 * sigverify's test Sigstore, so the runs allow the test trust root, which
 * the report records as a deviation.
 */
let site: RunningRegistry | undefined;
let readOnly: RunningRegistry | undefined;
let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sigverify-qualify-site-'));
  site = await startRegistry();
  readOnly = await startRegistry({ readOnly: true });
  await pushLayoutAll(site.url, 'radiology/brain-seg', FIXTURE_LAYOUT);
  await writeFile(join(tmp, 'brain-seg.json'), JSON.stringify({
    module_name: 'brain-seg',
    docker_tag: `${site.host}/radiology/brain-seg:signed`,
    require_signature: true,
    signature_certificate_identity: FIXTURE_IDENTITY,
    signature_certificate_oidc_issuer: FIXTURE_ISSUER,
  }));
}, 120_000);
afterAll(async () => {
  await site?.stop();
  await readOnly?.stop();
  await rm(tmp, { recursive: true, force: true });
});

async function siteFile(name: string, members: Record<string, unknown>): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, JSON.stringify({
    site: 'St. Example Radiology',
    processor: 'radiology-processor-1',
    module: 'brain-seg.json',
    trust: { source: 'trusted-root', path: TEST_TRUSTED_ROOT },
    ...members,
  }));
  return path;
}

const statuses = (report: QualificationReport) => Object.fromEntries(report.cases.map((c) => [c.id, c.status]));
const run = (path: string) => runSiteQualification(path, { credentials: staticCredentials({}), allowTestTrustRootUnsafe: true, operator: 'A. Engineer' });

describe('qualify --site against a real registry', () => {
  it('with write access to the scratch repository: every case runs and passes; each decision is in the site audit trail', async () => {
    const audit = join(tmp, 'audit-write.jsonl');
    const report = await run(await siteFile('site-write.json', { scratch_repository: `${site?.host ?? ''}/qualification/scratch`, audit_log: 'audit-write.jsonl' }));
    expect(statuses(report)).toEqual({ 'OQS-01': 'passed', 'OQS-02': 'passed', 'OQS-03': 'passed', 'OQS-04': 'passed', 'OQS-05': 'passed', 'OQS-06': 'passed', 'OQS-07': 'passed', 'OQS-08': 'passed' });
    const byId = Object.fromEntries(report.cases.map((c) => [c.id, c]));
    expect(byId['OQS-01']?.observation?.digest).toBe(fixtureDigest('signed'));
    expect(byId['OQS-05']?.observation?.reference).toMatch(new RegExp(`/qualification/scratch@${fixtureDigest('signed')}$`));
    // The modified image under the test tag has another digest, and no signature.
    expect(byId['OQS-06']?.observation).toMatchObject({ outcome: 'refused', code: 'NO_SIGNATURES' });
    expect(byId['OQS-06']?.observation?.message).not.toContain(fixtureDigest('signed'));
    expect(byId['OQS-07']?.observation).toMatchObject({ outcome: 'refused', code: 'NO_MATCHING_SIGNATURE', reasons: ['PAYLOAD_DIGEST_MISMATCH'] });
    expect(report).toMatchObject({ passed: true, summary: { total: 8, passed: 8, notExecuted: 0 }, site: { name: 'St. Example Radiology', processor: 'radiology-processor-1', operator: 'A. Engineer' } });
    expect(report.reportId).toMatch(/^OQS-/);
    expect(report.deviations.map((d) => d.text).join(' ')).toContain('test trust root was allowed');

    const records = (await readFile(audit, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r['decision'])).toEqual(['verified', 'rejected', 'rejected', 'rejected', 'verified', 'rejected', 'rejected']);
    for (const r of records) expect(r).toMatchObject({ host: hostname(), processor: 'radiology-processor-1', trust: { location: TEST_TRUSTED_ROOT } });
    expect((await verifyAuditLog(audit)).ok).toBe(true);
  }, 120_000);

  it('without write access (a read-only registry): the write cases are NOT EXECUTED, listed as deviations, never passed', async () => {
    const report = await run(await siteFile('site-read-only.json', {
      scratch_repository: `${readOnly?.host ?? ''}/qualification/scratch`,
      unsigned_image: `${site?.host ?? ''}/radiology/brain-seg:unsigned`,
    }));
    expect(statuses(report)).toEqual({ 'OQS-01': 'passed', 'OQS-02': 'passed', 'OQS-03': 'passed', 'OQS-04': 'passed', 'OQS-05': 'not-executed', 'OQS-06': 'not-executed', 'OQS-07': 'not-executed', 'OQS-08': 'passed' });
    expect(report.summary).toEqual({ total: 8, passed: 5, failed: 0, notExecuted: 3 });
    for (const id of ['OQS-05', 'OQS-06', 'OQS-07']) {
      const c = report.cases.find((x) => x.id === id);
      expect(c).toMatchObject({ passed: false, notExecuted: expect.stringContaining('refuses writes') as unknown });
      expect(c).not.toHaveProperty('observation');
      expect(report.deviations).toContainEqual({ case: id, text: expect.stringContaining('not executed') as unknown });
    }
  }, 120_000);

  it('as the CLI: NOT EXECUTED lines, exit 3 (incomplete, though no case failed), the report written', async () => {
    const path = await siteFile('site-cli.json', { scratch_repository: `${readOnly?.host ?? ''}/qualification/scratch` });
    const out = join(tmp, 'cli-report');
    const result = await runCli(['qualify', '--site', path, '--allow-test-trust-root-unsafe', '--operator', 'A. Engineer', '--output-dir', out]);
    expect(result.stderr).toContain('report.html');
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/^PASS +OQS-01 /m);
    // No unsigned image and no write access: OQS-02 cannot run either.
    expect(result.stdout).toMatch(/^NOT EXECUTED +OQS-02 /m);
    expect(result.stdout).toMatch(/^NOT EXECUTED +OQS-06 /m);
    expect(result.stdout).toMatch(/Site operational qualification PASSED WITH DEVIATIONS: 4 of 8 cases passed, 4 not executed/);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('NOT EXECUTED');
  }, 120_000);
});
