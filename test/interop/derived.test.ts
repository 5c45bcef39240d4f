import { readdirSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import type { PolicyInput } from '../../src/policy/index.ts';
import type { Digest } from '../../src/reference/index.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { ImageVerifier, type VerificationResult } from '../../src/verify/index.ts';
import type { SignatureLayer } from '../helpers/sigstore/cosign-legacy.ts';
import { type ReplayedLayout, describeInterop, interopBytes, interopPath, interopText, replayLegacy } from '../helpers/interop.ts';

/**
 * Real public images rebuilt from published READMEs, and tampered copies of
 * them (interop README §7). Their manifests are not byte-identical to the
 * registry's, so signatures are verified against the published digest.
 */
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const GH = 'derived/salrashid123-go-bazel-github-workflow';
const GH_DIGEST: Digest = 'sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321';
const GH_IDENTITY = 'https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30';
const GH_POLICY = { certificateIdentity: GH_IDENTITY, certificateOidcIssuer: 'https://token.actions.githubusercontent.com' } satisfies PolicyInput;
const PG_ROOT = 'root-signing/targets/trusted_root.json';

let layouts: ReplayedLayout[] = [];
afterEach(async () => {
  await Promise.all(layouts.map((l) => l.cleanup()));
  layouts = [];
});

function layerFrom(dir: string): SignatureLayer {
  return {
    mediaType: SIMPLE_SIGNING,
    payload: interopBytes(dir, 'payload.json'),
    annotations: z.record(z.string(), z.string()).parse(JSON.parse(interopText(dir, 'layer-annotations.json'))),
  };
}

async function verifyAgainst(digest: Digest, layers: readonly SignatureLayer[], policy: PolicyInput, root = PG_ROOT): Promise<VerificationResult> {
  const layout = await replayLegacy(digest, layers);
  layouts.push(layout);
  const verifier = await ImageVerifier.create(policy, { trust: trustedRootFile(interopPath(root)) });
  // A digest reference: its signatures are verified without the image manifest, which the replayed layout lacks.
  return verifier.verify(`oci:${layout.dir}@${digest}`);
}

async function failureReasons(promise: Promise<unknown>): Promise<{ code: string; reasons: string[] }> {
  try {
    await promise;
  } catch (error) {
    const result = (error as { result?: VerificationResult }).result;
    return { code: (error as { code: string }).code, reasons: (result?.signatures ?? []).map((s) => s.reason?.code ?? s.outcome) };
  }
  throw new Error('expected verification to fail');
}

describeInterop('interop: GitHub Actions keyless signature of a multi-arch index (2026)', () => {
  it('verifies with the exact identity and reports the GitHub workflow claims', async () => {
    const result = await verifyAgainst(GH_DIGEST, [layerFrom(GH)], {
      ...GH_POLICY,
      githubWorkflowRepository: 'salrashid123/go-bazel-github-workflow',
      githubWorkflowRef: 'refs/tags/v0.0.30',
      githubWorkflowTrigger: 'push',
      githubWorkflowName: 'Release',
      githubWorkflowSha: '7624bd5f279fb5d4700ea72c1b2373ee33960700',
    });
    expect(result.signatures[0]).toMatchObject({
      outcome: 'verified',
      identity: GH_IDENTITY,
      identityKind: 'uri',
      issuer: 'https://token.actions.githubusercontent.com',
      githubWorkflow: { trigger: 'push', repository: 'salrashid123/go-bazel-github-workflow', ref: 'refs/tags/v0.0.30' },
      tlog: { logIndex: 1004096555, integratedTime: '2026-02-27T18:20:46.000Z' },
    });
  });

  it('refuses a lookalike branch identity that an unanchored regexp would accept', async () => {
    const failure = await failureReasons(
      verifyAgainst(GH_DIGEST, [layerFrom(GH)], { ...GH_POLICY, certificateIdentity: GH_IDENTITY.replace('v0.0.30', 'v0.0.3') }),
    );
    expect(failure).toEqual({ code: 'NO_MATCHING_SIGNATURE', reasons: ['IDENTITY_MISMATCH'] });
    const regexp = await failureReasons(
      verifyAgainst(GH_DIGEST, [layerFrom(GH)], { certificateIdentityRegexp: 'https://github.com/salrashid123/', certificateOidcIssuer: GH_POLICY.certificateOidcIssuer }),
    );
    expect(regexp).toEqual({ code: 'NO_MATCHING_SIGNATURE', reasons: ['IDENTITY_MISMATCH'] });
  });

  it('refuses a wrong GitHub workflow claim', async () => {
    const failure = await failureReasons(verifyAgainst(GH_DIGEST, [layerFrom(GH)], { ...GH_POLICY, githubWorkflowRef: 'refs/heads/main' }));
    expect(failure).toEqual({ code: 'NO_MATCHING_SIGNATURE', reasons: ['CLAIM_MISMATCH'] });
  });
});

/** Expected failure reason per tampered case: the first check that catches it. */
const NEGATIVE_REASONS: Record<string, readonly string[]> = {
  'gh-platform-digest-not-signed': ['PAYLOAD_DIGEST_MISMATCH'],
  'gh-tampered-set': ['TLOG_ENTRY_INVALID'],
  'gh-set-integratedtime-changed': ['TLOG_ENTRY_INVALID'],
  // The Rekor body's hash no longer matches the payload.
  'gh-payload-modified': ['TLOG_ENTRY_INVALID'],
  // The Rekor entry was made with the original certificate.
  'gh-cert-swapped': ['TLOG_KEY_MISMATCH'],
  'gh-signature-swapped': ['TLOG_SIGNATURE_MISMATCH'],
  // Without the Rekor bundle there is no log entry (and no trusted time).
  'gh-no-rekor-bundle-expired-cert': ['TLOG_MISSING'],
  'gh-wrong-identity': ['IDENTITY_MISMATCH'],
  'gh-wrong-issuer': ['ISSUER_MISMATCH'],
  'gh-untrusted-root': ['CERTIFICATE_INVALID'],
};

const ExpectedSchema = z.object({
  verifyAgainstImageDigest: z.string(),
  expected: z.literal('fail'),
  identityPolicy: z.object({ want_san: z.string().optional(), want_san_re: z.string().optional(), want_iss: z.string() }).nullable(),
  trustedRoot: z.string(),
});

describeInterop('interop: tampered legacy signatures (derived/negative) all fail', () => {
  const cases = readdirSync(interopPath('derived', 'negative')).sort();

  it('covers every case in the directory', () => {
    expect(cases).toEqual(Object.keys(NEGATIVE_REASONS).sort());
  });

  it.each(cases)('%s', async (name) => {
    const dir = `derived/negative/${name}`;
    const expected = ExpectedSchema.parse(JSON.parse(interopText(dir, 'expected.json')));
    const policy: PolicyInput = expected.identityPolicy === null
      ? GH_POLICY
      : {
          ...(expected.identityPolicy.want_san === undefined ? {} : { certificateIdentity: expected.identityPolicy.want_san }),
          // The data's regexps are prefix patterns written for unanchored
          // matchers; ours match the whole value, so say "and anything after".
          ...(expected.identityPolicy.want_san_re === undefined ? {} : { certificateIdentityRegexp: `${expected.identityPolicy.want_san_re.replace(/^\^/, '')}.*` }),
          certificateOidcIssuer: expected.identityPolicy.want_iss,
        };
    const failure = await failureReasons(verifyAgainst(expected.verifyAgainstImageDigest as Digest, [layerFrom(dir)], policy, expected.trustedRoot));
    expect(failure).toEqual({ code: 'NO_MATCHING_SIGNATURE', reasons: NEGATIVE_REASONS[name] });
  });
});

describeInterop('interop: keyless signature without Rekor bundle under --insecure-ignore-tlog', () => {
  it('fails: with no trusted time the 10-minute certificate is checked now, and has expired', async () => {
    const failure = await failureReasons(
      verifyAgainst(GH_DIGEST, [layerFrom('derived/negative/gh-no-rekor-bundle-expired-cert')], { ...GH_POLICY, ignoreTlogUnsafe: true }),
    );
    expect(failure).toEqual({ code: 'NO_MATCHING_SIGNATURE', reasons: ['CERTIFICATE_INVALID'] });
  });
});

describeInterop('interop: two-layer signature manifest (KMS key + Google keyless)', () => {
  const dir = 'derived/salrashid123-cosign_bazel_cloud_build';
  const digest: Digest = 'sha256:a2b109fb9baea555556561317fdd13cef9c3dfac22c8f8fea0c5a0b06ece9d00';
  const ManifestSchema = z.object({ layers: z.array(z.object({ mediaType: z.string(), annotations: z.record(z.string(), z.string()) })) });
  const layers = (): SignatureLayer[] => {
    const payload = interopBytes(dir, 'payload.json');
    return ManifestSchema.parse(JSON.parse(interopText(dir, 'signature-manifest.json'))).layers.map((l) => ({ mediaType: l.mediaType, payload, annotations: l.annotations }));
  };
  const keyless = { certificateIdentity: 'cosign-svc-account@mineral-minutia-820.iam.gserviceaccount.com', certificateOidcIssuer: 'https://accounts.google.com' };

  it('passes keyless on layer 1 (with the key1=value1 annotation), reporting layer 0 as not a certificate signature', async () => {
    const result = await verifyAgainst(digest, layers(), { ...keyless, annotations: { key1: 'value1' } });
    expect(result.signatures.map((s) => s.reason?.code ?? s.outcome)).toEqual(['CERTIFICATE_MISSING', 'verified']);
  });

  it('refuses a missing or different annotation', async () => {
    expect(await failureReasons(verifyAgainst(digest, layers(), { ...keyless, annotations: { key1: 'other' } }))).toEqual({
      code: 'NO_MATCHING_SIGNATURE',
      reasons: ['CERTIFICATE_MISSING', 'ANNOTATION_MISMATCH'],
    });
  });

  it('passes in key mode on layer 0 with the KMS key when the tlog requirement is off', async () => {
    const publicKey = interopText('salrashid123-cosign_bazel_cloud_build', 'kms_pub.pem');
    const result = await verifyAgainst(digest, layers(), { publicKey, ignoreTlogUnsafe: true });
    expect(result.signatures.map((s) => s.reason?.code ?? s.outcome)).toEqual(['verified', 'KEY_MISMATCH']);
  });
});
