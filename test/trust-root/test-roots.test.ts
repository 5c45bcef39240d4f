import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isTestTrustRoot, parseTrustedRoot } from '../../src/trust-root/index.ts';
import { OTHER_TRUSTED_ROOT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';
import { createTestSigstore, trustedRootFor } from '../helpers/sigstore/index.ts';

describe('the project\'s test trust roots (src/trust-root/test-roots.ts)', () => {
  it('recognises both committed fixture roots (re-minting with new keys means updating the digests)', () => {
    for (const path of [TEST_TRUSTED_ROOT, OTHER_TRUSTED_ROOT]) {
      expect(isTestTrustRoot(parseTrustedRoot(readFileSync(path), path))).toBe(true);
    }
  });

  it('recognises a re-serialised fixture root by its CA certificates', () => {
    const json = JSON.parse(readFileSync(TEST_TRUSTED_ROOT, 'utf8')) as Record<string, unknown>;
    const reserialised = Buffer.from(JSON.stringify({ ...json, tlogs: [] }));
    expect(isTestTrustRoot(parseTrustedRoot(reserialised, 'reserialised'))).toBe(true);
  });

  it('control: a root of another (freshly generated) Sigstore is not a test root', () => {
    const root = Buffer.from(JSON.stringify(trustedRootFor(createTestSigstore())));
    expect(isTestTrustRoot(parseTrustedRoot(root, 'fresh'))).toBe(false);
  });
});
