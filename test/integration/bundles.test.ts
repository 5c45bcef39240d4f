import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { type VerificationResult, verifyImage } from '../../src/verify/index.ts';
import { runCli } from '../helpers/cli.ts';
import { COSIGN_PUB, FIXTURE_IDENTITY, FIXTURE_ISSUER, FIXTURE_LAYOUT, TEST_TRUSTED_ROOT, fixtureDigest } from '../helpers/fixtures.ts';
import { type RunningRegistry, startRegistry } from '../helpers/registry/docker-registry.ts';
import { pushLayoutAll } from '../helpers/registry/push.ts';
import { OCI_INDEX, startFakeRegistry } from '../registry/fake-registry.ts';
import type { TestServer } from '../registry/helpers.ts';

/**
 * cosign v3 signatures (Sigstore bundles attached as OCI 1.1 referrers),
 * attestations and mixed images: through the real docker-registry, which has
 * no referrers API (so the fallback tag is used), via the CLI; and through an
 * in-process registry that implements the referrers API.
 */
const SIGN_V1 = 'https://sigstore.dev/cosign/sign/v1';
const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const KEYLESS = ['--certificate-identity', FIXTURE_IDENTITY, '--certificate-oidc-issuer', FIXTURE_ISSUER, '--trusted-root', TEST_TRUSTED_ROOT];
let registry: RunningRegistry | undefined;

beforeAll(async () => {
  registry = await startRegistry();
  await pushLayoutAll(registry.url, 'v3', FIXTURE_LAYOUT);
});
afterAll(async () => {
  await registry?.stop();
});

function host(): string {
  if (registry === undefined) throw new Error('registry not started');
  return registry.host;
}

type CliResult = VerificationResult & { error?: { code: string } };
async function cli(command: string, tag: string, args: readonly string[]): Promise<{ code: number | null; result: CliResult }> {
  const run = await runCli([command, `${host()}/v3:${tag}`, ...args, '--output', 'json']);
  return { code: run.code, result: JSON.parse(run.stdout) as CliResult };
}
const summary = (r: VerificationResult) => r.signatures.map((s) => `${s.format}:${s.reason?.code ?? s.outcome}`).sort();

describe('cosign v3 bundles through the real registry (fallback tag)', () => {
  it('a cosign v3 signature verifies, found through the referrers fallback tag', async () => {
    const { code, result } = await cli('verify', 'bundle-signed', KEYLESS);
    expect(code).toBe(0);
    expect(result).toMatchObject({ digest: fixtureDigest('bundle-signed'), discovery: { referrers: 'fallback-tag', legacySignatures: 0 } });
    expect(result.signatures[0]).toMatchObject({ format: 'sigstore-bundle', outcome: 'verified', predicateType: SIGN_V1, identity: FIXTURE_IDENTITY });
  });

  it('signed annotations of a bundle are checked against the statement subject', async () => {
    expect((await cli('verify', 'bundle-signed', [...KEYLESS, '-a', 'release=v2.1.0'])).code).toBe(0);
    const wrong = await cli('verify', 'bundle-signed', [...KEYLESS, '-a', 'release=v9']);
    expect(summary(wrong.result)).toEqual(['sigstore-bundle:ANNOTATION_MISMATCH']);
  });

  it('an SLSA provenance attestation is not a signature; verify-attestation accepts it and returns the statement', async () => {
    const verify = await cli('verify', 'bundle-provenance', KEYLESS);
    expect(verify.code).toBe(1);
    expect(verify.result.error?.code).toBe('NO_SIGNATURES');
    expect(summary(verify.result)).toEqual(['sigstore-bundle:PREDICATE_TYPE_MISMATCH']);
    const attestation = await cli('verify-attestation', 'bundle-provenance', ['--type', 'slsaprovenance1', ...KEYLESS]);
    expect(attestation.code).toBe(0);
    expect(attestation.result.signatures[0]).toMatchObject({ outcome: 'verified', predicateType: SLSA_V1, statement: { predicateType: SLSA_V1 } });
  });

  it('of three referrers only the signature counts for verify; each attestation for its own type', async () => {
    const verify = await cli('verify', 'bundle-multi', KEYLESS);
    expect(verify.code).toBe(0);
    expect(summary(verify.result)).toEqual(['sigstore-bundle:PREDICATE_TYPE_MISMATCH', 'sigstore-bundle:PREDICATE_TYPE_MISMATCH', 'sigstore-bundle:verified']);
    const unrelated = await cli('verify-attestation', 'bundle-multi', ['--type', 'https://example.com/unrelated/v1', ...KEYLESS]);
    expect(unrelated.code).toBe(0);
    expect(unrelated.result.verifiedSignatures).toBe(1);
  });

  it('a key-signed bundle verifies with the key, and keyless flags do not accept it', async () => {
    expect((await cli('verify', 'bundle-key', ['--key', COSIGN_PUB, '--trusted-root', TEST_TRUSTED_ROOT])).code).toBe(0);
    const keyless = await cli('verify', 'bundle-key', KEYLESS);
    expect(summary(keyless.result)).toEqual(['sigstore-bundle:CERTIFICATE_MISSING']);
  });

  it('legacy .sig and a bundle on one image: both are evaluated and reported', async () => {
    const { code, result } = await cli('verify', 'bundle-and-legacy', KEYLESS);
    expect(code).toBe(0);
    expect(summary(result)).toEqual(['cosign-legacy:verified', 'sigstore-bundle:verified']);
    expect(result.verifiedSignatures).toBe(2);
  });

  it('legacy .att attestations verify with verify-attestation; the .sig signature with verify', async () => {
    expect((await cli('verify', 'attested-legacy', KEYLESS)).code).toBe(0);
    const { code, result } = await cli('verify-attestation', 'attested-legacy', ['--type', SLSA_V1, ...KEYLESS]);
    expect(code).toBe(0);
    expect(result.discovery.legacyTag).toMatch(/\.att$/);
    expect(result.signatures[0]).toMatchObject({ format: 'cosign-legacy', outcome: 'verified', predicateType: SLSA_V1 });
  });

  it('a bundle from another Sigstore fails', async () => {
    const { code, result } = await cli('verify', 'bundle-other-sigstore', KEYLESS);
    expect(code).toBe(1);
    expect(result.error?.code).toBe('NO_MATCHING_SIGNATURE');
  });
});

