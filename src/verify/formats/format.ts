import type { Verifier } from '@sigstore/verify';
import { type InTotoStatement } from '../../cosign/index.ts';
import type { SignatureCandidate } from '../../discovery/index.ts';
import { SignatureRejected, SigverifyError } from '../../errors.ts';
import { yieldToEventLoop } from '../../io/concurrency.ts';
import type { Limits } from '../../limits.ts';
import type { Policy } from '../../policy/index.ts';
import type { Digest } from '../../reference/index.ts';
import type { ContentStore } from '../../registry/types.ts';
import { quote } from '../../text/quote.ts';
import type { TrustRoot } from '../../trust-root/index.ts';
import type { DiscoverySummary, SignatureOutcome } from '../result.ts';

/** What a verified statement must be to count: a cosign signature, or an attestation of one predicate type. */
export type Purpose = { readonly kind: 'signature'; readonly predicateType: string } | { readonly kind: 'attestation'; readonly predicateType: string };

/** Everything a format needs to check one candidate of one image: the same for every format. */
export interface FormatContext {
  readonly store: ContentStore;
  readonly imageDigest: Digest;
  /** The image manifest bytes (hash-checked), fetched on first use: the artifact of a message signature. */
  readonly imageManifest: () => Promise<Uint8Array | undefined>;
  readonly policy: Policy;
  readonly purpose: Purpose;
  readonly verifier: Verifier;
  readonly trust: TrustRoot;
  readonly limits: Limits;
}

/** A candidate's outcome fields once it verified (the pipeline adds where it came from). */
export type Verified = Omit<SignatureOutcome, 'format' | 'origin' | 'originLocation' | 'payloadDigest' | 'outcome'>;

/** What one format found for an image, and its part of the result's discovery summary. */
export interface Discovered<C> {
  readonly candidates: readonly C[];
  readonly summary: Partial<DiscoverySummary>;
}

/**
 * One way signatures are stored (docs/formats.md §1–§3): where to find them
 * for an image, and how to check one. The pipeline (verify-image.ts) runs
 * every format's discovery, then each candidate through its format's
 * `verify` with the same context; whatever a format throws becomes that
 * candidate's typed outcome (outcome.ts). A new storage format is one new
 * file in this folder and one line in `index.ts`.
 */
export interface SignatureFormat<C extends SignatureCandidate = SignatureCandidate> {
  readonly format: C['format'];
  discover(store: ContentStore, imageDigest: Digest, purpose: Purpose, limits: Limits): Promise<Discovered<C>>;
  /** Checks one candidate: bind it to the image, the cryptography, the policy. Resolves only when it verified. */
  verify(candidate: C, ctx: FormatContext): Promise<Verified>;
}

/**
 * A candidate's blob, hash first: refused before download when it declares
 * more than `maxBytes`; a body that does not hash to its descriptor is this
 * candidate's LAYER_DIGEST_MISMATCH, not the image's. Then a turn of the
 * event loop, so parsing a large blob does not starve other requests.
 */
export async function fetchCandidateBlob(candidate: SignatureCandidate, ctx: FormatContext, maxBytes: number): Promise<Buffer> {
  const { digest, size } = candidate.layer;
  const what = candidate.format === 'cosign-legacy' ? 'signature layer' : 'bundle';
  if (size > maxBytes) throw new SignatureRejected('LAYER_TOO_LARGE', `${what} declares ${size} bytes (limit ${maxBytes})`);
  let bytes: Buffer;
  try {
    bytes = Buffer.from(await ctx.store.getBlob(digest, size, maxBytes));
  } catch (error) {
    if (error instanceof SigverifyError && error.code === 'DIGEST_MISMATCH') {
      throw new SignatureRejected('LAYER_DIGEST_MISMATCH', `${what} does not match its digest ${digest}`, { cause: error });
    }
    throw error;
  }
  await yieldToEventLoop();
  return bytes;
}

/**
 * The statement must be of the predicate type asked for: for signatures,
 * cosign's sign predicate (an attestation is not a signature; cosign counts
 * any, docs/formats.md §4.6); for attestations, the `--type` given.
 */
export function checkPredicateType(statement: InTotoStatement, purpose: Purpose): void {
  if (statement.predicateType !== purpose.predicateType) {
    throw new SignatureRejected(
      'PREDICATE_TYPE_MISMATCH',
      `statement predicate type is ${quote(statement.predicateType)}, ${purpose.kind === 'signature' ? 'not a cosign signature' : 'not the one asked for'} (${quote(purpose.predicateType)})`,
    );
  }
}
