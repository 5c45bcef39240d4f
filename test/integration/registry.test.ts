import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { type VerificationResult, verifyImage } from '../../src/verify/index.ts';
import { sha256Digest } from '../../src/reference/index.ts';
import { runCli } from '../helpers/cli.ts';
import {
  COSIGN_PUB,
  FIXTURE_IDENTITY,
  FIXTURE_ISSUER,
  FIXTURE_LAYOUT,
  OTHER_PUB,
  OTHER_TRUSTED_ROOT,
  TEST_TRUSTED_ROOT,
  fixtureDigest,
} from '../helpers/fixtures.ts';
import { type RunningRegistry, startRegistry, unusedLoopbackAddress } from '../helpers/registry/docker-registry.ts';
import { pushLayoutAll, pushLayoutImage, pushManifest } from '../helpers/registry/push.ts';

/**
 * The qualification cases a regulated site runs, against Debian's real
 * docker-registry on loopback, through the CLI as a subprocess (exit codes
 * and JSON are the contract a processor consumes).
 */
let registry: RunningRegistry | undefined;
const KEYLESS = ['--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', TEST_TRUSTED_ROOT];

beforeAll(async () => {
  registry = await startRegistry();
  await pushLayoutAll(running().url, 'fixtures', FIXTURE_LAYOUT);
});

afterAll(async () => {
  await registry?.stop();
});

function running(): RunningRegistry {
  if (registry === undefined) throw new Error('registry not started');
  return registry;
}
const image = (tag: string, repo = 'fixtures') => `${running().host}/${repo}:${tag}`;

async function verifyJson(args: readonly string[]): Promise<{ code: number | null; result: VerificationResult & { error?: { code: string } }; stderr: string }> {
  const run = await runCli(['verify', ...args, '--output', 'json']);
  return { code: run.code, result: JSON.parse(run.stdout) as VerificationResult & { error?: { code: string } }, stderr: run.stderr };
}

const reasons = (result: VerificationResult) => result.signatures.map((s) => s.reason?.code ?? s.outcome);

