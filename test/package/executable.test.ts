import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runProcess } from '../helpers/cli.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, REPO_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { type RunningRegistry, startRegistry } from '../helpers/registry/docker-registry.ts';
import { pushLayoutAll } from '../helpers/registry/push.ts';
import { EXECUTABLE, VERSION, built, pathWithoutNode } from './built.ts';

/**
 * The single executable (packaging/sea.ts) run as an operator would: no node
 * on PATH, from the repository root, against the committed fixtures and
 * Debian's docker-registry. Everything it reads of its own (package.json, the
 * qualification kit, its dependencies' versions) comes from inside it.
 */
const KEYLESS = ['--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', 'fixtures/trust/trusted_root.json'];

describe.skipIf(!built(EXECUTABLE, 'test/package/executable'))('dist-bin/sigverify-linux-x64', () => {
  const path = pathWithoutNode();
  const run = (args: readonly string[]): Promise<CliRun> => runProcess(EXECUTABLE, args, { PATH: path });
  afterAll(() => { rmSync(path, { recursive: true, force: true }); });

  it('matches its SHA256SUMS line', () => {
    const sums = readFileSync(join(REPO_ROOT, 'dist-bin', 'SHA256SUMS'), 'utf8');
    const digest = createHash('sha256').update(readFileSync(EXECUTABLE)).digest('hex');
    expect(sums).toBe(`${digest}  sigverify-linux-x64\n`);
  });

  it('prints the package version, with no node on PATH', async () => {
    const result = await run(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `sigverify ${VERSION}\n`, stderr: '' });
  });

  it('verifies the signed fixture image and prints the pinned reference (exit 0)', async () => {
    const result = await run(['verify', 'oci:fixtures/layout:signed', ...KEYLESS]);
    expect(result.stderr).toContain('PASSED');
    expect(result).toMatchObject({ code: 0, stdout: `oci:fixtures/layout@${fixtureDigest('signed')}\n` });
  });

  it('refuses the unsigned fixture image (exit 1, NO_SIGNATURES)', async () => {
    const result = await run(['verify', 'oci:fixtures/layout:unsigned', ...KEYLESS, '--output', 'json']);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe('NO_SIGNATURES');
  });

  it('gates the examples/python module policy (check-module, JSON)', async () => {
    const result = await run(['check-module', 'examples/python/fixture-module.json', '--allow-test-trust-root-unsafe', '--output', 'json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'verified', reference: `oci:fixtures/layout@${fixtureDigest('signed')}` });
  });

  it('reports the versions of the libraries bundled into it (doctor)', async () => {
    const result = await run(['doctor', '--trusted-root', 'fixtures/trust/trusted_root.json', '--output', 'json']);
    const versions = (JSON.parse(result.stdout) as { checks: { name: string; detail: string }[] }).checks.find((c) => c.name === 'versions');
    for (const name of ['@sigstore/verify', '@sigstore/tuf', 'tuf-js']) {
      const installed = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
      expect(versions?.detail).toContain(`${name} ${installed}`);
    }
  });

  it('runs the operational qualification from the kit it carries (qualify)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'sigverify-qualify-'));
    try {
      const result = await run(['qualify', '--output-dir', out, '--output', 'json']);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as { passed: boolean; kit: string };
      expect(report).toMatchObject({ passed: true, kit: `${EXECUTABLE}/fixtures` });
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  describe('against docker-registry', () => {
    let registry: RunningRegistry | undefined;
    beforeAll(async () => {
      registry = await startRegistry();
      await pushLayoutAll(registry.url, 'fixtures', join(REPO_ROOT, 'fixtures', 'layout'));
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it('verifies the signed image by tag and returns it pinned to its digest', async () => {
      const host = registry?.host ?? '';
      const result = await run(['verify', `${host}/fixtures:signed`, ...KEYLESS]);
      expect(result).toMatchObject({ code: 0, stdout: `${host}/fixtures@${fixtureDigest('signed')}\n` });
    });

    it('refuses a wrong identity (exit 1, IDENTITY_MISMATCH)', async () => {
      const args = ['--certificate-identity', 'https://example.com/other', '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', 'fixtures/trust/trusted_root.json'];
      const result = await run(['verify', `${registry?.host ?? ''}/fixtures:signed`, ...args, '--output', 'json']);
      expect(result.code).toBe(1);
      const document = JSON.parse(result.stdout) as { error: { code: string }; signatures: { reason?: { code: string } }[] };
      expect(document.error.code).toBe('NO_MATCHING_SIGNATURE');
      expect(document.signatures.map((s) => s.reason?.code)).toContain('IDENTITY_MISMATCH');
    });
  });
});