describe('cosign v3 bundles through a registry with the referrers API', () => {
  let fake: TestServer | undefined;

  beforeAll(async () => {
    // Serve the fixture layout, but list referrers through the API only: the
    // fallback tag is not served, so finding the bundle proves the API path.
    const index = JSON.parse(await readFile(join(FIXTURE_LAYOUT, 'index.json'), 'utf8')) as {
      manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
    };
    const blob = (digest: string) => readFile(join(FIXTURE_LAYOUT, 'blobs', 'sha256', digest.slice(7)));
    const manifests = await Promise.all(
      index.manifests
        .filter((m) => !/^sha256-[0-9a-f]{64}$/.test(m.annotations?.['org.opencontainers.image.ref.name'] ?? ''))
        .map(async (m) => ({ bytes: await blob(m.digest), mediaType: m.mediaType, tags: [m.annotations?.['org.opencontainers.image.ref.name']].filter((t): t is string => t !== undefined) })),
    );
    const fallback = new Map<string, Buffer>();
    for (const m of index.manifests) {
      const tag = m.annotations?.['org.opencontainers.image.ref.name'] ?? '';
      if (/^sha256-[0-9a-f]{64}$/.test(tag)) fallback.set(`sha256:${tag.slice(7)}`, await blob(m.digest));
    }
    // Every referrer manifest and blob the fallback indexes name, served by digest.
    const referrerManifests: { bytes: Buffer; mediaType: string }[] = [];
    const blobs: Buffer[] = [];
    for (const indexBytes of fallback.values()) {
      const listed = JSON.parse(indexBytes.toString('utf8')) as { manifests: { digest: string; mediaType: string }[] };
      for (const d of listed.manifests) {
        const bytes = await blob(d.digest);
        referrerManifests.push({ bytes, mediaType: d.mediaType });
        const parsed = JSON.parse(bytes.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
        for (const b of [parsed.config, ...parsed.layers]) blobs.push(await blob(b.digest));
      }
    }
    fake = await startFakeRegistry({
      repository: 'v3',
      manifests: [...manifests, ...referrerManifests],
      blobs,
      referrers: (subject) => {
        const listed = fallback.get(subject);
        return { contentType: OCI_INDEX, body: listed ?? JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }) };
      },
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('finds and verifies the cosign v3 signature through the referrers API', async () => {
    if (fake === undefined) throw new Error('fake registry not started');
    const result = await verifyImage(`${fake.host}/v3:bundle-signed`, { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER }, { trust: trustedRootFile(TEST_TRUSTED_ROOT) });
    expect(result.discovery.referrers).toBe('referrers-api');
    expect(result.signatures[0]).toMatchObject({ format: 'sigstore-bundle', outcome: 'verified', predicateType: SIGN_V1 });
  });
});
