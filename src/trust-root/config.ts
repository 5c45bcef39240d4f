import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import { checkPrivateDirectory, ensurePrivateDirectory, readOwnedFileIfPresent } from '../io/local-files.ts';
import { parseJson, parseValue } from '../json/parse.ts';
import type { Limits } from '../limits.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { assembledTrust } from './assembled.ts';
import { PUBLIC_GOOD_MIRROR, PUBLIC_GOOD_ROOT, type TrustSource, defaultTufCachePath, sourceKey, trustedRootFile } from './sources.ts';
import type { TrustRoot } from './trusted-root.ts';
import { writeAtomic } from './tuf/cache.ts';
import { type TufTrustSource, tufSource } from './tuf/source.ts';

/**
 * One selection model for where trust comes from, shared by the library, the
 * CLI flags and the policy file. Field names are public API: they are only
 * ever added to.
 *
 * | source | fields | what |
 * |---|---|---|
 * | `public-good` | `root?` | Sigstore's public-good TUF repository; initial root pinned in `trust-root/public-good/root.json` unless `root` names another |
 * | `tuf-mirror` | `url`, `root?` | a private Sigstore's TUF mirror; `root` (its initial root.json) is needed until the cache holds one |
 * | `tuf-directory` | `path`, `root?` | a TUF repository in a directory (removable media, a `trust export`) |
 * | `trusted-root` | `path` | a pinned `trusted_root.json`: no TUF |
 * | `assembled` | `fulcio[]`, `rekor[]`, `ctlogs[]`, `tsa[]` | a trust root built from individual PEM files, each with `validFor` `{start, end?}` |
 *
 * TUF sources also take `cacheDir` (default {@link defaultTufCachePath}; each
 * repository caches in `<cacheDir>/<source id>/`) and
 * `allowExpiredMetadataUnsafe` (accept expired metadata after verifying
 * everything else; recorded in the TrustRoot).
 */
const Path = z.string().min(1);
const ValidFor = z.strictObject({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }).optional() });
const TUF_OPTIONS = {
  cacheDir: Path.optional(),
  allowExpiredMetadataUnsafe: z.boolean().optional(),
};

export const TrustConfigSchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('public-good'), root: Path.optional(), ...TUF_OPTIONS }),
  z.strictObject({ source: z.literal('tuf-mirror'), url: z.url({ protocol: /^https?$/ }), root: Path.optional(), ...TUF_OPTIONS }),
  z.strictObject({ source: z.literal('tuf-directory'), path: Path, root: Path.optional(), ...TUF_OPTIONS }),
  z.strictObject({ source: z.literal('trusted-root'), path: Path }),
  z.strictObject({
    source: z.literal('assembled'),
    fulcio: z.array(z.strictObject({ certChain: Path, uri: z.string().optional(), validFor: ValidFor })).optional(),
    rekor: z.array(z.strictObject({ publicKey: Path, baseUrl: z.string().min(1), validFor: ValidFor })).optional(),
    ctlogs: z.array(z.strictObject({ publicKey: Path, baseUrl: z.string().optional(), validFor: ValidFor })).optional(),
    tsa: z.array(z.strictObject({ certChain: Path, uri: z.string().optional(), validFor: ValidFor })).optional(),
  }),
]);

export type TrustConfig = z.input<typeof TrustConfigSchema>;
export type TrustSourceKind = TrustConfig['source'];
export type TufTrustConfig = Extract<TrustConfig, { source: 'public-good' | 'tuf-mirror' | 'tuf-directory' }>;

/** What the library may inject besides the configuration. */
export interface TrustSourceOptions {
  readonly limits?: Limits;
  /** HTTP for TUF mirrors; default the global fetch. */
  readonly fetch?: typeof fetch;
}

function invalid(where: string) {
  return (reason: string, cause?: unknown): SigverifyError =>
    new SigverifyError('TRUST_CONFIG_INVALID', `${where} is invalid: ${reason}`, cause === undefined ? {} : { cause });
}

/** Validates an untrusted trust configuration (policy file, JSON); TRUST_CONFIG_INVALID with the zod issue paths. */
export function parseTrustConfig(value: unknown, where = 'trust configuration'): TrustConfig {
  return parseValue(TrustConfigSchema, value, invalid(where));
}

