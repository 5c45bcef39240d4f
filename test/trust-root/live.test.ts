import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SigverifyError } from '../../src/errors.ts';
import { LiveTrustRoot, type TrustRoot, type TrustSource, parseTrustedRoot } from '../../src/trust-root/index.ts';
import { ImageVerifier } from '../../src/verify/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, OTHER_TRUSTED_ROOT, TEST_TRUSTED_ROOT } from '../helpers/fixtures.ts';

/** A source whose next load is chosen by the test. */
function switchable(first: TrustRoot): { source: TrustSource; next: (root: TrustRoot | Error) => void } {
  let upcoming: TrustRoot | Error = first;
  return {
    source: { description: 'test source', key: 'test', load: () => (upcoming instanceof Error ? Promise.reject(upcoming) : Promise.resolve(upcoming)) },
    next: (root) => { upcoming = root; },
  };
}

const root = (path: string): TrustRoot => parseTrustedRoot(readFileSync(path), path);
const POLICY = { certificateIdentity: FIXTURE_IDENTITY, certificateOidcIssuer: FIXTURE_ISSUER };

describe('LiveTrustRoot: a trust root a long-running process refreshes', () => {
  it('a verifier picks up the refreshed root on its next verification; a failed refresh keeps the last good root', async () => {
    const { source, next } = switchable(root(OTHER_TRUSTED_ROOT));
    const live = await LiveTrustRoot.start(source, { refreshMs: 3_600_000 });
    try {
      const verifier = await ImageVerifier.create(POLICY, { trust: live });
      // The fixture is signed by the test Sigstore, not the other one.
      await expect(verifier.verify('oci:fixtures/layout:signed')).rejects.toMatchObject({ code: 'NO_MATCHING_SIGNATURE' });

      next(root(TEST_TRUSTED_ROOT));
      await live.refresh();
      expect((await verifier.verify('oci:fixtures/layout:signed')).verified).toBe(true);

      next(new SigverifyError('TRUST_ROOT_UNAVAILABLE', 'mirror down'));
      await expect(live.refresh()).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
      expect(verifier.trust.digest).toBe(root(TEST_TRUSTED_ROOT).digest);
      expect((await verifier.verify('oci:fixtures/layout:signed')).verified).toBe(true);
    } finally {
      live.stop();
    }
  });

  it('a root that cannot be loaded at start is the caller\'s error', async () => {
    const { source, next } = switchable(root(TEST_TRUSTED_ROOT));
    next(new SigverifyError('TRUST_ROOT_UNAVAILABLE', 'mirror down'));
    await expect(LiveTrustRoot.start(source, { refreshMs: 1000 })).rejects.toMatchObject({ code: 'TRUST_ROOT_UNAVAILABLE' });
  });
});
