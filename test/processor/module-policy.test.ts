import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledModule, compileModulePolicy, loadModulePolicyFile, parseModulePolicy, parseProcessorConfig } from '../../src/processor/index.ts';
import { COSIGN_PUB, FIXTURE_IDENTITY, FIXTURE_ISSUER, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';

/** The module configuration of the issue, exactly as written there. */
const ISSUE_EXAMPLE = {
  module_name: 'client_brain_segmentation_v2.1.0',
  docker_tag: 'mycompany/brain-segmentation:v2.1.0',
  require_signature: true,
  signature_certificate_identity: 'ci-bot@mycompany.com',
  signature_certificate_oidc_issuer: 'https://github.com/login/oauth',
  network_mode: 'none',
  requires_root: false,
  requires_persistence: false,
};

const KEYLESS = { docker_tag: 'registry.example/algo:1.0', signature_certificate_identity: FIXTURE_IDENTITY, signature_certificate_oidc_issuer: FIXTURE_ISSUER };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-module-policy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('module policy: acceptance', () => {
  it('accepts the issue example as written, passing unknown members through', async () => {
    const parsed = parseModulePolicy(ISSUE_EXAMPLE);
    expect(parsed).toEqual(ISSUE_EXAMPLE);
    const compiled = await compileModulePolicy(ISSUE_EXAMPLE);
    expect(compiled).toBeInstanceOf(CompiledModule);
    expect(compiled).toMatchObject({ name: 'client_brain_segmentation_v2.1.0', reference: 'mycompany/brain-segmentation:v2.1.0', requireSignature: true, requiredAttestations: [] });
    expect(compiled.policy).toMatchObject({ mode: 'keyless', identity: { kind: 'exact', value: 'ci-bot@mycompany.com' }, issuer: { kind: 'exact', value: 'https://github.com/login/oauth' }, requireTlog: true });
    expect(compiled.config['network_mode']).toBe('none');
  });

  it('defaults require_signature to true', () => {
    expect(parseModulePolicy(KEYLESS).require_signature).toBe(true);
  });

  it('compiles the extensions onto the verifier policy: regexps, GitHub claims, annotations, tlog opt-out, attestations, platform, trust', async () => {
    const compiled = await compileModulePolicy({
      docker_tag: 'registry.example/algo:1.0',
      signature_certificate_identity_regexp: 'https://github\\.com/example-org/.+',
      signature_certificate_oidc_issuer_regexp: 'https://token\\.actions\\.githubusercontent\\.com',
      signature_github_workflow_repository: 'example-org/brain-seg',
      signature_github_workflow_ref: 'refs/tags/v2.1.0',
      signature_github_workflow_sha: 'abc',
      signature_github_workflow_trigger: 'push',
      signature_github_workflow_name: 'release',
      signature_annotations: { release: 'v2.1.0' },
      signature_ignore_tlog_unsafe: true,
      required_attestations: ['slsaprovenance1', 'https://slsa.dev/provenance/v1', 'https://example.com/custom/v1'],
      platform: 'linux/arm64/v8',
      trust: { source: 'trusted-root', path: 'trusted_root.json' },
    }, { baseDirectory: '/etc/processor' });
    expect(compiled.policy).toMatchObject({
      mode: 'keyless',
      identity: { kind: 'regexp' },
      issuer: { kind: 'regexp' },
      githubWorkflow: { repository: 'example-org/brain-seg', ref: 'refs/tags/v2.1.0', sha: 'abc', trigger: 'push', name: 'release' },
      annotations: { release: 'v2.1.0' },
      requireTlog: false,
    });
    // Aliases resolve to URIs; duplicates count once.
    expect(compiled.requiredAttestations).toEqual(['https://example.com/custom/v1', 'https://slsa.dev/provenance/v1']);
    expect(compiled.platform).toBe('linux/arm64/v8');
    expect(compiled.trust?.description).toBe('trusted_root.json file /etc/processor/trusted_root.json');
  });

  it('reads a key file relative to the policy file, and records the key only by digest', async () => {
    const file = join(dir, 'key-module.json');
    await writeFile(file, JSON.stringify({ docker_tag: 'registry.example/algo:1.0', signature_public_key_file: COSIGN_PUB }));
    const compiled = await loadModulePolicyFile(file);
    expect(compiled.policy?.mode).toBe('key');
    expect(compiled.publicKeySha256).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(compiled)).not.toContain('BEGIN PUBLIC KEY');
  });

  it('gives equivalent policies the same digest, and different policies different ones', async () => {
    const a = await compileModulePolicy({ ...KEYLESS, required_attestations: ['slsaprovenance1'] });
    const b = await compileModulePolicy({ ...KEYLESS, module_name: 'other name', network_mode: 'none', required_attestations: ['https://slsa.dev/provenance/v1'] });
    const c = await compileModulePolicy({ ...KEYLESS, signature_github_workflow_ref: 'refs/tags/v2.1.0' });
    expect(a.policyDigest(undefined)).toBe(b.policyDigest(undefined));
    expect(a.policyDigest(undefined)).not.toBe(c.policyDigest(undefined));
    const trust = { description: `trusted_root.json file ${TEST_TRUSTED_ROOT}`, key: 'test', load: () => Promise.reject(new Error('unused')) };
    expect(a.policyDigest(trust)).not.toBe(a.policyDigest(undefined));
  });

  it('accepts a module that requires no signature, without a policy', async () => {
    const compiled = await compileModulePolicy({ docker_tag: 'registry.example/algo:1.0', require_signature: false });
    expect(compiled).toMatchObject({ requireSignature: false, policy: undefined });
  });
});

