import { SigverifyError } from '../errors.ts';
import type { Digest } from '../reference/index.ts';
import type { ContentStore, FetchedManifest, ReferrersListing } from '../registry/types.ts';

/**
 * One verification's store, with a budget of bytes received across every
 * manifest and blob it fetches (`limits.maxVerificationBytes`). Each fetch is
 * capped on its own; this caps their sum, so a registry listing many large
 * unsigned referrers costs at most the budget in transfer, memory and
 * parsing, not their count times the per-blob cap.
 *
 * A blob reserves its declared size before it is fetched (concurrent fetches
 * cannot all start on the same remaining budget) and is then charged what
 * actually arrived; a manifest is charged what arrived. Past the budget,
 * fetches fail with LIMIT_EXCEEDED before any byte is requested.
 */
export class ByteBudget {
  readonly limit: number;
  /** Bytes received so far (blobs in flight count at their declared size). */
  spent = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  check(more: number, what: string, where: string): void {
    if (this.spent + more > this.limit) {
      throw new SigverifyError('LIMIT_EXCEEDED', `${where}: fetching ${what} would exceed this verification's budget of ${this.limit} bytes (${this.spent} received)`, {
        details: { digest: what, maxBytes: this.limit },
      });
    }
  }
}

export class BudgetedStore implements ContentStore {
  readonly description: string;
  readonly #store: ContentStore;
  readonly #budget: ByteBudget;

  constructor(store: ContentStore, budget: ByteBudget) {
    this.description = store.description;
    this.#store = store;
    this.#budget = budget;
  }

  async getManifest(reference: string): Promise<FetchedManifest | undefined> {
    this.#budget.check(0, reference, this.description);
    const fetched = await this.#store.getManifest(reference);
    if (fetched !== undefined) this.#budget.spent += fetched.bytes.length;
    return fetched;
  }

  async getBlob(digest: Digest, expectedSize: number, maxBytes: number): Promise<Uint8Array> {
    const reserved = Math.min(Math.max(expectedSize, 0), maxBytes);
    this.#budget.check(reserved, digest, this.description);
    this.#budget.spent += reserved;
    try {
      const bytes = await this.#store.getBlob(digest, expectedSize, maxBytes);
      this.#budget.spent += bytes.length - reserved;
      return bytes;
    } catch (error) {
      this.#budget.spent -= reserved;
      throw error;
    }
  }

  getReferrers(subject: Digest): Promise<ReferrersListing> {
    this.#budget.check(0, subject, this.description);
    return this.#store.getReferrers(subject);
  }
}
