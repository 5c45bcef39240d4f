import type { TrustSource } from './sources.ts';
import type { TrustRoot } from './trusted-root.ts';

export interface LiveTrustRootOptions {
  /** How often the source is loaded again (TUF: new metadata when the cached copy is stale). */
  readonly refreshMs: number;
  /** Told of a refresh that failed; the last root loaded stays in use. */
  readonly onError?: (error: unknown) => void;
}

/**
 * A trust root a long-running process keeps current (model: sigstore-go
 * `root.NewLiveTrustedRoot`): loaded once at start (a failure there is the
 * caller's), then loaded again on a schedule; a failed refresh keeps the last
 * root that loaded (a TUF source still refuses metadata past its expiry, so
 * "last good" never means "expired"). Verifiers given one
 * (`VerifyOptions.trust`) pick up each new root on their next verification.
 * The timer does not keep the process alive; `stop()` ends it.
 */
export class LiveTrustRoot {
  readonly source: TrustSource;
  #current: TrustRoot;
  readonly #timer: NodeJS.Timeout;

  private constructor(source: TrustSource, first: TrustRoot, options: LiveTrustRootOptions) {
    this.source = source;
    this.#current = first;
    this.#timer = setInterval(() => {
      this.refresh().catch((error: unknown) => options.onError?.(error));
    }, options.refreshMs);
    this.#timer.unref();
  }

  static async start(source: TrustSource, options: LiveTrustRootOptions): Promise<LiveTrustRoot> {
    return new LiveTrustRoot(source, await source.load(), options);
  }

  /** The root to verify with now. */
  current(): TrustRoot {
    return this.#current;
  }

  /** Loads the source now; on success the new root is current, on failure the old one stays and the error is thrown. */
  async refresh(): Promise<TrustRoot> {
    this.#current = await this.source.load();
    return this.#current;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
