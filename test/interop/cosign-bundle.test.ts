import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256Digest } from '../../src/reference/index.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { type VerificationResult, verifyImage } from '../../src/verify/index.ts';
import { PG_TRUSTED_ROOT, describeInterop, interopBytes, rawManifest } from '../helpers/interop.ts';
import { writeOciLayout } from '../helpers/sigstore/oci-layout.ts';
import { runCli } from '../helpers/cli.ts';
import { type RunningRegistry, startRegistry } from '../helpers/registry/docker-registry.ts';
import { pushLayoutAll } from '../helpers/registry/push.ts';

/**
 * The real cosign bundle of interop README §7.5 (a public-good attestation,
 * predicate https://cosign.sigstore.dev/attestation/v1) attached to its
 * subject as an OCI 1.1 referrer, replayed into an OCI layout whose referrers
 * are found through the fallback tag. `cosign verify` would count it as a
 * signature; sigverify counts it only as what it is, an attestation.
 */
const DIR = ['derived', 'cosign-new-bundle-format-registry'] as const;
const SUBJECT = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
const PREDICATE = 'https://cosign.sigstore.dev/attestation/v1';
const POLICY = { certificateIdentity: 'cody@soyland.com', certificateOidcIssuer: 'https://github.com/login/oauth' };
let dir: string | undefined;

beforeAll(async () => {
  if (!(await import('../helpers/interop.ts')).interopAvailable) return;
  dir = await mkdtemp(join(tmpdir(), 'sigverify-bundle-'));
  const bytes = (name: string) => interopBytes(...DIR, name);
  const bundle = bytes('bundle-blob.sigstore.json');
  const emptyConfig = bytes('empty-config-blob.json');
  const referrer = {
    ...rawManifest(bytes('referrer-manifest.cosign-style.synth.json')),
    blobs: new Map([
      [sha256Digest(bundle), bundle],
      [sha256Digest(emptyConfig), emptyConfig],
    ]),
  };
  await writeOciLayout(dir, [
    {
      object: {
        ...rawManifest(bytes('subject-image-manifest.json'), 'application/vnd.docker.distribution.manifest.v2+json'),
        blobs: new Map([[sha256Digest(bytes('subject-image-config.json')), bytes('subject-image-config.json')]]),
      },
      tag: 'image',
    },
    { object: referrer },
    { object: rawManifest(bytes(`fallback-tag-index.sha256-${SUBJECT.slice(7)}.synth.json`), 'application/vnd.oci.image.index.v1+json'), tag: `sha256-${SUBJECT.slice(7)}` },
  ]);
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const image = () => `oci:${dir ?? ''}:image`;
const trust = () => ({ trust: trustedRootFile(PG_TRUSTED_ROOT()) });

describeInterop('interop: cosign bundle referrer replayed into the real registry (CLI)', () => {
  let registry: RunningRegistry | undefined;
  beforeAll(async () => {
    registry = await startRegistry();
    if (dir !== undefined) await pushLayoutAll(registry.url, 'cosign', dir);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  const args = () => [`${registry?.host ?? ''}/cosign:image`, '--certificate-identity', POLICY.certificateIdentity, '--certificate-oidc-issuer', POLICY.certificateOidcIssuer, '--trusted-root', PG_TRUSTED_ROOT()];

  it('verify-attestation --type custom (its predicate type) passes', async () => {
    const run = await runCli(['verify-attestation', ...args(), '--type', 'custom']);
    expect(run.code).toBe(0);
  });

  it('verify fails: no signature, only an attestation', async () => {
    const run = await runCli(['verify', ...args(), '--output', 'json']);
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe('NO_SIGNATURES');
  });
});

describeInterop('interop: cosign bundle referrer (attestation)', () => {
  it('verify-attestation with its predicate type passes and returns the statement', async () => {
    const result = await verifyImage(image(), POLICY, { ...trust(), attestationPredicateType: PREDICATE });
    expect(result).toMatchObject({ digest: SUBJECT, purpose: { kind: 'attestation', predicateType: PREDICATE }, discovery: { referrers: 'fallback-tag', legacySignatures: 0 } });
    expect(result.signatures[0]).toMatchObject({
      format: 'sigstore-bundle',
      outcome: 'verified',
      identity: 'cody@soyland.com',
      predicateType: PREDICATE,
      tlog: { logIndex: 175508996, integratedTime: '2025-02-28T19:18:11.000Z' },
      statement: { predicateType: PREDICATE },
    });
  });

  it('verify fails: an attestation is not a signature', async () => {
    const failure = verifyImage(image(), POLICY, trust());
    await expect(failure).rejects.toMatchObject({ code: 'NO_SIGNATURES' });
    const result = await failure.catch((e: unknown) => (e as { result: VerificationResult }).result);
    expect(result.signatures.map((s) => s.reason?.code)).toEqual(['PREDICATE_TYPE_MISMATCH']);
  });

  it('another identity or another predicate type fails', async () => {
    await expect(verifyImage(image(), { ...POLICY, certificateIdentity: 'cody@soyland' }, { ...trust(), attestationPredicateType: PREDICATE })).rejects.toMatchObject({
      code: 'NO_MATCHING_SIGNATURE',
    });
    await expect(verifyImage(image(), POLICY, { ...trust(), attestationPredicateType: 'https://slsa.dev/provenance/v1' })).rejects.toMatchObject({ code: 'NO_SIGNATURES' });
  });
});
