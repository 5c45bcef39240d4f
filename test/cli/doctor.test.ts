import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor, trustOriginOf } from '../../src/cli/doctor.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';

const FIXTURE_LAYOUT_UNSIGNED = `oci:${FIXTURE_LAYOUT}:unsigned`;
import { type RunningRegistry, startRegistry, unusedLoopbackAddress } from '../helpers/registry/docker-registry.ts';
import { pushLayoutImage } from '../helpers/registry/push.ts';

let registry: RunningRegistry | undefined;
beforeAll(async () => {
  registry = await startRegistry();
  await pushLayoutImage(registry.url, 'fixtures', FIXTURE_LAYOUT, 'signed');
  // Its signature, for doctor --module.
  await pushLayoutImage(registry.url, 'fixtures', FIXTURE_LAYOUT, `sha256-${fixtureDigest('signed').slice('sha256:'.length)}.sig`);
});
afterAll(async () => {
  await registry?.stop();
});

const trust = () => trustedRootFile(TEST_TRUSTED_ROOT);
const status = (checks: { name: string; status: string }[]) => Object.fromEntries(checks.map((c) => [c.name, c.status]));

describe('sigverify doctor', () => {
  it('reports every check ok for a reachable image and a valid trust root', async () => {
    const checks = await runDoctor({ image: `${registry?.host ?? ''}/fixtures:signed`, trust: trust(), allowHttpRegistry: false, now: () => new Date() });
    expect(status(checks)).toEqual({ runtime: 'ok', versions: 'ok', trust: 'ok', clock: 'ok', credentials: 'ok', registry: 'ok', 'clock-registry': 'ok' });
  });

  it('fails a registry that is down, with a fix', async () => {
    const checks = await runDoctor({ image: `${await unusedLoopbackAddress()}/fixtures:signed`, trust: trust(), allowHttpRegistry: false, now: () => new Date() });
    const registryCheck = checks.find((c) => c.name === 'registry');
    expect(registryCheck).toMatchObject({ status: 'fail', detail: expect.stringContaining('REGISTRY_UNREACHABLE') as unknown });
    expect(registryCheck?.fix).toBeDefined();
  });

  it('fails an unavailable trust root', async () => {
    const checks = await runDoctor({ image: undefined, trust: trustedRootFile(join(FIXTURE_LAYOUT, 'missing.json')), allowHttpRegistry: false, now: () => new Date() });
    expect(status(checks)).toMatchObject({ trust: 'fail' });
  });

  it('fails a clock set before the trust root exists', async () => {
    const checks = await runDoctor({ image: undefined, trust: trust(), allowHttpRegistry: false, now: () => new Date('2020-01-01T00:00:00Z') });
    expect(status(checks)).toMatchObject({ clock: 'fail' });
  });

  it('exits 0 when nothing fails and 1 otherwise, with a JSON report', async () => {
    const ok = await runCli(['doctor', `oci:${FIXTURE_LAYOUT}:signed`, '--trusted-root', TEST_TRUSTED_ROOT, '--output', 'json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ mediaType: 'application/vnd.sigverify.doctor-report+json;version=1', ok: true });
    const bad = await runCli(['doctor', `oci:${FIXTURE_LAYOUT}:no-such-tag`, '--trusted-root', TEST_TRUSTED_ROOT]);
    expect(bad.code).toBe(1);
  });
});

describe('sigverify doctor --module (IQ of one module)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sigverify-doctor-module-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const policy = async (name: string, members: Record<string, unknown>): Promise<string> => {
    const path = join(dir, `${name}.json`);
    await writeFile(path, JSON.stringify({ module_name: name, docker_tag: `${registry?.host ?? ''}/fixtures:signed`, require_signature: true, signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER, ...members }));
    return path;
  };
  const moduleCheck = async (path: string) => {
    const checks = await runDoctor({ image: undefined, module: path, trust: trust(), trustOrigin: { kind: 'file', path: TEST_TRUSTED_ROOT }, allowHttpRegistry: false, allowTestTrustRootUnsafe: true, now: () => new Date() });
    return { checks, module: checks.find((c) => c.name === 'module') };
  };

  it("passes when the module's image has a signature its policy accepts, and checks the image's registry too", async () => {
    const { checks, module } = await moduleCheck(await policy('ok', {}));
    expect(module).toMatchObject({ status: 'ok', detail: expect.stringContaining(`signed by ${FIXTURE_IDENTITY}`) as unknown });
    expect(status(checks)).toMatchObject({ registry: 'ok', credentials: 'ok' });
  });

  it.each([
    ['another identity', { signature_certificate_identity: 'https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main' }, 'IDENTITY_MISMATCH', /another identity/],
    ['another issuer', { signature_certificate_oidc_issuer: 'https://issuer.example' }, 'ISSUER_MISMATCH', /OIDC issuer differs/],
    ['an unsigned image', { docker_tag: FIXTURE_LAYOUT_UNSIGNED }, 'NO_SIGNATURES', /has no signature/],
    ['a missing attestation', { required_attestations: ['https://slsa.dev/provenance/v1'] }, 'ATTESTATION_NOT_VERIFIED', /required attestation/],
  ])('fails %s, with a fix that fits', async (name, members, code, fix) => {
    const { module } = await moduleCheck(await policy(name.replace(/ /g, '-'), members));
    expect(module?.status).toBe('fail');
    expect(module?.detail).toContain(code);
    expect(module?.fix).toMatch(fix);
  });

  it('offline with nothing configured: the fix suggests trust init or --trusted-root', async () => {
    const cache = join(dir, 'empty-tuf-cache');
    const checks = await runDoctor({
      image: undefined,
      trust: trustedRootFile(join(dir, 'no-trusted-root.json')),
      trustOrigin: { kind: 'default', cacheDir: cache },
      allowHttpRegistry: false,
      now: () => new Date(),
    });
    const trustCheck = checks.find((c) => c.name === 'trust');
    expect(trustCheck?.status).toBe('fail');
    expect(trustCheck?.fix).toContain('sigverify trust init');
    expect(trustCheck?.fix).toContain('--trusted-root');
    // The CLI works out the origin itself: no --trusted-root and an empty TUF cache is "nothing configured".
    expect(await trustOriginOf(undefined, cache)).toEqual({ kind: 'default', cacheDir: cache });
    expect(await trustOriginOf(TEST_TRUSTED_ROOT, cache)).toEqual({ kind: 'file', path: TEST_TRUSTED_ROOT });
  });
});