describe('module policy: rejection at load time, naming the member', () => {
  it.each([
    ['neither identity+issuer nor key', { docker_tag: 'a/b:1', require_signature: true }, 'signature_certificate_identity'],
    ['an identity without an issuer', { docker_tag: 'a/b:1', signature_certificate_identity: 'x@y.z' }, 'signature_certificate_oidc_issuer'],
    ['an issuer without an identity', { docker_tag: 'a/b:1', signature_certificate_oidc_issuer: 'https://i' }, 'signature_certificate_identity'],
    ['identity and identity regexp', { ...KEYLESS, signature_certificate_identity_regexp: '.*' }, 'signature_certificate_identity_regexp'],
    ['issuer and issuer regexp', { ...KEYLESS, signature_certificate_oidc_issuer_regexp: '.*' }, 'signature_certificate_oidc_issuer_regexp'],
    ['a key and an identity', { ...KEYLESS, signature_public_key: 'PEM' }, 'signature_certificate_identity'],
    ['a key and GitHub claims', { docker_tag: 'a/b:1', signature_public_key: 'PEM', signature_github_workflow_ref: 'refs/heads/main' }, 'signature_github_workflow_ref'],
    ['a key inline and a key file', { docker_tag: 'a/b:1', signature_public_key: 'PEM', signature_public_key_file: 'k.pub' }, 'signature_public_key_file'],
    ['a misspelt signature member', { ...KEYLESS, signature_github_workflow_reff: 'refs/heads/main' }, 'signature_github_workflow_reff'],
    ['an invalid regexp', { docker_tag: 'a/b:1', signature_certificate_identity_regexp: '(', signature_certificate_oidc_issuer: 'https://i' }, 'signature_certificate_identity_regexp'],
    ['an unknown attestation type', { ...KEYLESS, required_attestations: ['slsaprovenance1', 'not a type'] }, 'required_attestations[1]'],
    ['attestations without a signature requirement', { docker_tag: 'a/b:1', require_signature: false, required_attestations: ['slsaprovenance1'] }, 'required_attestations'],
    ['half a policy on an unsigned module', { docker_tag: 'a/b:1', require_signature: false, signature_certificate_identity: 'x@y.z' }, 'signature_certificate_oidc_issuer'],
    ['a bad reference', { ...KEYLESS, docker_tag: 'Not A Reference' }, 'docker_tag'],
    ['no docker_tag', { signature_certificate_identity: 'x@y.z', signature_certificate_oidc_issuer: 'https://i' }, 'docker_tag'],
    ['a bad platform', { ...KEYLESS, platform: 'linux' }, 'platform'],
    ['require_signature as a string', { ...KEYLESS, require_signature: 'yes' }, 'require_signature'],
    ['an unknown trust source', { ...KEYLESS, trust: { source: 'carrier-pigeon' } }, 'trust.source'],
    ['a misspelt trust member', { ...KEYLESS, trust: { source: 'trusted-root', pth: 'x.json' } }, 'trust'],
    ['a trust source without its path', { ...KEYLESS, trust: { source: 'trusted-root' } }, 'trust.path'],
    ['an empty identity', { ...KEYLESS, signature_certificate_identity: '' }, 'signature_certificate_identity'],
  ])('refuses %s with POLICY_INVALID at %s', async (_name, input, path) => {
    const error = await compileModulePolicy(input).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SigverifyError', code: 'POLICY_INVALID' });
    const issues = (error as { details: { issues: { path: string }[] } }).details.issues.map((i) => i.path);
    expect(issues).toContain(path);
  });

  it('prefixes the path of a module inside a configuration', () => {
    expect(() => parseModulePolicy({ docker_tag: 'a/b:1' }, { path: ['modules', 'seg'] })).toThrow(
      expect.objectContaining({ code: 'POLICY_INVALID', details: expect.objectContaining({ path: 'modules.seg.signature_certificate_identity' }) as unknown }),
    );
  });

  it('refuses an unreadable or unsupported key with KEY_INVALID, naming the member', async () => {
    await expect(compileModulePolicy({ docker_tag: 'a/b:1', signature_public_key_file: join(dir, 'missing.pub') })).rejects.toMatchObject({ code: 'KEY_INVALID', details: { path: 'signature_public_key_file' } });
    await expect(compileModulePolicy({ docker_tag: 'a/b:1', signature_public_key: 'not a key' })).rejects.toMatchObject({ code: 'KEY_INVALID', details: { path: 'signature_public_key' } });
  });

  it('refuses a processor configuration without a modules map', () => {
    expect(() => parseProcessorConfig({ module: {} })).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }));
    expect(parseProcessorConfig({ modules: { a: {} }, processor_name: 'router' })).toMatchObject({ processor_name: 'router' });
  });

  it('refuses a policy file that is not JSON with POLICY_INVALID, and a missing one with USAGE', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"docker_tag":');
    await expect(loadModulePolicyFile(file)).rejects.toMatchObject({ code: 'POLICY_INVALID' });
    await expect(loadModulePolicyFile(join(dir, 'absent.json'))).rejects.toMatchObject({ code: 'USAGE' });
  });
});
