import { describe, expect, it } from 'vitest';
import { parseAnnotations, parseCommand } from '../../src/cli/args.ts';

describe('parseCommand', () => {
  it('maps cosign flag names onto the policy', () => {
    const cmd = parseCommand([
      'verify', 'ghcr.io/org/app:v1',
      '--certificate-identity', 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1',
      '--certificate-oidc-issuer=https://token.actions.githubusercontent.com',
      '--certificate-github-workflow-repository', 'org/app',
      '--certificate-github-workflow-ref', 'refs/tags/v1',
      '--certificate-github-workflow-sha', 'abc', '--certificate-github-workflow-trigger', 'push',
      '--certificate-github-workflow-name', 'Release',
      '-a', 'env=prod', '--annotations', 'team=imaging,tier=1',
      '--trusted-root', 'root.json', '--allow-http-registry', '-o', 'json',
    ], {});
    expect(cmd).toEqual({
      command: 'verify',
      image: 'ghcr.io/org/app:v1',
      policy: {
        certificateIdentity: 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1',
        certificateOidcIssuer: 'https://token.actions.githubusercontent.com',
        githubWorkflowRepository: 'org/app',
        githubWorkflowRef: 'refs/tags/v1',
        githubWorkflowSha: 'abc',
        githubWorkflowTrigger: 'push',
        githubWorkflowName: 'Release',
        annotations: { env: 'prod', team: 'imaging', tier: '1' },
      },
      keyPath: undefined,
      trustedRoot: 'root.json',
      caRoots: undefined,
      caIntermediates: undefined,
      tufCache: undefined,
      allowHttpRegistry: true,
      signatureRepository: undefined,
      platform: undefined,
      predicateType: undefined,
      allowExpiredTrustMetadata: false,
      output: 'json',
      notes: [],
    });
  });

  it('accepts cosign-style boolean values and COSIGN_REPOSITORY', () => {
    const cmd = parseCommand(['verify', 'app', '--key', 'k.pub', '--insecure-ignore-tlog=true', '--allow-http-registry=false'], { COSIGN_REPOSITORY: 'ghcr.io/org/sigs' });
    expect(cmd).toMatchObject({ keyPath: 'k.pub', policy: { ignoreTlogUnsafe: true }, allowHttpRegistry: false, signatureRepository: 'ghcr.io/org/sigs' });
  });

  it.each([
    [['frobnicate']],
    [['verify']],
    [['verify', 'a', 'b']],
    [['verify', 'a', '--no-such-flag']],
    [['verify', 'a', '--output', 'yaml']],
    [['verify', 'a', '--insecure-ignore-tlog=maybe']],
    [['verify', 'a', '--ca-intermediates', 'i.pem']],
    [['verify', 'a', '-a', 'novalue']],
  ])('refuses %j with USAGE', (argv) => {
    expect(() => parseCommand(argv, {})).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('recognises help and version', () => {
    expect(parseCommand([], {})).toEqual({ command: 'help' });
    expect(parseCommand(['--version'], {})).toEqual({ command: 'version' });
    expect(parseCommand(['verify', '--help'], {})).toEqual({ command: 'help', topic: 'verify' });
  });
});

describe('parseAnnotations', () => {
  it('refuses the same key with two values', () => {
    expect(() => parseAnnotations(['a=1', 'a=2'])).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(parseAnnotations(['a=1', 'a=1'])).toEqual({ a: '1' });
  });
});
