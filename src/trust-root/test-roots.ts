import { createHash } from 'node:crypto';
import type { TrustRoot } from './trusted-root.ts';

/**
 * The project's own test Sigstore: `fixtures/trust/trusted_root.json` and
 * `other_trusted_root.json`, whose private keys are committed in
 * `fixtures/private/` so that anyone can mint signatures they accept. A
 * processor that trusts one of them accepts images signed by anyone.
 *
 * Recognised by the sha256 of the trusted_root.json and, so that a root
 * assembled from their files (or re-serialised) is caught too, by the sha256
 * of each of their CA certificates (DER). `test/trust-root/test-roots.test.ts`
 * checks these against the committed fixtures; `npm run fixtures --
 * --new-keys` means updating them.
 */
const TEST_ROOT_DIGESTS: ReadonlySet<string> = new Set([
  'sha256:d863361c763e086f6a3ac2d277ab946b867f459383718cd26b3916ea1f7b6923',
  'sha256:5908b5e0575ec9500225e24de1bc0088d3c4bc7bc290c467fa7937b887ca9f83',
]);

const TEST_CA_CERTIFICATE_DIGESTS: ReadonlySet<string> = new Set([
  '6e2a3251524df12c32f042e04508db070bef87cb58b9e0fedb2e7f6a5161c553',
  '8cf26f889d9dfb2b102ac37ae2c616460af25379b380b555808df88dd0a1ea80',
  '1dcf3081cb3b2ff2a16210ab68c0afe0802780c168f4cf941c2f212dea108499',
  '0690270c658cd3fe838695d711bb0b4f1312af70c0a17fa451a13f57916b20f2',
]);

/** Whether a trust root is, or trusts a CA of, sigverify's own test Sigstore (whose private keys are public). */
export function isTestTrustRoot(root: TrustRoot): boolean {
  if (root.digest !== undefined && TEST_ROOT_DIGESTS.has(root.digest)) return true;
  return root.trustedRoot.certificateAuthorities.some((ca) =>
    (ca.certChain?.certificates ?? []).some((c) => TEST_CA_CERTIFICATE_DIGESTS.has(createHash('sha256').update(c.rawBytes).digest('hex'))));
}

/** What `verify` prints, and the gate's refusal says. */
export const TEST_TRUST_ROOT_WARNING =
  "the trust root is sigverify's own TEST Sigstore (fixtures/trust), whose private keys are published: anyone can sign images it accepts";
