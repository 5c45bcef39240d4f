import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREDICATE_TYPE_ALIASES } from '../../src/cosign/index.ts';
import { matches } from '../../src/policy/index.ts';
import { compileModulePolicy, parseModulePolicy, parseProcessorConfig } from '../../src/processor/index.ts';
import { COSIGN_PUB } from '../helpers/fixtures.ts';
import { hostileJsonValue, mutatedJsonValue, referenceArb } from './arbitraries.ts';
import { escapeRegExp, fc, neverThrows, outcome, outcomeAsync, parsed, runs, titled } from './harness.ts';

/** Module policies (processor configuration files): JSON written by people, read at every gate call. */

const KEY_PEM = readFileSync(COSIGN_PUB, 'utf8');
const SEEDS = [
  { module_name: 'brain_seg', docker_tag: 'mycompany/brain-segmentation:v2.1.0', require_signature: true, signature_certificate_identity: 'ci-bot@mycompany.com', signature_certificate_oidc_issuer: 'https://github.com/login/oauth', network_mode: 'none' },
  {
    docker_tag: `registry.example/algo@sha256:${'ab'.repeat(32)}`,
    signature_certificate_identity_regexp: 'https://github\\.com/example-org/.+',
    signature_certificate_oidc_issuer_regexp: 'https://token\\.actions\\.githubusercontent\\.com',
    signature_github_workflow_repository: 'example-org/brain-seg',
    signature_github_workflow_ref: 'refs/tags/v2.1.0',
    signature_annotations: { release: 'v2.1.0' },
    signature_ignore_tlog_unsafe: true,
    required_attestations: ['slsaprovenance1', 'https://example.com/custom/v1'],
    platform: 'linux/arm64/v8',
    trust: { source: 'tuf-mirror', url: 'https://tuf.example.com/', root: 'root.json' },
  },
  { docker_tag: 'localhost:5000/algo:1', signature_public_key: KEY_PEM, trust: { source: 'assembled', fulcio: [{ cert_chain: 'ca.pem', valid_for: { start: '2024-01-01T00:00:00Z' } }] } },
  { docker_tag: 'oci:/srv/layout:v1', require_signature: false },
];
const CODES = ['POLICY_INVALID', 'KEY_INVALID', 'TRUST_CONFIG_INVALID'] as const;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-fuzz-module-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fuzz: module policies', () => {
  it(titled('arbitrary values: a module policy or POLICY_INVALID; a processor configuration likewise', 'modulePolicyHostile'), () => {
    const member = fc.oneof(
      fc.constantFrom('docker_tag', 'require_signature', 'signature_certificate_identity', 'signature_certificate_identity_regexp', 'signature_certificate_oidc_issuer', 'signature_public_key', 'required_attestations', 'platform', 'trust', 'signature_typo', 'required_x', '__proto__'),
      fc.string({ maxLength: 10 }),
    );
    fc.assert(
      fc.property(fc.oneof(hostileJsonValue(), fc.dictionary(member, hostileJsonValue(), { maxKeys: 6 })), (value) => {
        outcome(() => parseModulePolicy(value, { path: ['modules', 'fuzz'] }), ['POLICY_INVALID']);
        outcome(() => parseProcessorConfig({ modules: { fuzz: value } }), ['POLICY_INVALID']);
        outcome(() => parseProcessorConfig(value), ['POLICY_INVALID']);
      }),
      runs('modulePolicyHostile'),
    );
  });

  it(titled('mutations of valid module policies compile or fail with typed errors; a compiled policy has a digest', 'modulePolicyMutated'), async () => {
    await fc.assert(
      fc.asyncProperty(mutatedJsonValue(SEEDS), async (value) => {
        const parsedPolicy = outcome(() => parseModulePolicy(value), ['POLICY_INVALID']);
        const compiled = await outcomeAsync(() => compileModulePolicy(value, { baseDirectory: dir, name: 'fuzz' }), CODES);
        // Whatever the schema accepts, compilation accepts too, but for what only compilation checks:
        // the key material, and an assembled trust root with nothing in it.
        if (parsedPolicy.ok && !compiled.ok) expect(['KEY_INVALID', 'TRUST_CONFIG_INVALID']).toContain(compiled.error.code);
        if (compiled.ok) neverThrows(() => compiled.value.policyDigest(undefined));
      }),
      runs('modulePolicyMutated'),
    );
  });

  it(titled('a generated module policy compiles to the reference, matchers, claims, attestations and key it names', 'modulePolicyRoundTrip'), async () => {
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 });
    const matcher = fc.record({ value: text, regexp: fc.boolean() });
    const attestation = fc.oneof(fc.constantFrom(...Object.keys(PREDICATE_TYPE_ALIASES)), fc.webUrl());
    const key = fc.constantFrom('none', 'inline', 'file');
    await fc.assert(
      fc.asyncProperty(referenceArb, matcher, matcher, fc.option(text, { nil: undefined }), fc.array(attestation, { maxLength: 4 }), key, fc.constantFrom(undefined, 'linux/amd64', 'linux/arm/v7'), async (ref, identity, issuer, repository, attestations, keyMode, platform) => {
        const module: Record<string, unknown> = {
          docker_tag: ref.text,
          ...(attestations.length === 0 ? {} : { required_attestations: attestations }),
          ...(platform === undefined ? {} : { platform }),
          custom_member: { kept: true },
        };
        if (keyMode === 'inline') module['signature_public_key'] = KEY_PEM;
        else if (keyMode === 'file') {
          await writeFile(join(dir, 'key.pub'), KEY_PEM);
          module['signature_public_key_file'] = 'key.pub';
        } else {
          module[identity.regexp ? 'signature_certificate_identity_regexp' : 'signature_certificate_identity'] = identity.regexp ? escapeRegExp(identity.value) : identity.value;
          module[issuer.regexp ? 'signature_certificate_oidc_issuer_regexp' : 'signature_certificate_oidc_issuer'] = issuer.regexp ? escapeRegExp(issuer.value) : issuer.value;
          if (repository !== undefined) module['signature_github_workflow_repository'] = repository;
        }
        const value = await compileModulePolicy(module, { baseDirectory: dir });
        expect(value).toMatchObject({ reference: ref.text, requireSignature: true, platform });
        expect(value.config['custom_member']).toEqual({ kept: true });
        expect(value.requiredAttestations).toEqual([...new Set(attestations.map((a) => PREDICATE_TYPE_ALIASES[a] ?? a))].sort());
        const policy = value.policy;
        if (keyMode !== 'none') {
          expect(policy?.mode).toBe('key');
          return;
        }
        if (policy?.mode !== 'keyless') throw new Error('expected a keyless policy');
        expect(matches(policy.identity, identity.value) && matches(policy.issuer, issuer.value)).toBe(true);
        expect(matches(policy.identity, `${identity.value}x`)).toBe(false);
        expect(policy.githubWorkflow).toEqual(repository === undefined ? {} : { repository });
        parsed(() => value.policyDigest(undefined));
      }),
      runs('modulePolicyRoundTrip'),
    );
  });
});