export function isTufConfig(config: TrustConfig): config is TufTrustConfig {
  return config.source === 'public-good' || config.source === 'tuf-mirror' || config.source === 'tuf-directory';
}

/**
 * The cache subdirectory of a TUF source: `public-good`; `mirror-<host>[-<port>]-<8 hex of sha256(url)>`;
 * `directory` (one, whatever path the media is mounted at, so rollback
 * protection carries over from one delivery to the next).
 */
export function tufSourceId(config: TufTrustConfig): string {
  if (config.source === 'public-good') return 'public-good';
  if (config.source === 'tuf-directory') return 'directory';
  const url = new URL(config.url);
  const hash = createHash('sha256').update(url.href.replace(/\/+$/, '')).digest('hex').slice(0, 8);
  return `mirror-${url.hostname.replace(/[^A-Za-z0-9.-]/g, '_')}${url.port === '' ? '' : `-${url.port}`}-${hash}`;
}

/** The TrustSource a configuration selects. */
export function trustSourceFrom(config: TrustConfig, options: TrustSourceOptions = {}): TrustSource {
  const parsed = parseTrustConfig(config);
  if (parsed.source === 'trusted-root') return trustedRootFile(parsed.path, (options.limits ?? DEFAULT_LIMITS).maxTrustFileBytes);
  if (parsed.source === 'assembled') {
    const { fulcio = [], rekor = [], ctlogs = [], tsa = [] } = parsed;
    if (fulcio.length + rekor.length + ctlogs.length + tsa.length === 0) {
      throw new SigverifyError('TRUST_CONFIG_INVALID', 'an assembled trust root needs at least one Fulcio CA, Rekor key, CT log key or TSA');
    }
    return assembledTrust({ fulcio, rekor, ctlogs, tsa });
  }
  return tufTrustSource(parsed, options);
}

