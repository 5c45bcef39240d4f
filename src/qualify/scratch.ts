import { SigverifyError } from '../errors.ts';
import { isLoopbackHost } from '../http/http.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { parseManifest } from '../oci/index.ts';
import { type Digest, type RegistryReference, parseReference, sha256Digest } from '../reference/index.ts';
import { type CredentialSource, RegistryClient, parseWwwAuthenticate, selectChallenge } from '../registry/index.ts';
import { parseTokenResponse, tokenRequest } from '../registry/auth.ts';

/**
 * Writing to the scratch repository a site names for its qualification (and
 * to nothing else): the distribution-spec "Push" endpoints the site protocol
 * needs to stage a modified image and a copied signature. Reads go through
 * the ordinary RegistryClient (hash-checked, capped). Credentials come from
 * the same source as for pulls and are sent only to the scratch registry (or
 * its token realm, as its challenge names). A registry that refuses writes
 * (HTTP 401/403/405, a read-only registry) makes the write cases NOT
 * EXECUTED, never passed.
 */
export class ScratchRepository {
  readonly reference: RegistryReference;
  readonly description: string;
  readonly #base: string;
  readonly #credentials: CredentialSource | undefined;
  readonly #allowHttp: boolean;
  readonly #limits: Limits;
  #authorization: string | undefined;

  constructor(repository: string, options: { credentials?: CredentialSource; allowHttpRegistry?: boolean; limits?: Partial<Limits> } = {}) {
    const reference = parseReference(`${repository}:qualification`);
    if (reference.kind !== 'registry') throw new SigverifyError('USAGE', `the scratch repository must be a registry repository, not ${repository}`);
    this.reference = reference;
    this.description = `${this.reference.registry}/${this.reference.repository}`;
    const loopback = isLoopbackHost(new URL(`http://${this.reference.registry}`).hostname);
    this.#allowHttp = options.allowHttpRegistry === true;
    this.#base = `${loopback || this.#allowHttp ? 'http' : 'https'}://${this.reference.registry}/v2/${this.reference.repository}`;
    this.#credentials = options.credentials;
    this.#limits = resolveLimits(options.limits);
  }

