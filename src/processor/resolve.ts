import { z } from 'zod';
import { SigverifyError } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import { LayoutStore } from '../layout/store.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { formatPlatform, parseManifest, parsePlatform, platformMatches, selectPlatform } from '../oci/index.ts';
import { type Digest, type ImageReference, formatReference, isDigest, parseReference, pinnedReference } from '../reference/index.ts';
import { type CredentialSource, RegistryClient, dockerConfigCredentials } from '../registry/index.ts';
import type { ContentStore } from '../registry/types.ts';
import { VERSION } from '../version.ts';

export interface ResolveOptions {
  /** Permit plain-HTTP registries beyond loopback. */
  readonly allowHttpRegistry?: boolean;
  /** Registry credentials; default the Docker config. */
  readonly credentials?: CredentialSource;
  readonly limits?: Partial<Limits>;
  /** `os/arch[/variant]`: pin this child of a multi-arch image. */
  readonly platform?: string;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
}

export interface ResolvedDigest {
  /** The reference as given. */
  readonly reference: string;
  /** sha256 of the manifest or index bytes received (never a registry header). */
  readonly digest: Digest;
  readonly kind: 'manifest' | 'index';
  /** What to run: `registry/repository@sha256:…` of `digest`, or of the platform's child. */
  readonly pinnedReference: string;
  /** With a platform, the child manifest's digest as the index lists it (the index's bytes were hashed). */
  readonly platformDigest?: Digest;
}

/**
 * Resolves a reference to the digest of the bytes received, the first step of
 * every verification, for callers that must pin an image they do not verify
 * (a module with `require_signature: false`). Nothing is cached: a tag is
 * asked for every time.
 */
export async function resolveDigest(reference: string, options: ResolveOptions = {}): Promise<ResolvedDigest> {
  const ref = parseReference(reference);
  const platform = options.platform === undefined ? undefined : parsePlatform(options.platform);
  const limits = resolveLimits(options.limits);
  const signal = AbortSignal.any([AbortSignal.timeout(limits.verificationTimeoutMs), ...(options.signal ? [options.signal] : [])]);
  const store = openStore(ref, options, limits, signal);
  const wanted = ref.digest ?? ref.tag ?? 'latest';
  const fetched = await store.getManifest(wanted);
  if (fetched === undefined) {
    throw new SigverifyError('IMAGE_NOT_FOUND', `image ${formatReference(ref)} not found in ${store.description}`, { details: { reference, ...(isDigest(wanted) ? { digest: wanted } : {}) } });
  }
  const { digest } = fetched;
  const manifest = parseManifest(fetched.bytes, `${store.description}@${digest}`, limits);
  const resolved = { reference, digest, kind: manifest.kind, pinnedReference: pinnedReference(ref, digest) };
  if (platform === undefined) return resolved;
  if (manifest.kind === 'index') {
    const child = selectPlatform(manifest, platform, `${reference} (${digest})`).digest;
    return { ...resolved, pinnedReference: pinnedReference(ref, child), platformDigest: child };
  }
  // A single image: its config says which platform it is built for (OCI image-spec `config.md`).
  const bytes = await store.getBlob(manifest.config.digest, manifest.config.size, limits.maxManifestBytes);
  const actual = parseJson(ImageConfigPlatform, bytes, (reason) => new SigverifyError('MANIFEST_INVALID', `image config ${manifest.config.digest}: ${reason}`));
  if (!platformMatches(platform, actual.os === undefined || actual.architecture === undefined ? undefined : { os: actual.os, architecture: actual.architecture, ...(actual.variant === undefined ? {} : { variant: actual.variant }) })) {
    throw new SigverifyError('PLATFORM_NOT_FOUND', `${reference} (${digest}) is a single-platform image, not ${formatPlatform(platform)}`, { details: { reference, digest } });
  }
  return { ...resolved, platformDigest: digest };
}

const ImageConfigPlatform = z.looseObject({ os: z.string().optional(), architecture: z.string().optional(), variant: z.string().optional() });

function openStore(ref: ImageReference, options: ResolveOptions, limits: Limits, signal: AbortSignal): ContentStore {
  if (ref.kind === 'layout') return new LayoutStore(ref.path, limits);
  return new RegistryClient({
    registry: ref.registry,
    repository: ref.repository,
    allowHttp: options.allowHttpRegistry === true,
    limits,
    credentials: options.credentials ?? dockerConfigCredentials({ limits }),
    signal,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    userAgent: `sigverify/${VERSION}`,
  });
}