export function tufTrustSource(given: TufTrustConfig, options: TrustSourceOptions = {}): TufTrustSource {
  const config = parseTrustConfig(given);
  if (!isTufConfig(config)) throw new SigverifyError('TRUST_CONFIG_INVALID', `${config.source} is not a TUF source`);
  const root = config.source === 'public-good' ? (config.root ?? PUBLIC_GOOD_ROOT) : config.root;
  return tufSource({
    id: tufSourceId(config),
    repository: config.source === 'tuf-directory' ? { kind: 'directory', path: config.path } : { kind: 'http', url: config.source === 'tuf-mirror' ? config.url : PUBLIC_GOOD_MIRROR },
    cacheDir: config.cacheDir ?? defaultTufCachePath(),
    ...(root === undefined ? {} : { initialRoot: root }),
    ...(config.allowExpiredMetadataUnsafe === true ? { allowExpiredMetadataUnsafe: true } : {}),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}


/**
 * The source `sigverify trust init` configured, recorded in
 * `<cacheDir>/config.json` so that later runs use it without flags.
 */
export const TRUST_CONFIG_MEDIA_TYPE = 'application/vnd.sigverify.trust-config+json;version=1';
const CONFIG_FILE = 'config.json';
const RecordedConfig = z.strictObject({ mediaType: z.literal(TRUST_CONFIG_MEDIA_TYPE), trust: TrustConfigSchema });

/**
 * Records `config` as the configured source of `cacheDir`. Per-run settings
 * are not recorded: `cacheDir` is where the record lives, the unsafe opt-out
 * must be asked for on every run, and a TUF source's initial root is in its
 * cache once initialised. Paths are made absolute.
 */
export async function recordTrustConfig(cacheDir: string, config: TrustConfig): Promise<TrustConfig> {
  const parsed = parseTrustConfig(config);
  let recorded: TrustConfig;
  switch (parsed.source) {
    case 'public-good':
      recorded = { source: 'public-good' };
      break;
    case 'tuf-mirror':
      recorded = { source: 'tuf-mirror', url: parsed.url };
      break;
    case 'tuf-directory':
      recorded = { source: 'tuf-directory', path: resolve(parsed.path) };
      break;
    case 'trusted-root':
      recorded = { source: 'trusted-root', path: resolve(parsed.path) };
      break;
    case 'assembled': {
      const absolute = <T extends { certChain?: string; publicKey?: string }>(entries: readonly T[] | undefined): T[] =>
        (entries ?? []).map((e) => ({ ...e, ...(e.certChain === undefined ? {} : { certChain: resolve(e.certChain) }), ...(e.publicKey === undefined ? {} : { publicKey: resolve(e.publicKey) }) }));
      recorded = { source: 'assembled', fulcio: absolute(parsed.fulcio), rekor: absolute(parsed.rekor), ctlogs: absolute(parsed.ctlogs), tsa: absolute(parsed.tsa) };
      break;
    }
  }
  try {
    await ensurePrivateDirectory(cacheDir, 'TUF cache directory');
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot create ${cacheDir}: ${(cause as Error).message}`, { cause });
  }
  await writeAtomic(join(cacheDir, CONFIG_FILE), Buffer.from(`${JSON.stringify({ mediaType: TRUST_CONFIG_MEDIA_TYPE, trust: recorded }, null, 2)}\n`));
  return recorded;
}

/** The configuration recorded in `cacheDir`, or undefined when there is none. */
export async function readTrustConfig(cacheDir: string, limits: Limits = DEFAULT_LIMITS): Promise<TrustConfig | undefined> {
  const path = join(cacheDir, CONFIG_FILE);
  const maxBytes = limits.maxConfigFileBytes;
  let bytes: Buffer | undefined;
  try {
    // The recorded source decides the whole trust root: only a private cache is believed.
    if (!(await checkPrivateDirectory(cacheDir, 'TUF cache directory'))) return undefined;
    const read = await readOwnedFileIfPresent(path, maxBytes, 'recorded trust configuration');
    if (read === undefined) return undefined;
    bytes = read.bytes;
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  if (bytes === undefined) throw new SigverifyError('TRUST_CONFIG_INVALID', `${path} is larger than ${maxBytes} bytes`);
  return parseJson(RecordedConfig, bytes, invalid(path)).trust;
}

export interface ConfiguredTrustOptions extends TrustSourceOptions {
  /** Default {@link defaultTufCachePath}. */
  readonly cacheDir?: string;
  /** Applies to TUF sources. Unsafe. */
  readonly allowExpiredMetadataUnsafe?: boolean;
}

/** The source recorded in `cacheDir` (by `sigverify trust init`), or undefined when none is. */
export async function trustSourceFromCache(cacheDir: string, options: Omit<ConfiguredTrustOptions, 'cacheDir'> = {}): Promise<TrustSource | undefined> {
  const config = await readTrustConfig(cacheDir, options.limits);
  return config === undefined ? undefined : trustSourceFrom(withRunOptions(config, { ...options, cacheDir }), options);
}

/** The configured source and its configuration: the one recorded in the cache, else the public good. */
export async function resolveConfiguredTrust(options: ConfiguredTrustOptions = {}): Promise<{ config: TrustConfig; source: TrustSource }> {
  const cacheDir = options.cacheDir ?? defaultTufCachePath();
  const config = withRunOptions((await readTrustConfig(cacheDir, options.limits)) ?? { source: 'public-good' }, { ...options, cacheDir });
  return { config, source: trustSourceFrom(config, options) };
}

/**
 * What `verify` uses: the source configured with `sigverify trust init` in
 * the cache directory, else the public-good TUF repository. The record is
 * read when the root is loaded; the TrustRoot names the actual source.
 */
export function configuredTrustSource(options: ConfiguredTrustOptions = {}): TrustSource {
  const cacheDir = options.cacheDir ?? defaultTufCachePath();
  return {
    description: `the trust source configured in ${cacheDir} (default: public-good TUF)`,
    key: sourceKey({ source: 'configured', cacheDir: resolve(cacheDir), allowExpiredMetadataUnsafe: options.allowExpiredMetadataUnsafe === true }),
    async load(): Promise<TrustRoot> {
      return (await resolveConfiguredTrust({ ...options, cacheDir })).source.load();
    },
  };
}

function withRunOptions(config: TrustConfig, options: ConfiguredTrustOptions & { cacheDir: string }): TrustConfig {
  if (!isTufConfig(config)) return config;
  return { ...config, cacheDir: options.cacheDir, ...(options.allowExpiredMetadataUnsafe === true ? { allowExpiredMetadataUnsafe: true } : {}) };
}