  /** A reader of the scratch repository (to fetch back what was pushed). */
  reader(): RegistryClient {
    return new RegistryClient({ registry: this.reference.registry, repository: this.reference.repository, ...(this.#credentials === undefined ? {} : { credentials: this.#credentials }), allowHttp: this.#allowHttp, limits: this.#limits });
  }

  /**
   * Whether this repository accepts writes: starts a blob upload and cancels
   * it. Resolves a reason when it does not (for the report), undefined when it does.
   */
  async refusesWrites(): Promise<string | undefined> {
    let response: Response;
    try {
      response = await this.#send('POST', '/blobs/uploads/');
    } catch (error) {
      return `the scratch repository ${this.description} cannot be reached: ${(error as Error).message}`;
    }
    if (response.status !== 202) {
      await response.body?.cancel();
      return `the scratch repository ${this.description} refuses writes (starting an upload answered HTTP ${response.status})`;
    }
    const location = response.headers.get('location');
    await response.body?.cancel();
    // Cancel the upload; a registry that cannot is still writable (it purges stale uploads itself).
    if (location !== null) await this.#send('DELETE', new URL(location, this.#base).href).then((r) => r.body?.cancel(), () => undefined);
    return undefined;
  }

  /** Uploads a blob unless the repository has it (monolithic upload); resolves its digest. */
  async putBlob(bytes: Uint8Array): Promise<Digest> {
    const digest = sha256Digest(bytes);
    const head = await this.#send('HEAD', `/blobs/${digest}`);
    await head.body?.cancel();
    if (head.status === 200) return digest;
    const start = await this.#send('POST', '/blobs/uploads/');
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (start.status !== 202 || location === null) throw this.#refused(`upload of blob ${digest}`, start.status);
    const url = new URL(location, this.#base);
    url.searchParams.set('digest', digest);
    const put = await this.#send('PUT', url.href, { 'content-type': 'application/octet-stream' }, bytes);
    await put.body?.cancel();
    if (put.status !== 201) throw this.#refused(`upload of blob ${digest}`, put.status);
    return digest;
  }

  /** Puts a manifest under a tag (or its digest); resolves the digest of the bytes. */
  async putManifest(reference: string, bytes: Uint8Array, mediaType: string): Promise<Digest> {
    const response = await this.#send('PUT', `/manifests/${reference}`, { 'content-type': mediaType }, bytes);
    await response.body?.cancel();
    if (response.status !== 201) throw this.#refused(`put of manifest ${reference}`, response.status);
    return sha256Digest(bytes);
  }

  /**
   * Copies a manifest (an image, or an index and its images) from `source`
   * into this repository: blobs first, then the manifest, under `tag` when
   * given. Every byte is read hash-checked and within the limits.
   */
  async copy(source: RegistryClient, reference: string, tag?: string): Promise<{ digest: Digest; mediaType: string; bytes: Uint8Array }> {
    const fetched = await source.getManifest(reference);
    if (fetched === undefined) throw new SigverifyError('IMAGE_NOT_FOUND', `${source.description}: no manifest ${reference} to copy into the scratch repository`);
    await this.copyContent(source, fetched.bytes);
    const mediaType = parseManifest(fetched.bytes, `${source.description}@${fetched.digest}`).mediaType;
    await this.putManifest(tag ?? fetched.digest, fetched.bytes, mediaType);
    return { digest: fetched.digest, mediaType, bytes: fetched.bytes };
  }

  /** What a manifest references (config and layers, or an index's manifests), copied from `source`. */
  async copyContent(source: RegistryClient, manifestBytes: Uint8Array): Promise<void> {
    const manifest = parseManifest(manifestBytes, source.description);
    if (manifest.kind === 'index') {
      for (const child of manifest.manifests) await this.copy(source, child.digest);
      return;
    }
    for (const blob of [manifest.config, ...manifest.layers]) {
      await this.putBlob(await source.getBlob(blob.digest, blob.size, this.#limits.maxArtifactBytes));
    }
  }

  #refused(what: string, status: number): SigverifyError {
    return new SigverifyError('REGISTRY_HTTP_ERROR', `the scratch repository ${this.description} refused the ${what} (HTTP ${status})`, { details: { status, registry: this.reference.registry } });
  }

  /** One request, answering one 401 challenge (Basic, or Bearer with the scope the registry asks for) and keeping the answer. */
  async #send(method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.#base}${path}`;
    if (new URL(url).origin !== new URL(this.#base).origin) throw new SigverifyError('REDIRECT_REFUSED', `the scratch registry sent an upload location on another origin: ${new URL(url).origin}`);
    const request = (authorization: string | undefined): Promise<Response> =>
      fetch(url, {
        method,
        redirect: 'manual',
        headers: { ...headers, ...(authorization === undefined ? {} : { authorization }) },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.#limits.requestTimeoutMs),
      });
    let response = await request(this.#authorization);
    if (response.status !== 401) return response;
    await response.body?.cancel();
    const challenge = selectChallenge(parseWwwAuthenticate(response.headers.get('www-authenticate') ?? '') ?? []);
    const credentials = await this.#credentials?.get(this.reference.registry);
    if (challenge === undefined) return response;
    if (challenge.scheme === 'basic') {
      if (credentials === undefined) return response;
      this.#authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    } else {
      const token = tokenRequest(challenge, this.reference.repository, credentials, this.#allowHttp);
      if (typeof token === 'string') throw new SigverifyError('REGISTRY_AUTH_FAILED', `the scratch registry ${this.reference.registry}: ${token}`);
      const answer = await fetch(token.url, {
        method: token.form === undefined ? 'GET' : 'POST',
        redirect: 'manual',
        headers: { accept: 'application/json', ...(token.authorization === undefined ? {} : { authorization: token.authorization }) },
        ...(token.form === undefined ? {} : { body: token.form }),
        signal: AbortSignal.timeout(this.#limits.requestTimeoutMs),
      });
      const parsed = parseTokenResponse(new Uint8Array(await answer.arrayBuffer()));
      if (answer.status !== 200 || typeof parsed === 'string') return response;
      this.#authorization = `Bearer ${parsed.token}`;
    }
    response = await request(this.#authorization);
    return response;
  }
}
