import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COSIGN_IGNORED, COSIGN_REFUSED, parseCommand } from '../../src/cli/args.ts';
import { editDistance, nearest } from '../../src/cli/flags.ts';
import { COMMAND_HELP } from '../../src/cli/help.ts';
import { main } from '../../src/cli/main.ts';
import { parseTrustCommand } from '../../src/cli/trust-args.ts';
import { COSIGN_PUB, FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';

/** The CLI in-process, its output captured. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const errorCode = (stdout: string): unknown => (JSON.parse(stdout) as { error?: { code?: string } }).error?.code;

const SIGNED = `oci:${FIXTURE_LAYOUT}:signed`;
const KEYLESS = ['--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', TEST_TRUSTED_ROOT];

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sigverify-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('--help', () => {
  it.each(Object.keys(COMMAND_HELP))('%s --help: its own usage and examples, exit 0', async (command) => {
    for (const argv of [[command, '--help'], [command, '-h'], ['help', command]]) {
      const run = await cli(...argv);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(COMMAND_HELP[command]);
    }
  });

  it.each([['trust', 'init', '--help'], ['audit', 'verify', '--help'], ['verify', 'IMAGE', '--key', 'k.pub', '--help']])('%s … --help anywhere on the line: that command\'s help', async (...argv) => {
    const run = await cli(...argv);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(COMMAND_HELP[argv[0]]);
  });

  it('help for something that is not a command: exit 2', async () => {
    expect((await cli('help', 'frobnicate')).code).toBe(2);
  });
});

describe('unknown flags', () => {
  it.each([
    [['verify', 'img', '--certifcate-identity', 'x'], '--certificate-identity'],
    [['verify-attestation', 'img', '--typ', 'spdx'], '--type'],
    [['verify-bundle', '--bundel', 'b.json', 'f'], '--bundle'],
    [['trust', 'status', '--tuf-cach', 'd'], '--tuf-cache'],
    [['check-module', 'm.json', '--result-cach', 'd'], '--result-cache'],
    [['doctor', '--trusted-rot', 'r.json'], '--trusted-root'],
    [['audit', 'verify', 'a.jsonl', '--expect-heads', 'x'], '--expect-head'],
    [['qualify', '--output-directory', 'd'], '--output-dir'],
  ])('%j: usage error (exit 2) with "did you mean %s?"', async (argv, suggestion) => {
    const run = await cli(...argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`did you mean ${suggestion}?`);
  });

  it('no suggestion for a flag nothing like the command\'s', () => {
    expect(() => parseCommand(['verify', 'img', '--zzzzzzzzzzzzzz'], {})).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(nearest('zzzzzzzzzzzzzz', ['key', 'type'])).toBeUndefined();
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('cosign flags', () => {
  it('flags that change nothing here are accepted, one note each', () => {
    const cmd = parseCommand([
      'verify', 'img', '--key', 'k.pub', '--offline', '--rekor-url', 'https://rekor.example', '--new-bundle-format=false',
      '--experimental-oci11', '--check-claims=true', '--max-workers', '4', '--signature-digest-algorithm', 'sha256',
    ], {});
    expect(cmd).toMatchObject({ command: 'verify', image: 'img', keyPath: 'k.pub', policy: {} });
    expect((cmd as { notes: readonly string[] }).notes).toHaveLength(Object.keys(COSIGN_IGNORED).length);
  });

  it.each(Object.entries(COSIGN_REFUSED).map(([name, flag]) => [name, flag.type]))('--%s (%s) is refused with USAGE', (name, type) => {
    const argv = ['verify', 'img', '--key', 'k.pub', `--${name}`, ...(type === 'string' ? ['value'] : [])];
    expect(() => parseCommand(argv, {})).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('a refused boolean set to false asks for nothing: accepted, no note', () => {
    expect(parseCommand(['verify', 'img', '--key', 'k.pub', '--allow-insecure-registry=false', '--private-infrastructure=false'], {})).toMatchObject({ image: 'img', notes: [] });
  });

  it.each([
    [['--check-claims=false']],
    [['--signature-digest-algorithm', 'sha512']],
    [['--key', 'awskms://alias/release']],
    [['--key', 'gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k']],
    [['--key', 'pkcs11:token=t;object=o']],
  ])('%j cannot be honoured: USAGE', (extra) => {
    expect(() => parseCommand(['verify', 'img', ...extra], {})).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('--local-image DIR reads the layout oci:DIR', () => {
    expect(parseCommand(['verify', '--local-image', FIXTURE_LAYOUT, '--key', 'k.pub'], {})).toMatchObject({ image: `oci:${FIXTURE_LAYOUT}` });
    expect(parseCommand(['verify', '--local-image=true', `oci:${FIXTURE_LAYOUT}`, '--key', 'k.pub'], {})).toMatchObject({ image: `oci:${FIXTURE_LAYOUT}` });
  });

  it('a pasted cosign command line with no-op flags verifies (exit 0)', async () => {
    const run = await cli('verify', SIGNED, ...KEYLESS, '--offline=true', '--rekor-url', 'https://rekor.sigstore.dev', '--check-claims');
    expect(run.code).toBe(0);
  });
});

describe('one flag name per concept', () => {
  it('trust --cache is the deprecated spelling of --tuf-cache', () => {
    expect(parseTrustCommand(['status', '--cache', 'd'])).toMatchObject({ cacheDir: 'd', notes: [expect.any(String)] });
    expect(parseTrustCommand(['status', '--tuf-cache', 'd'])).toMatchObject({ cacheDir: 'd', notes: [] });
    expect(() => parseTrustCommand(['status', '--cache', 'a', '--tuf-cache', 'b'])).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('check-module --cache-dir/--cache-ttl still work as --result-cache/--result-cache-ttl', async () => {
    const module = join(work, 'module.json');
    await writeFile(module, JSON.stringify({ docker_tag: SIGNED, signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER, trust: { source: 'trusted-root', path: TEST_TRUSTED_ROOT } }));
    const cache = join(work, 'results');
    const run = await cli('check-module', module, '--allow-test-trust-root-unsafe', '--cache-dir', cache, '--cache-ttl', '60');
    expect(run.code).toBe(0);
    expect(existsSync(cache)).toBe(true);
    expect((await cli('check-module', module, '--cache-dir', cache, '--result-cache', join(work, 'other'))).code).toBe(2);
    expect((await cli('check-module', module, '--result-cache-ttl', '60')).code).toBe(2);
  });
});

describe('usage errors are not verdicts', () => {
  const missing = (): string => join(work, 'does-not-exist');

  it.each([
    ['verify --key', () => ['verify', SIGNED, '--key', missing(), '-o', 'json']],
    ['verify --trusted-root', () => ['verify', SIGNED, '--certificate-identity', 'x', '--certificate-oidc-issuer', 'y', '--trusted-root', missing(), '-o', 'json']],
    ['verify --ca-roots', () => ['verify', SIGNED, '--certificate-identity', 'x', '--certificate-oidc-issuer', 'y', '--ca-roots', missing(), '-o', 'json']],
    ['verify-attestation --key', () => ['verify-attestation', SIGNED, '--key', missing(), '-o', 'json']],
    ['check-module FILE', () => ['check-module', missing(), '-o', 'json']],
    ['check-config FILE', () => ['check-config', missing(), '-o', 'json']],
    ['check-module --trusted-root', () => ['check-module', TEST_TRUSTED_ROOT, '--trusted-root', missing(), '-o', 'json']],
  ])('a missing %s: exit 2, USAGE, no verdict line', async (_name, argv) => {
    const run = await cli(...argv());
    expect(run.code).toBe(2);
    expect(errorCode(run.stdout)).toBe('USAGE');
    expect(run.stderr).not.toContain('FAILED');
  });

  it('a missing verify-bundle --bundle: exit 2', async () => {
    expect((await cli('verify-bundle', '--bundle', missing(), '--key', COSIGN_PUB, 'sha256:' + '0'.repeat(64))).code).toBe(2);
  });

  it('an unreadable key (a private key) is a usage error, not a verdict', async () => {
    const run = await cli('verify', SIGNED, '--key', join(FIXTURE_LAYOUT, '..', 'keys', 'cosign.key'), '-o', 'json');
    expect(run.code).toBe(2);
    expect(errorCode(run.stdout)).toBe('KEY_INVALID');
    expect(run.stderr).not.toContain('FAILED');
  });

  it('an incomplete policy is a usage error with the error document', async () => {
    const run = await cli('verify', SIGNED, '--certificate-identity', 'x', '-o', 'json');
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ mediaType: 'application/vnd.sigverify.error+json;version=1', verified: false });
    expect(run.stderr).not.toContain('FAILED');
  });
});

describe('attestations', () => {
  it('verify-attestation says "Attestation verification" in its verdicts', async () => {
    const passed = await cli('verify-attestation', `oci:${FIXTURE_LAYOUT}:bundle-provenance`, '--type', 'slsaprovenance1', ...KEYLESS);
    expect(passed.code).toBe(0);
    expect(passed.stderr).toContain('✓ Attestation verification PASSED');
    const failed = await cli('verify-attestation', `oci:${FIXTURE_LAYOUT}:bundle-provenance`, '--type', 'spdxjson', ...KEYLESS);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('✗ Attestation verification FAILED');
  });

  it('verify on an image with attestations but no signatures: NO_SIGNATURES, pointing at verify-attestation', async () => {
    const run = await cli('verify', `oci:${FIXTURE_LAYOUT}:bundle-provenance`, ...KEYLESS, '-o', 'json');
    expect(run.code).toBe(1);
    expect(errorCode(run.stdout)).toBe('NO_SIGNATURES');
    expect(run.stderr).toContain('sigverify verify-attestation --type');
  });
});
