import { SigverifyError } from '../errors.ts';
import { type Digest, isDigest } from './digest.ts';

/**
 * Image references, normalised the way Docker and go-containerregistry do
 * (distribution/reference `normalize.go`, ggcr `pkg/name`):
 * - no registry (first path component without `.`/`:` and not `localhost`) → Docker Hub;
 * - `docker.io`, `index.docker.io` and `registry-1.docker.io` → `index.docker.io`
 *   (the form cosign writes into `docker-reference`);
 * - a single-component Docker Hub repository gets `library/`.
 * Tags and digests may both be given; the digest then wins and the tag is kept
 * for display only (as Docker does).
 */
export interface RegistryReference {
  readonly kind: 'registry';
  /** Registry host[:port], normalised: `index.docker.io`, `ghcr.io`, `127.0.0.1:5000`. */
  readonly registry: string;
  /** Repository path, lowercase: `library/alpine`, `org/team/app`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

/**
 * An OCI image-layout directory (OCI image-spec `image-layout.md`), the
 * equivalent of `cosign verify --local-image`: `oci:DIR`, `oci:DIR:tag`,
 * `oci:DIR@sha256:…`. Tags are `org.opencontainers.image.ref.name` annotations
 * in the layout's `index.json`.
 */
export interface LayoutReference {
  readonly kind: 'layout';
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export type ImageReference = RegistryReference | LayoutReference;

export const DOCKER_HUB = 'index.docker.io';
/** Host names that all mean Docker Hub; the parser folds them into {@link DOCKER_HUB}. */
export const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

// distribution/reference grammar (reference.go): path components, tag, registry host.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A tag (distribution/reference `reference.go`). */
export const TAG_PATTERN = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:.]+\](?::[0-9]{1,5})?$/;
const MAX_REFERENCE_LENGTH = 4096;
const MAX_REPOSITORY_LENGTH = 255;

function invalid(input: string, why: string): SigverifyError {
  return new SigverifyError('REFERENCE_INVALID', `invalid image reference "${input}": ${why}`, {
    details: { reference: input },
  });
}

/** Parses `[registry/]repo[:tag][@sha256:hex]` or `oci:DIR[:tag|@digest]`. */
export function parseReference(input: string): ImageReference {
  if (input.length === 0 || input.length > MAX_REFERENCE_LENGTH) {
    throw invalid(input.slice(0, 64), `length must be 1..${MAX_REFERENCE_LENGTH}`);
  }
  return input.startsWith('oci:') ? parseLayoutReference(input) : parseRegistryReference(input);
}

function splitDigest(input: string, rest: string): { rest: string; digest?: Digest } {
  const at = rest.lastIndexOf('@');
  if (at === -1) return { rest };
  const digest = rest.slice(at + 1);
  if (!isDigest(digest)) throw invalid(input, 'digest must be sha256: followed by 64 lowercase hex characters');
  return { rest: rest.slice(0, at), digest };
}

export function parseRegistryReference(input: string): RegistryReference {
  const { rest, digest } = splitDigest(input, input);
  let name = rest;
  let tag: string | undefined;
  const lastSlash = name.lastIndexOf('/');
  const lastColon = name.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = name.slice(lastColon + 1);
    name = name.slice(0, lastColon);
    if (!TAG_PATTERN.test(tag)) throw invalid(input, `tag "${tag}" is not a valid tag`);
  }
  const parts = name.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!HOST.test(first)) throw invalid(input, `registry "${first}" is not a valid host[:port]`);
    registry = DOCKER_HUB_ALIASES.has(first.toLowerCase()) ? DOCKER_HUB : first.toLowerCase();
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => !PATH_COMPONENT.test(p))) {
    throw invalid(input, 'repository must be lowercase path components of [a-z0-9] separated by . _ __ or -');
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > MAX_REPOSITORY_LENGTH) throw invalid(input, 'repository name too long');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { kind: 'registry', registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

function parseLayoutReference(input: string): LayoutReference {
  const { rest, digest } = splitDigest(input, input.slice('oci:'.length));
  let path = rest;
  let tag: string | undefined;
  // A tag follows the last ':' unless that ':' is part of the path (a path separator follows it).
  const colon = path.lastIndexOf(':');
  if (colon > 0 && !path.slice(colon + 1).includes('/')) {
    const candidate = path.slice(colon + 1);
    if (!TAG_PATTERN.test(candidate)) throw invalid(input, `tag "${candidate}" is not a valid tag`);
    tag = candidate;
    path = path.slice(0, colon);
  }
  if (path.length === 0) throw invalid(input, 'oci: needs a directory');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { kind: 'layout', path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** `registry/repository` (or `oci:DIR`): where signatures live and what cosign names `docker-reference`. */
export function repositoryName(ref: ImageReference): string {
  return ref.kind === 'registry' ? `${ref.registry}/${ref.repository}` : `oci:${ref.path}`;
}

/** The reference as a person reads it: name, tag if any, digest if any. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** What to ask a registry or layout for: the digest, else the tag (the parsers give every reference one or the other). */
export function manifestReference(ref: ImageReference): string {
  const wanted = ref.digest ?? ref.tag;
  if (wanted === undefined) throw new TypeError(`${repositoryName(ref)}: a reference with neither tag nor digest was not made by the parser`);
  return wanted;
}

/** The digest-pinned reference to run: `registry/repository@sha256:…`. */
export function pinnedReference(ref: ImageReference, digest: Digest): string {
  return `${repositoryName(ref)}@${digest}`;
}
