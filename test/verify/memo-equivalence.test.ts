import { readFileSync } from 'node:fs';
import { type SerializedBundle, bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policy/index.ts';
import { createSigstoreVerifier, verifyEntity } from '../../src/verify/sigstore.ts';
import { conformanceCases } from '../helpers/conformance.ts';
import { FIXTURE_LAYOUT, OTHER_TRUSTED_ROOT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { interopAvailable } from '../helpers/interop.ts';
import { legacyLayerToBundleV01, readLegacySignatureLayers } from '../helpers/sigstore/index.ts';

/**
 * sigverify remembers certificate equality and signature checks across
 * verifications (src/verify/memo-certificates.ts). Proof that this changes no
 * verdict: every bundle below is verified by bare @sigstore/verify (fresh,
 * unpatched trust material) and by sigverify's verifier, repeatedly and
 * interleaved so remembered answers are reused across signatures, and the
 * outcomes (pass, or the sigstore-js error code) must be identical.
 */
interface Case {
  readonly name: string;
  readonly bundle: SerializedBundle;
  readonly artifact: Buffer | undefined;
  readonly rootPath: string;
}

function bareVerdict(c: Case): string {
  const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(c.rootPath, 'utf8')));
  const tm = toTrustMaterial(root);
  const verifier = new Verifier(tm, { ctlogThreshold: root.ctlogs.length > 0 ? 1 : 0 });
  try {
    verifier.verify(toSignedEntity(bundleFromJSON(c.bundle), c.artifact));
    return 'pass';
  } catch (error) {
    return (error as { code?: string }).code ?? 'THROW';
  }
}

const ours = new Map<string, ReturnType<typeof createSigstoreVerifier>>();
function memoVerdict(c: Case): string {
  let verifier = ours.get(c.rootPath);
  if (verifier === undefined) {
    // Our own root validation is not under test here (it refuses one conformance root on purpose).
    const trustedRoot = TrustedRoot.fromJSON(JSON.parse(readFileSync(c.rootPath, 'utf8')));
    verifier = createSigstoreVerifier({ source: c.rootPath, origin: { kind: 'trusted-root', location: c.rootPath }, digest: undefined, trustedRoot }, compilePolicy({ certificateIdentity: 'x', certificateOidcIssuer: 'y' }));
    ours.set(c.rootPath, verifier);
  }
  try {
    verifyEntity(verifier, () => toSignedEntity(bundleFromJSON(c.bundle), c.artifact));
    return 'pass';
  } catch (error) {
    // Our adapter labels a non-VerificationError from sigstore-js UNEXPECTED; bare, it is a plain throw.
    const code = (error as { sigstoreCode?: string }).sigstoreCode;
    return code === undefined || code === 'UNEXPECTED' ? 'THROW' : code;
  }
}

async function fixtureCases(): Promise<Case[]> {
  const fixtures = JSON.parse(readFileSync(`${FIXTURE_LAYOUT}/../fixtures.json`, 'utf8')) as { images: Record<string, { digest: string }> };
  const cases: Case[] = [];
  for (const [tag, image] of Object.entries(fixtures.images)) {
    for (const [i, layer] of (await readLegacySignatureLayers(FIXTURE_LAYOUT, image.digest as `sha256:${string}`)).entries()) {
      if (layer.annotations['dev.sigstore.cosign/certificate'] === undefined) continue;
      const bundle = legacyLayerToBundleV01(layer) as unknown as SerializedBundle;
      for (const rootPath of [TEST_TRUSTED_ROOT, OTHER_TRUSTED_ROOT]) cases.push({ name: `${tag}[${i}] vs ${rootPath.split('/').pop() ?? ''}`, bundle, artifact: layer.payload, rootPath });
    }
  }
  return cases;
}

function conformance(): Case[] {
  if (!interopAvailable) return [];
  return conformanceCases()
    .filter((c) => c.keyPath === undefined)
    .flatMap((c) => {
      let bundle: SerializedBundle;
      try {
        bundle = JSON.parse(readFileSync(c.bundlePath, 'utf8')) as SerializedBundle;
        bundleFromJSON(bundle);
      } catch {
        return [];
      }
      return [{ name: `conformance ${c.name}`, bundle, artifact: readFileSync(c.artifactPath), rootPath: c.trustedRootPath }];
    });
}

describe('remembered certificate checks change no verdict', () => {
  it('equals bare @sigstore/verify on every fixture and conformance bundle, interleaved and repeated', async () => {
    const cases = [...(await fixtureCases()), ...conformance()];
    expect(cases.length).toBeGreaterThan(40);
    const bare = cases.map((c) => `${c.name}: ${bareVerdict(c)}`);
    // Three passes in different orders, so remembered results meet other signatures.
    for (const order of [cases, [...cases].reverse(), [...cases.filter((_, i) => i % 2 === 0), ...cases.filter((_, i) => i % 2 === 1)]]) {
      const verdicts = new Map(order.map((c) => [c.name, memoVerdict(c)]));
      expect(cases.map((c) => `${c.name}: ${verdicts.get(c.name) ?? '?'}`)).toEqual(bare);
    }
    expect(bare.some((v) => v.endsWith(': pass'))).toBe(true);
    expect(bare.some((v) => !v.endsWith(': pass'))).toBe(true);
  });
});
