import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModulePolicy, parseProcessorConfig } from '../../src/processor/index.ts';
import { CLI, type CliRun, runProcess } from '../helpers/cli.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, REPO_ROOT, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { type RunningRegistry, startRegistry, unusedLoopbackAddress } from '../helpers/registry/docker-registry.ts';
import { pushLayoutAll } from '../helpers/registry/push.ts';

/**
 * examples/python/sigverify_gate.py, the processor-side replacement for a
 * `cosign verify` subprocess call, run by a real python3 against the built
 * CLI and Debian's docker-registry on loopback.
 */
const EXAMPLE_DIR = join(REPO_ROOT, 'examples', 'python');
const GATE = join(EXAMPLE_DIR, 'sigverify_gate.py');
const PYTHON = 'python3';

const python = spawnSync(PYTHON, ['--version'], { encoding: 'utf8' });
const hasPython = python.error === undefined && python.status === 0;
if (!hasPython) {
  // Printed while collecting, outside any test (the console guard covers tests only).
  console.warn(`examples/python: skipped, ${PYTHON} is not available (${python.error?.message ?? `exit ${String(python.status)}`})`);
}

/**
 * Imports the example and calls verify_module(config, sigverify=…, **kwargs);
 * prints the returned reference, or the ModuleVerificationError, as JSON.
 */
const DRIVER = `
import json, sys
sys.path.insert(0, sys.argv[1])
import sigverify_gate as gate
config, sigverify, kwargs = (json.loads(a) for a in sys.argv[2:5])
try:
    print(json.dumps({"reference": gate.verify_module(config, sigverify=sigverify, **kwargs)}))
except gate.ModuleVerificationError as e:
    print(json.dumps({"error": {"code": e.code, "reason": e.reason, "exit_status": e.exit_status,
                                "retryable": e.retryable, "signatures": e.signatures, "stderr": e.stderr}}))
`;

/** No __pycache__ in examples/. */
function runPython(args: readonly string[]): Promise<CliRun> {
  return runProcess(PYTHON, ['-B', ...args], { PYTHONDONTWRITEBYTECODE: '1' });
}

interface GateError {
  readonly code: string;
  readonly reason: string;
  readonly exit_status: number;
  readonly retryable: boolean;
  readonly signatures: readonly [string, string, string, string][];
  readonly stderr: string;
}
type Outcome = { readonly reference: string } | { readonly error: GateError };

const SIGVERIFY = [process.execPath, CLI];

/** The fixtures are signed by sigverify's test Sigstore, which the gate refuses unless told this is a test. */
const TEST_ROOT_ARGS = ['--allow-test-trust-root-unsafe'];

