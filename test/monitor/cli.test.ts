import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';
import { FakeRekorV1, FakeRekorV2, type Fixture, ISSUER, WATCHED, createFixture, signArtifact, v1Body, v2Body } from './fake-logs.ts';

/**
 * `sigverify log audit` as a site runs it: the built CLI against fake logs
 * served over loopback HTTP; exit codes, the report (validated against its
 * schema), the audit-trail record.
 */
let fx: Fixture;
const servers: Server[] = [];
let v1Url: string;
let v2Url: string;
let approved: string;
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addFormat('date-time', (value: string) => !Number.isNaN(Date.parse(value)));

async function serve(handle: FakeRekorV1['handle']): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const response = await handle(url, chunks.length === 0 ? undefined : { body: Buffer.concat(chunks).toString() });
      if (response === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(response.status, { 'content-type': response.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(Buffer.from(await response.arrayBuffer()));
    })();
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

beforeAll(async () => {
  fx = await createFixture();
  const v1 = new FakeRekorV1(fx);
  const v2 = new FakeRekorV2(fx);
  const ok = signArtifact(fx);
  const stray = signArtifact(fx);
  for (const s of [ok, stray]) {
    v1.add(v1Body(s));
    v2.add(v2Body(s));
  }
  approved = join(fx.dir, 'approved.txt');
  await writeFile(approved, `# approved\n${ok.digest}\n`, { mode: 0o600 });
  v1Url = await serve(v1.handle);
  v2Url = await serve(v2.handle);
  ajv.addSchema(JSON.parse(await readFile(join(REPO_ROOT, 'schemas', 'log-monitor-report.v1.json'), 'utf8')) as object);
});
afterAll(() => {
  for (const s of servers) s.close();
});

const args = (state: string, ...more: string[]): string[] => [
  'log', 'audit', '--rekor-url', v1Url, '--rekor-v2-url', v2Url, '--certificate-identity', WATCHED, '--certificate-oidc-issuer', ISSUER,
  '--trusted-root', fx.trustedRootPath, '--approved', approved, '--state-dir', state, ...more,
];
const validate = (document: unknown): void => {
  const check = ajv.getSchema('urn:sigverify:schema:log-monitor-report:1');
  expect(check?.(document), JSON.stringify(check?.errors)).toBe(true);
};

describe('sigverify log audit (CLI)', () => {
  it('first run: the planted entry on each log, exit 1; report and audit record written; then exit 0 when nothing is new', async () => {
    const state = join(fx.dir, 'state-cli');
    const trail = join(fx.dir, 'audit.jsonl');
    const report = join(fx.dir, 'report.json');
    const first = await runCli(args(state, '--audit-log', trail, '--report', report, '-o', 'json'));
    expect(first.code, first.stderr).toBe(1);
    const document = JSON.parse(first.stdout) as { outcome: string; unexpected: { logIndex: number }[] };
    validate(document);
    expect(document.outcome).toBe('unexpected');
    expect(document.unexpected.map((e) => e.logIndex)).toEqual([1, 1]);
    expect(first.stderr).toContain('UNEXPECTED (2)');
    const written = await readFile(report, 'utf8');
    expect(written).toBe(first.stdout);
    const lines = (await readFile(trail, 'utf8')).trim().split('\n');
    const record = JSON.parse(lines.at(-1) as string) as { decision: string; monitor: { outcome: string; reportSha256: string; unexpectedCount: number } };
    expect(record).toMatchObject({ decision: 'log-monitor', monitor: { outcome: 'unexpected', unexpectedCount: 2, reportSha256: createHash('sha256').update(written).digest('hex') } });
    expect((await runCli(['audit', 'verify', trail])).code).toBe(0);
    expect(await readdir(state)).toHaveLength(2);

    const second = await runCli(args(state, '--audit-log', trail, '-o', 'json'));
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout) as { outcome: string; logs: { consistency: string }[] };
    validate(again);
    expect(again).toMatchObject({ outcome: 'clean', logs: [{ consistency: 'verified' }, { consistency: 'verified' }] });
  });

  it('a log that cannot be reached: exit 3, undecided', async () => {
    const run = await runCli(['log', 'audit', '--rekor-v2-url', 'http://127.0.0.1:9', '--certificate-identity', WATCHED, '--certificate-oidc-issuer', ISSUER,
      '--trusted-root', fx.trustedRootPath, '--state-dir', join(fx.dir, 'state-down'), '-o', 'json']);
    expect(run.code, run.stderr).toBe(3);
    const document = JSON.parse(run.stdout) as { outcome: string; logs: { error?: { code: string } }[] };
    validate(document);
    expect(document).toMatchObject({ outcome: 'undecided', logs: [{ error: { code: 'REGISTRY_UNREACHABLE' } }] });
  });

  it('usage errors: exit 2', async () => {
    expect((await runCli(['log', 'audit', '--certificate-identity', WATCHED, '--certificate-oidc-issuer', ISSUER])).code).toBe(2);
    expect((await runCli(['log', 'audit', '--rekor-url', 'http://rekor.example.com', '--certificate-identity', WATCHED, '--certificate-oidc-issuer', ISSUER, '--trusted-root', fx.trustedRootPath])).code).toBe(2);
    expect((await runCli(['log', 'frobnicate'])).code).toBe(2);
  });
});
