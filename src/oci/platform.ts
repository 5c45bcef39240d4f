import { SigverifyError } from '../errors.ts';
import type { Descriptor, ImageIndex } from './manifest.ts';

/**
 * Platforms as `os/arch[/variant]` (OCI image-index `platform`; Docker's
 * `--platform`). Pure: selection from an index that was already verified.
 */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const PLATFORM = /^([a-z0-9_.-]+)\/([a-z0-9_.-]+)(?:\/([a-z0-9_.-]+))?$/;

export function parsePlatform(text: string): Platform {
  const m = PLATFORM.exec(text);
  if (m === null) throw new SigverifyError('USAGE', `platform "${text}" is not os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  return { os: m[1] as string, architecture: m[2] as string, ...(m[3] === undefined ? {} : { variant: m[3] }) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant === undefined ? '' : `/${p.variant}`}`;
}

/** A platform asked for without a variant matches any variant; one with a variant only that variant. */
export function platformMatches(wanted: Platform, actual: Platform | undefined): boolean {
  return actual !== undefined && actual.os === wanted.os && actual.architecture === wanted.architecture && (wanted.variant === undefined || actual.variant === wanted.variant);
}

/** The one child of `index` for `wanted`; none, or several that differ, is refused rather than guessed. */
export function selectPlatform(index: ImageIndex, wanted: Platform, where: string): Descriptor {
  const matches = index.manifests.filter((m) => platformMatches(wanted, m.platform));
  const digests = new Set(matches.map((m) => m.digest));
  if (digests.size === 1) return matches[0] as Descriptor;
  throw new SigverifyError(
    'PLATFORM_NOT_FOUND',
    digests.size === 0 ? `${where} has no manifest for ${formatPlatform(wanted)}` : `${where} has ${digests.size} different manifests for ${formatPlatform(wanted)}; give the variant`,
  );
}
