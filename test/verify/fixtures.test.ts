import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { PolicyInput } from '../../src/policy/index.ts';
import { trustedRootFile } from '../../src/trust-root/index.ts';
import { verifyImage } from '../../src/verify/index.ts';
import { FIXTURES, FIXTURE_LAYOUT } from '../helpers/fixtures.ts';

/**
 * Every expectation recorded in fixtures/fixtures.json (computed by the
 * minting script with bare sigstore-js plus exact identity matching) holds
 * for sigverify, offline, on the committed OCI layout.
 */
const Expectation = z.object({
  trustedRoot: z.enum(['test', 'other']),
  policy: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('keyless'), identity: z.object({ value: z.string() }), issuer: z.string() }),
    z.object({ kind: z.literal('key'), keyFile: z.string(), insecureIgnoreTlog: z.boolean().optional() }),
  ]),
  outcome: z.enum(['verified', 'rejected']),
  code: z.string().optional(),
  verifiedLayers: z.array(z.number()).optional(),
});
const Signature = z.object({
  format: z.enum(['cosign-legacy', 'sigstore-bundle']),
  manifestTag: z.string().optional(),
  payloadDigest: z.string(),
  predicateType: z.string().optional(),
  referrer: z.object({ bundleDigest: z.string() }).optional(),
});
const Fixtures = z.object({
  trustedRoots: z.record(z.string(), z.object({ path: z.string() })),
  images: z.record(z.string(), z.object({ tag: z.string(), digest: z.string(), signatures: z.array(Signature), expectations: z.array(Expectation) })),
});

/**
 * The recorded expectations are what bare sigstore-js concludes per signature.
 * sigverify counts only image signatures: `.sig` layers, and bundles whose
 * statement has the cosign signature predicate type (docs/formats.md §4.6).
 */
const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';
const isImageSignature = (s: z.output<typeof Signature>) =>
  s.format === 'sigstore-bundle' ? s.predicateType === COSIGN_SIGN : s.manifestTag?.endsWith('.sig') === true;
/** What sigverify reports as payloadDigest: the payload blob (legacy) or the bundle blob (referrer). */
const reportedDigest = (s: z.output<typeof Signature>) => s.referrer?.bundleDigest ?? s.payloadDigest;

const fixtures = Fixtures.parse(JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8')));
const cases = Object.values(fixtures.images).flatMap((image) => image.expectations.map((e, i) => ({ name: `${image.tag} #${i} (${e.outcome})`, image, e })));

describe('fixtures.json expectations (offline, oci: layout)', () => {
  it.each(cases)('$name', async ({ image, e }) => {
    const policy: PolicyInput = e.policy.kind === 'keyless'
      ? { certificateIdentity: e.policy.identity.value, certificateOidcIssuer: e.policy.issuer }
      : { publicKey: readFileSync(join(FIXTURES, e.policy.keyFile), 'utf8'), ...(e.policy.insecureIgnoreTlog === true ? { ignoreTlogUnsafe: true } : {}) };
    const trust = trustedRootFile(join(FIXTURES, fixtures.trustedRoots[e.trustedRoot]?.path ?? ''));
    const run = verifyImage(`oci:${FIXTURE_LAYOUT}:${image.tag}`, policy, { trust });
    const expected = (e.outcome === 'verified' ? (e.verifiedLayers ?? []) : [])
      .map((i) => image.signatures[i])
      .filter((s) => s !== undefined && isImageSignature(s))
      .map((s) => reportedDigest(s as z.output<typeof Signature>))
      .sort();
    if (expected.length > 0) {
      const result = await run;
      expect(result.digest).toBe(image.digest);
      expect(result.signatures.filter((s) => s.outcome === 'verified').map((s) => s.payloadDigest).sort()).toEqual(expected);
    } else {
      const anySignature = image.signatures.some(isImageSignature);
      await expect(run).rejects.toMatchObject({ code: anySignature ? (e.code ?? 'NO_MATCHING_SIGNATURE') : 'NO_SIGNATURES', details: { digest: image.digest } });
    }
  });
});