describe('qualification cases against a real registry (CLI subprocess)', () => {
  it('a signed image passes, and the digest to run is pinned', async () => {
    const { code, result, stderr } = await verifyJson([image('signed'), ...KEYLESS]);
    expect(code).toBe(0);
    expect(result).toMatchObject({
      verified: true,
      digest: fixtureDigest('signed'),
      pinnedReference: `${running().host}/fixtures@${fixtureDigest('signed')}`,
      signatures: [{ outcome: 'verified', identity: FIXTURE_IDENTITY, issuer: FIXTURE_ISSUER }],
    });
    expect(result.signatures[0]?.tlog?.integratedTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(stderr).toContain(`Verifying signature for ${image('signed')}`);
    expect(stderr).toContain(`✓ Signature verification PASSED for ${running().host}/fixtures@${fixtureDigest('signed')}`);
  });

  it('text output prints the pinned reference on stdout, for `docker run $(sigverify verify …)`', async () => {
    const run = await runCli(['verify', image('signed'), ...KEYLESS]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${running().host}/fixtures@${fixtureDigest('signed')}\n`);
  });

  it('a reference by digest passes', async () => {
    const { code, result } = await verifyJson([`${running().host}/fixtures@${fixtureDigest('signed')}`, ...KEYLESS]);
    expect(code).toBe(0);
    expect(result.digest).toBe(fixtureDigest('signed'));
  });

  it('an unsigned image fails', async () => {
    const { code, result, stderr } = await verifyJson([image('unsigned'), ...KEYLESS]);
    expect(code).toBe(1);
    expect(result.error?.code).toBe('NO_SIGNATURES');
    expect(stderr).toContain(`✗ Signature verification FAILED for ${image('unsigned')}`);
  });

  it('the wrong identity fails', async () => {
    const { code, result } = await verifyJson([image('signed'), ...KEYLESS.slice(2), '--certificate-identity', FIXTURE_IDENTITY.replace('v2.1.0', 'v2.1.1')]);
    expect(code).toBe(1);
    expect(result.error?.code).toBe('NO_MATCHING_SIGNATURE');
    expect(reasons(result)).toEqual(['IDENTITY_MISMATCH']);
  });

  it('the wrong issuer fails', async () => {
    const { code, result } = await verifyJson([image('signed'), ...KEYLESS.slice(0, 2), '--certificate-oidc-issuer', 'https://accounts.google.com', '--trusted-root', TEST_TRUSTED_ROOT]);
    expect(code).toBe(1);
    expect(reasons(result)).toEqual(['ISSUER_MISMATCH']);
  });

  it('an image re-pushed under the same tag without re-signing fails', async () => {
    await pushLayoutAll(running().url, 'repushed', FIXTURE_LAYOUT);
    expect((await verifyJson([image('signed', 'repushed'), ...KEYLESS])).code).toBe(0);
    // Move the tag to other content: the signature still names the old digest.
    await pushLayoutImage(running().url, 'repushed', FIXTURE_LAYOUT, 'unsigned', 'signed');
    const { code, result } = await verifyJson([image('signed', 'repushed'), ...KEYLESS]);
    expect(code).toBe(1);
    expect(result.error?.code).toBe('NO_SIGNATURES');
    expect(result.digest).toBe(fixtureDigest('unsigned'));
  });

  it('a signature copied onto another image fails', async () => {
    await pushLayoutAll(running().url, 'copied', FIXTURE_LAYOUT);
    // Put the signed image's .sig manifest at the unsigned image's .sig tag.
    const sigTag = (tag: 'signed' | 'unsigned') => `sha256-${fixtureDigest(tag).slice(7)}.sig`;
    const sigManifest = await fetch(`${running().url}/v2/copied/manifests/${sigTag('signed')}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    await pushManifest(running().url, 'copied', sigTag('unsigned'), Buffer.from(await sigManifest.arrayBuffer()), 'application/vnd.oci.image.manifest.v1+json');
    const { code, result } = await verifyJson([image('unsigned', 'copied'), ...KEYLESS]);
    expect(code).toBe(1);
    expect(reasons(result)).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it('a signature from another (untrusted) Sigstore fails; it verifies only against its own root', async () => {
    const { code, result } = await verifyJson([image('signed-other-sigstore'), ...KEYLESS]);
    expect(code).toBe(1);
    expect(reasons(result)).toEqual(['CERTIFICATE_INVALID']);
    const own = await verifyJson([image('signed-other-sigstore'), ...KEYLESS.slice(0, 4), '--trusted-root', OTHER_TRUSTED_ROOT]);
    expect(own.code).toBe(0);
  });

  it('mixed layers: one valid signature passes, the other is reported', async () => {
    const { code, result } = await verifyJson([image('mixed'), ...KEYLESS]);
    expect(code).toBe(0);
    expect(reasons(result)).toEqual(['CERTIFICATE_INVALID', 'verified']);
  });

  it('email and otherName identities verify exactly', async () => {
    const email = await verifyJson([image('signed-email'), '--certificate-identity', 'ci-bot@mycompany.com', '--certificate-oidc-issuer', 'https://github.com/login/oauth', '--trusted-root', TEST_TRUSTED_ROOT]);
    expect(email.result.signatures[0]).toMatchObject({ outcome: 'verified', identityKind: 'email' });
    const other = await verifyJson([image('signed-othername'), '--certificate-identity', 'ci-bot!oidc.example', '--certificate-oidc-issuer', 'https://oidc.example', '--trusted-root', TEST_TRUSTED_ROOT]);
    expect(other.result.signatures[0]).toMatchObject({ outcome: 'verified', identityKind: 'otherName' });
  });

  it('GitHub workflow claims and signed annotations are enforced', async () => {
    const ok = await verifyJson([image('signed'), ...KEYLESS, '--certificate-github-workflow-repository', 'example-org/brain-seg', '--certificate-github-workflow-ref', 'refs/tags/v2.1.0', '-a', 'release=v2.1.0']);
    expect(ok.code).toBe(0);
    const wrongClaim = await verifyJson([image('signed'), ...KEYLESS, '--certificate-github-workflow-repository', 'example-org/other']);
    expect(reasons(wrongClaim.result)).toEqual(['CLAIM_MISMATCH']);
    const wrongAnnotation = await verifyJson([image('signed'), ...KEYLESS, '-a', 'release=v9']);
    expect(reasons(wrongAnnotation.result)).toEqual(['ANNOTATION_MISMATCH']);
  });

  it('key mode: the log entry is required unless --insecure-ignore-tlog', async () => {
    expect((await verifyJson([image('signed-key'), '--key', COSIGN_PUB, '--trusted-root', TEST_TRUSTED_ROOT])).code).toBe(0);
    const wrongKey = await verifyJson([image('signed-key'), '--key', OTHER_PUB, '--trusted-root', TEST_TRUSTED_ROOT]);
    expect(reasons(wrongKey.result)).toEqual(['TLOG_KEY_MISMATCH']);
    const noLog = await verifyJson([image('signed-key-notlog'), '--key', COSIGN_PUB, '--trusted-root', TEST_TRUSTED_ROOT]);
    expect(reasons(noLog.result)).toEqual(['TLOG_MISSING']);
    const ignored = await verifyJson([image('signed-key-notlog'), '--key', COSIGN_PUB, '--insecure-ignore-tlog']);
    expect(ignored.code).toBe(0);
    expect(ignored.stderr).toContain('WARNING: --insecure-ignore-tlog');
  });

  it('a multi-arch tag verifies at its index digest, as cosign signs it', async () => {
    const { code, result } = await verifyJson([image('multiarch'), ...KEYLESS]);
    expect(code).toBe(0);
    expect(result).toMatchObject({ digest: fixtureDigest('multiarch'), imageKind: 'index' });
  });

  it('a missing tag fails with IMAGE_NOT_FOUND', async () => {
    const { code, result } = await verifyJson([image('no-such-tag'), ...KEYLESS]);
    expect(code).toBe(1);
    expect(result.error?.code).toBe('IMAGE_NOT_FOUND');
  });

  it('registry down exits 3', async () => {
    const { code, result } = await verifyJson([`${await unusedLoopbackAddress()}/fixtures:signed`, ...KEYLESS]);
    expect(code).toBe(3);
    expect(result.error?.code).toBe('REGISTRY_UNREACHABLE');
  });

  it('usage errors exit 2 before any network access', async () => {
    const run = await runCli(['verify', image('signed'), '--certificate-identity', FIXTURE_IDENTITY]);
    expect(run.code).toBe(2);
  });

  it('a trust root file that does not exist is a usage error (exit 2)', async () => {
    const { code, result } = await verifyJson([image('signed'), ...KEYLESS.slice(0, 4), '--trusted-root', join(FIXTURE_LAYOUT, 'missing.json')]);
    expect(code).toBe(2);
    expect(result.error?.code).toBe('USAGE');
  });
});

describe('library API against the real registry', () => {
  it('verifyImage returns the versioned result', async () => {
    const result = await verifyImage(image('signed'), { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER }, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
    expect(result).toMatchObject({
      mediaType: 'application/vnd.sigverify.verification-result+json;version=1',
      verified: true,
      digest: fixtureDigest('signed'),
      pinnedReference: `${running().host}/fixtures@${fixtureDigest('signed')}`,
      // The trust root recorded is exactly the file given.
      trustRoot: { origin: { kind: 'trusted-root', location: TEST_TRUSTED_ROOT }, digest: sha256Digest(readFileSync(TEST_TRUSTED_ROOT)), testRoot: true },
      verifiedSignatures: 1,
    });
  });

  it('throws typed errors with the per-signature result attached', async () => {
    await expect(
      verifyImage(image('signed'), { certificateIdentity: 'someone@else', certificateOidcIssuer: FIXTURE_ISSUER }, { trust: trustedRootFile(TEST_TRUSTED_ROOT) }),
    ).rejects.toMatchObject({
      name: 'SigverifyError',
      code: 'NO_MATCHING_SIGNATURE',
      kind: 'rejected',
      details: { digest: fixtureDigest('signed') },
      result: { verified: false, signatures: [{ outcome: 'failed', reason: { code: 'IDENTITY_MISMATCH' } }] },
    });
  });
});
