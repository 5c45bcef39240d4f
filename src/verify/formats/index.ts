import type { SignatureCandidate } from '../../discovery/index.ts';
import type { Limits } from '../../limits.ts';
import type { Digest } from '../../reference/index.ts';
import type { ContentStore } from '../../registry/types.ts';
import { outcomeOfError } from '../outcome.ts';
import type { DiscoverySummary, SignatureOutcome } from '../result.ts';
import { bundleFormat } from './bundle.ts';
import type { FormatContext, Purpose, SignatureFormat } from './format.ts';
import { legacyFormat } from './legacy.ts';

export type { FormatContext, Purpose, SignatureFormat, Verified } from './format.ts';

/** Every storage format, by the name its candidates carry. Adding one: a file beside this one, and a line here. */
const FORMATS: { readonly [F in SignatureCandidate['format']]: SignatureFormat<Extract<SignatureCandidate, { format: F }>> } = {
  'cosign-legacy': legacyFormat,
  'sigstore-bundle': bundleFormat,
};

/**
 * Step 2: every format's signatures of one image, from every place they live
 * (docs/formats.md §2.4 and §4.6: unlike cosign, `.sig` is read even when
 * referrers exist, and both are reported), and the discovery summary.
 */
export async function discoverCandidates(store: ContentStore, imageDigest: Digest, purpose: Purpose, limits: Limits): Promise<{ candidates: SignatureCandidate[]; discovery: DiscoverySummary }> {
  const found = await Promise.all(Object.values(FORMATS).map((f: SignatureFormat) => f.discover(store, imageDigest, purpose, limits)));
  const discovery = Object.assign({ legacyTag: '', legacySignatures: 0, referrers: 'none', skippedReferrers: [] }, ...found.map((f) => f.summary)) as DiscoverySummary;
  return { candidates: found.flatMap((f) => f.candidates), discovery };
}

/**
 * Steps 3–5 for one candidate, by its format. A refusal is an outcome too,
 * never an exception, so every candidate is reported: whatever its checks
 * throw (a typed refusal, a registry failure, a bug) is this candidate's
 * typed outcome, and the image's other candidates still count.
 */
export async function verifyCandidate(candidate: SignatureCandidate, ctx: FormatContext): Promise<SignatureOutcome> {
  const originLocation = { kind: candidate.format === 'cosign-legacy' ? 'signature-manifest' : 'referrer', location: `${ctx.store.description}@${candidate.manifestDigest}` } as const;
  const base = { format: candidate.format, origin: candidate.origin, originLocation, payloadDigest: candidate.layer.digest } as const;
  try {
    const format = FORMATS[candidate.format] as SignatureFormat;
    return { ...base, outcome: 'verified', ...(await format.verify(candidate, ctx)) };
  } catch (error) {
    return { ...base, ...outcomeOfError(error) };
  }
}
