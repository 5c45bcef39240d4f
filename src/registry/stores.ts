import type { ImageReference } from '../reference/index.ts';
import { DEFAULT_LIMITS, type Limits } from '../limits.ts';
import { LayoutStore } from '../layout/store.ts';
import { VERSION } from '../version.ts';
import { Authenticator } from './auth.ts';
import { RegistryClient } from './client.ts';
import type { CredentialSource } from './credentials.ts';
import { dockerConfigCredentials } from './docker-config.ts';
import type { ContentStore } from './types.ts';

export interface ContentStoresOptions {
  /** Permit plain-HTTP registries beyond loopback (`--allow-http-registry`). */
  readonly allowHttpRegistry?: boolean;
  /** Registry credentials; default the Docker config (`DOCKER_CONFIG`, `~/.docker/config.json`). */
  readonly credentials?: CredentialSource;
  readonly limits?: Limits;
  /** Injectable for tests and embedding; default the global fetch (whose connections undici keeps alive). */
  readonly fetch?: typeof fetch;
}

/**
 * The one way sigverify opens content: a registry repository or an OCI
 * layout directory, by reference. Registry clients of the same registry and
 * repository share one Authenticator, so a challenge answered (a bearer
 * token fetched, a credential helper run) for one verification serves every
 * later one until the token expires: a long-running gate pays the token
 * handshake once, not once per call. Each store opened carries its caller's
 * deadline.
 */
const MAX_POOLED_REPOSITORIES = 1000;

/** How a verification reaches registries: shared by VerifyOptions and GateOptions. */
export interface ConnectionOptions {
  /** Permit plain-HTTP registries beyond loopback (`--allow-http-registry`). */
  readonly allowHttpRegistry?: boolean;
  /** Registry credentials; default the Docker config (`DOCKER_CONFIG`, `~/.docker/config.json`). */
  readonly credentials?: CredentialSource;
  /** Caps (src/limits.ts); what is not given keeps its default. */
  readonly limits?: Partial<Limits>;
  /** Injectable for tests and embedding; default the global fetch. */
  readonly fetch?: typeof fetch;
  /** The caller's cancellation; every verification also has its own deadline. */
  readonly signal?: AbortSignal;
  /** Where content is opened: share one (the gate does) so registry tokens are reused; default one built from the fields above. */
  readonly stores?: StoreFactory;
}

/** The caller's stores, else ones built from its connection options (one per verifier or gate, so its tokens are reused). */
export function storesFor(options: ConnectionOptions, limits: Limits): StoreFactory {
  return options.stores ?? new ContentStores({
    limits,
    ...(options.allowHttpRegistry === undefined ? {} : { allowHttpRegistry: options.allowHttpRegistry }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}

/** Opens content by reference: the seam tests, benchmarks and embedders inject (an in-memory store, a mirror). */
export interface StoreFactory {
  open(ref: ImageReference, signal?: AbortSignal): ContentStore;
}

export class ContentStores implements StoreFactory {
  readonly #options: ContentStoresOptions;
  readonly #credentials: CredentialSource;
  readonly #limits: Limits;
  readonly #authenticators = new Map<string, Authenticator>();

  constructor(options: ContentStoresOptions = {}) {
    this.#options = options;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.#credentials = options.credentials ?? dockerConfigCredentials({ limits: this.#limits });
  }

  open(ref: ImageReference, signal?: AbortSignal): ContentStore {
    if (ref.kind === 'layout') return new LayoutStore(ref.path, this.#limits);
    const key = `${ref.registry}/${ref.repository}`;
    let authenticator = this.#authenticators.get(key);
    if (authenticator === undefined) {
      // Bounded: a process verifying from ever more repositories starts over rather than grow.
      if (this.#authenticators.size >= MAX_POOLED_REPOSITORIES) this.#authenticators.clear();
      authenticator = new Authenticator({ registry: ref.registry, repository: ref.repository, credentials: this.#credentials });
      this.#authenticators.set(key, authenticator);
    }
    return new RegistryClient({
      registry: ref.registry,
      repository: ref.repository,
      allowHttp: this.#options.allowHttpRegistry === true,
      limits: this.#limits,
      authenticator,
      ...(signal === undefined ? {} : { signal }),
      ...(this.#options.fetch === undefined ? {} : { fetch: this.#options.fetch }),
      userAgent: `sigverify/${VERSION}`,
    });
  }
}
