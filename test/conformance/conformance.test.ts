import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { verifyBundleFile } from '../../src/verify/index.ts';
import { type ConformanceCase, conformanceCases } from '../helpers/conformance.ts';
import { describeInterop, interopAvailable } from '../helpers/interop.ts';

/**
 * Every sigstore-conformance bundle-verify case, in file mode and in digest
 * mode (`sha256:<hex>`), in process. (`npm run conformance` runs the same
 * through the CLI, as the suite's harness does, and prints the score.)
 */
async function verifies(c: ConformanceCase, mode: 'file' | 'digest'): Promise<boolean> {
  const policy = c.keyPath === undefined
    ? { certificateIdentity: c.identity, certificateOidcIssuer: c.issuer }
    : { publicKey: readFileSync(c.keyPath, 'utf8') };
  const artifact = mode === 'file' ? { bytes: readFileSync(c.artifactPath) } : { sha256: Buffer.from(c.artifactDigest.slice(7), 'hex') };
  try {
    await verifyBundleFile(readFileSync(c.bundlePath), artifact, policy, trustedRootFile(c.trustedRootPath));
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === undefined) throw error;
    return false;
  }
}

const runs = interopAvailable ? conformanceCases().flatMap((c) => (['file', 'digest'] as const).map((mode) => ({ c, mode, name: `${c.name} (${mode})` }))) : [];

describeInterop('sigstore-conformance bundle-verify', () => {
  it('has the 70 cases the suite ships', () => {
    expect(runs).toHaveLength(140);
  });

  it.each(runs)('$name', async ({ c, mode }) => {
    expect(await verifies(c, mode)).toBe(c.shouldVerify);
  });
});
