import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/cli/doctor.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURE_LAYOUT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { type RunningRegistry, startRegistry, unusedLoopbackAddress } from '../helpers/registry/docker-registry.ts';
import { pushLayoutImage } from '../helpers/registry/push.ts';

let registry: RunningRegistry | undefined;
beforeAll(async () => {
  registry = await startRegistry();
  await pushLayoutImage(registry.url, 'fixtures', FIXTURE_LAYOUT, 'signed');
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
