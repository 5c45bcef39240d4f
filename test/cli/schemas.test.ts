import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runCli } from '../helpers/cli.ts';
import { COSIGN_PUB, FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, REPO_ROOT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { TestTufRepository, serveRepository } from '../helpers/tuf/index.ts';

/**
 * The machine-readable contract: every JSON document the CLI prints names its
 * media type, and validates against the JSON Schema shipped for it in
 * `schemas/` (draft 2020-12). The documents here are real CLI output.
 */
const SCHEMAS = join(REPO_ROOT, 'schemas');
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addFormat('date-time', (value: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) && !Number.isNaN(Date.parse(value)));
const byMediaType = new Map<string, string>();

let work: string;
beforeAll(async () => {
  for (const file of (await readdir(SCHEMAS)).filter((f) => f.endsWith('.json'))) {
    const schema = JSON.parse(await readFile(join(SCHEMAS, file), 'utf8')) as { $id: string; title: string };
    ajv.addSchema(schema);
    byMediaType.set(schema.title, schema.$id);
  }
  work = await mkdtemp(join(tmpdir(), 'sigverify-schemas-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The document on stdout, checked against the schema its mediaType names; returns it. */
function documentOf(run: CliRun): Record<string, unknown> {
  const document = JSON.parse(run.stdout) as Record<string, unknown>;
  const mediaType = document['mediaType'];
  expect(typeof mediaType).toBe('string');
  const id = byMediaType.get(mediaType as string);
  expect(id, `a schema for ${String(mediaType)}`).toBeDefined();
  const validate = ajv.getSchema(id as string);
  expect(validate?.(document), JSON.stringify(validate?.errors, null, 2)).toBe(true);
  return document;
}

const SIGNED = `oci:${FIXTURE_LAYOUT}:signed`;
const KEYLESS = ['--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', TEST_TRUSTED_ROOT];

describe('JSON Schemas (schemas/)', () => {
  it('every schema is draft 2020-12, named after its media type, and compiles', async () => {
    const files = (await readdir(SCHEMAS)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBe(byMediaType.size);
    for (const file of files) {
      const schema = JSON.parse(await readFile(join(SCHEMAS, file), 'utf8')) as { $schema: string; title: string };
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      const [, name, version] = /^application\/vnd\.sigverify\.(.+)\+json;version=(\d+)$/.exec(schema.title) ?? [];
      expect(file).toBe(`${name ?? ''}.v${version ?? ''}.json`);
      expect(ajv.getSchema(byMediaType.get(schema.title) ?? '')).toBeTypeOf('function');
    }
  });

  it('verify --output json: a verified result (with pinnedReference)', async () => {
    const run = await runCli(['verify', SIGNED, ...KEYLESS, '-o', 'json']);
    expect(run.code).toBe(0);
    expect(documentOf(run)).toMatchObject({
      verified: true,
      pinnedReference: expect.stringMatching(/@sha256:/) as unknown,
      signatures: [{ originLocation: { kind: 'signature-manifest', location: expect.stringMatching(/^oci:.*@sha256:[0-9a-f]{64}$/) as unknown } }],
    });
  });

  it('verify --output json: a failed result carries the error and no pinnedReference', async () => {
    const run = await runCli(['verify', SIGNED, ...KEYLESS.slice(2), '--certificate-identity', 'https://example.com/someone-else', '-o', 'json']);
    expect(run.code).toBe(1);
    const document = documentOf(run);
    expect(document).toMatchObject({ verified: false, error: { code: 'NO_MATCHING_SIGNATURE' } });
    expect(document).not.toHaveProperty('pinnedReference');
  });

  it('verify-attestation --output json: a verified attestation result', async () => {
    const run = await runCli(['verify-attestation', `oci:${FIXTURE_LAYOUT}:bundle-provenance`, '--type', 'slsaprovenance1', ...KEYLESS, '-o', 'json']);
    expect(run.code).toBe(0);
    expect(documentOf(run)).toMatchObject({ verified: true, purpose: { kind: 'attestation' }, signatures: [{ originLocation: { kind: 'referrer' } }] });
  });

  it('a usage error with --output json: the error document (exit 2)', async () => {
    const missing = await runCli(['verify', SIGNED, '--key', join(work, 'missing.pub'), '-o', 'json']);
    expect(missing.code).toBe(2);
    expect(documentOf(missing)).toMatchObject({ verified: false, error: { code: 'USAGE' } });
    const unknown = await runCli(['verify', SIGNED, '--no-such-flag', '--output=json']);
    expect(unknown.code).toBe(2);
    expect(documentOf(unknown)).toMatchObject({ error: { code: 'USAGE' } });
  });

  it('check-module, check-config and audit --output json: gate result, refusal, table, audit verification and summary', async () => {
    const log = join(work, 'audit.jsonl');
    const module = (name: string, identity: string): Promise<string> => {
      const file = join(work, `${name}.json`);
      return writeFile(file, JSON.stringify({ module_name: name, docker_tag: SIGNED, signature_certificate_identity: identity, signature_certificate_oidc_issuer: FIXTURE_ISSUER, trust: { source: 'trusted-root', path: TEST_TRUSTED_ROOT } })).then(() => file);
    };
    const good = await module('good', FIXTURE_IDENTITY);
    const bad = await module('bad', 'https://example.com/someone-else');
    const gateFlags = ['--allow-test-trust-root-unsafe', '--audit-log', log, '-o', 'json'];

    const passed = await runCli(['check-module', good, ...gateFlags]);
    expect(passed.code).toBe(0);
    expect(documentOf(passed)).toMatchObject({ decision: 'verified' });

    const refused = await runCli(['check-module', bad, ...gateFlags]);
    expect(refused.code).toBe(1);
    const refusal = documentOf(refused);
    expect(refusal).toMatchObject({ decision: 'rejected', error: { code: 'NO_MATCHING_SIGNATURE' }, result: { verified: false } });
    expect(refusal['result']).not.toHaveProperty('pinnedReference');

    const config = join(work, 'config.json');
    await writeFile(config, JSON.stringify({ modules: { good: JSON.parse(await readFile(good, 'utf8')) as unknown, bad: JSON.parse(await readFile(bad, 'utf8')) as unknown } }));
    const table = await runCli(['check-config', config, '--allow-test-trust-root-unsafe', '-o', 'json']);
    expect(table.code).toBe(1);
    expect(documentOf(table)).toMatchObject({ ok: false });

    const chain = await runCli(['audit', 'verify', log, '-o', 'json']);
    expect(chain.code).toBe(0);
    expect(documentOf(chain)).toMatchObject({ ok: true, records: 2 });
    const summary = await runCli(['audit', 'summary', log, '-o', 'json']);
    expect(summary.code).toBe(0);
    expect(documentOf(summary)).toMatchObject({ records: 2 });

    const rotated = await runCli(['audit', 'rotate', log, '--to', join(work, 'segment-1.jsonl'), '-o', 'json']);
    expect(rotated.code).toBe(0);
    const rotation = documentOf(rotated);
    expect(rotation).toMatchObject({ head: { seq: 2 }, checkpoint: { seq: 3, reason: 'rotation' } });
    const segment = await runCli(['audit', 'verify', log, '--continues-from', rotation['continuesFrom'] as string, '-o', 'json']);
    expect(segment.code).toBe(0);
    expect(documentOf(segment)).toMatchObject({ ok: true, records: 1, tail: { seq: 3 } });

    // PQ over both segments (no monitor report: a finding, exit 1).
    const pq = await runCli(['qualify', 'pq', '--audit-log', join(work, 'segment-1.jsonl'), '--audit-log', log, '--from', '2000-01-01', '--to', '2100-01-01', '--output-dir', join(work, 'pq'), '-o', 'json']);
    expect(pq.code).toBe(1);
    expect(documentOf(pq)).toMatchObject({ decisions: 2, passed: false, auditTrails: [{ intact: true }, { intact: true }] });
  });

  it('check-module refusing a missing policy file: the error document (exit 2)', async () => {
    const run = await runCli(['check-module', join(work, 'missing.json'), '-o', 'json']);
    expect(run.code).toBe(2);
    expect(documentOf(run)).toMatchObject({ error: { code: 'USAGE' } });
  });

  it('trust status --output json: the trust status (a private TUF mirror on loopback)', async () => {
    const repo = new TestTufRepository();
    repo.setTarget('trusted_root.json', await readFile(TEST_TRUSTED_ROOT));
    repo.publish();
    await writeFile(join(work, 'root.json'), repo.rootJson(1));
    const served = await serveRepository(repo);
    try {
      const cache = join(work, 'tuf');
      expect((await runCli(['trust', 'init', '--mirror', served.url, '--root', join(work, 'root.json'), '--tuf-cache', cache])).code).toBe(0);
      const run = await runCli(['trust', 'status', '--tuf-cache', cache, '-o', 'json']);
      expect(run.code).toBe(0);
      expect(documentOf(run)).toMatchObject({ tuf: { initialised: true } });
    } finally {
      await served.close();
    }
  });

  it('doctor --output json: the doctor report', async () => {
    const run = await runCli(['doctor', SIGNED, '--trusted-root', TEST_TRUSTED_ROOT, '-o', 'json']);
    expect(run.code).toBe(0);
    expect(documentOf(run)).toMatchObject({ ok: true });
  });

  it('qualify --output json: the qualification report', async () => {
    const run = await runCli(['qualify', '--output-dir', join(work, 'oq'), '-o', 'json']);
    expect(run.code).toBe(0);
    expect(documentOf(run)).toMatchObject({ passed: true });
  });

  it('key mode: the result names the key, not an identity', async () => {
    const run = await runCli(['verify', `oci:${FIXTURE_LAYOUT}:signed-key`, '--key', COSIGN_PUB, '--trusted-root', TEST_TRUSTED_ROOT, '-o', 'json']);
    expect(run.code).toBe(0);
    expect(documentOf(run)).toMatchObject({ policy: { mode: 'key' } });
  });
});