async function verifyModule(config: Record<string, unknown>, kwargs: Record<string, unknown> = {}, sigverify: readonly string[] = SIGVERIFY): Promise<Outcome> {
  const withTestRoot = { ...kwargs, extra_args: [...((kwargs['extra_args'] as string[] | undefined) ?? []), ...TEST_ROOT_ARGS] };
  const run = await runPython(['-c', DRIVER, EXAMPLE_DIR, JSON.stringify(config), JSON.stringify(sigverify), JSON.stringify(withTestRoot)]);
  if (run.code !== 0) throw new Error(`driver exited ${String(run.code)}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Outcome;
}

describe.skipIf(!hasPython)('examples/python/sigverify_gate.py', () => {
  let registry: RunningRegistry | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushLayoutAll(registry.url, 'fixtures', FIXTURE_LAYOUT);
    dir = await mkdtemp(join(tmpdir(), 'sigverify-python-'));
  });

  afterAll(async () => {
    await registry?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const host = (): string => {
    if (registry === undefined) throw new Error('registry not started');
    return registry.host;
  };
  const tmp = (name: string): string => {
    if (dir === undefined) throw new Error('no temporary directory');
    return join(dir, name);
  };

  /** A module configuration as a DICOM router writes it, with sigverify's policy members. */
  const moduleFor = (dockerTag: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    module_name: 'client_brain_segmentation_v2.1.0',
    docker_tag: dockerTag,
    require_signature: true,
    signature_certificate_identity: FIXTURE_IDENTITY,
    signature_certificate_oidc_issuer: FIXTURE_ISSUER,
    trust: { source: 'trusted-root', path: TEST_TRUSTED_ROOT },
    network_mode: 'none',
    requires_root: false,
    requires_persistence: false,
    ...extra,
  });

  it('signed: returns the digest-pinned reference, and the decision is in the audit trail', async () => {
    const auditLog = tmp('audit.jsonl');
    const outcome = await verifyModule(moduleFor(`${host()}/fixtures:signed`), { audit_log: auditLog });
    expect(outcome).toEqual({ reference: `${host()}/fixtures@${fixtureDigest('signed')}` });
    const records = (await readFile(auditLog, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toEqual([expect.objectContaining({ seq: 1, module: 'client_brain_segmentation_v2.1.0', decision: 'verified', digest: fixtureDigest('signed') })]);
  });

  it('unsigned: ModuleVerificationError NO_SIGNATURES, exit status 1 (abort)', async () => {
    const outcome = await verifyModule(moduleFor(`${host()}/fixtures:unsigned`));
    expect(outcome).toMatchObject({ error: { code: 'NO_SIGNATURES', exit_status: 1, retryable: false } });
    if (!('error' in outcome)) throw new Error('expected an error');
    expect(outcome.error.reason).toContain(fixtureDigest('unsigned'));
    expect(outcome.error.stderr).toContain('may NOT run');
  });

  it('signed by someone else: NO_MATCHING_SIGNATURE with the per-signature reason', async () => {
    const outcome = await verifyModule(moduleFor(`${host()}/fixtures:signed`, { signature_certificate_identity: 'ci-bot@mycompany.com' }));
    expect(outcome).toMatchObject({ error: { code: 'NO_MATCHING_SIGNATURE', exit_status: 1, signatures: [[expect.stringContaining('.sig'), 'failed', 'IDENTITY_MISMATCH', expect.any(String)]] } });
  });

  it('registry down: exit status 3 (could not decide), retryable', async () => {
    const outcome = await verifyModule(moduleFor(`${await unusedLoopbackAddress()}/fixtures:signed`));
    expect(outcome).toMatchObject({ error: { code: 'REGISTRY_UNREACHABLE', exit_status: 3, retryable: true } });
  });

  it('incomplete policy: exit status 2 (configuration error) naming the member', async () => {
    const { signature_certificate_oidc_issuer: _, ...config } = moduleFor(`${host()}/fixtures:signed`);
    const outcome = await verifyModule(config);
    expect(outcome).toMatchObject({ error: { code: 'POLICY_INVALID', exit_status: 2, reason: expect.stringContaining('signature_certificate_oidc_issuer') as string } });
  });

  it('sigverify missing: exit status 3, SIGVERIFY_NOT_FOUND', async () => {
    const outcome = await verifyModule(moduleFor(`${host()}/fixtures:signed`), {}, [tmp('no-such-sigverify')]);
    expect(outcome).toMatchObject({ error: { code: 'SIGVERIFY_NOT_FOUND', exit_status: 3 } });
  });

  it('hands sigverify the policy on stdin with its base directory (never a temporary file), and fails closed on an answer without a pinned reference', async () => {
    // A stand-in sigverify: records its arguments and the policy it read from stdin, then exits 0 saying nothing useful.
    const fake = tmp('fake_sigverify.py');
    const seen = tmp('seen.json');
    await writeFile(fake, [
      'import json, sys',
      `json.dump({"argv": sys.argv[1:], "policy": json.load(sys.stdin)}, open(${JSON.stringify(seen)}, "w"))`,
      'print(json.dumps({"reference": "registry.example/algo:v1"}))',
      '',
    ].join('\n'));
    const policy = moduleFor('registry.example/algo:v1', { trust: { source: 'assembled', fulcio: [{ certChain: 'trust/fulcio.pem' }] }, signature_public_key_file: 'keys/algo.pub' });
    const outcome = await verifyModule(
      policy,
      { base_dir: '/etc/router', audit_log: '/var/log/audit.jsonl', cache_dir: '/var/cache/sigverify', extra_args: ['--cache-ttl', '60'] },
      [PYTHON, '-B', fake],
    );
    expect(outcome).toMatchObject({ error: { code: 'SIGVERIFY_OUTPUT_INVALID', exit_status: 3 } });
    const record = JSON.parse(await readFile(seen, 'utf8')) as { argv: string[]; policy: Record<string, unknown> };
    expect(record.argv).toEqual(['check-module', '-', '--base-dir', '/etc/router', '--output', 'json', '--audit-log', '/var/log/audit.jsonl', '--cache-dir', '/var/cache/sigverify', '--cache-ttl', '60', ...TEST_ROOT_ARGS]);
    // Passed on as written: sigverify resolves every relative path, nested ones included, against --base-dir.
    expect(record.policy).toEqual(policy);
  });

  it('command line: prints only the pinned reference; relative paths are taken from the module file; exit status is sigverify\'s', async () => {
    await copyFile(TEST_TRUSTED_ROOT, tmp('trusted_root.json'));
    const relative = { trust: { source: 'trusted-root', path: 'trusted_root.json' } };
    const signed = tmp('signed.json');
    const unsigned = tmp('unsigned.json');
    await writeFile(signed, JSON.stringify(moduleFor(`${host()}/fixtures:signed`, relative)));
    await writeFile(unsigned, JSON.stringify(moduleFor(`${host()}/fixtures:unsigned`, relative)));
    const command = SIGVERIFY.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');

    const pass = await runPython([GATE, signed, '--sigverify', command, ...TEST_ROOT_ARGS]);
    expect(pass).toMatchObject({ code: 0, stdout: `${host()}/fixtures@${fixtureDigest('signed')}\n` });
    expect(pass.stderr).toContain('verified');

    const fail = await runPython([GATE, unsigned, '--sigverify', command, ...TEST_ROOT_ARGS]);
    expect(fail).toMatchObject({ code: 1, stdout: '' });
    expect(fail.stderr).toContain('[NO_SIGNATURES]');
  });
});

describe('module configurations in examples/ and docs/signing.md', () => {
  it('examples/python/module.example.json is a valid module policy', async () => {
    const config = JSON.parse(await readFile(join(EXAMPLE_DIR, 'module.example.json'), 'utf8')) as unknown;
    expect(parseModulePolicy(config)).toMatchObject({ require_signature: true, network_mode: 'none' });
  });

  it('every JSON module configuration in docs/signing.md is valid as written', async () => {
    const doc = await readFile(join(REPO_ROOT, 'docs', 'signing.md'), 'utf8');
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? '') as Record<string, unknown>);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) {
      if ('modules' in block) parseProcessorConfig(block);
      else expect(parseModulePolicy(block).docker_tag).toEqual(expect.any(String));
    }
  });
});
