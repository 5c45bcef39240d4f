import { parseArgs } from 'node:util';
import { SigverifyError } from '../index.ts';
import { checkArgumentSizes } from './args.ts';

/**
 * `sigverify trust …` arguments. Every subcommand takes `--cache DIR` (the
 * same directory as `verify --tuf-cache`; default `$SIGVERIFY_TUF_CACHE`,
 * else `~/.cache/sigverify/tuf`) and `--allow-expired-trust-metadata-unsafe`.
 */
interface Common {
  /** undefined: the default cache directory. */
  readonly cacheDir: string | undefined;
  readonly allowExpiredMetadataUnsafe: boolean;
}

export type TrustCommand =
  | (Common & {
      readonly command: 'init';
      readonly from: { readonly mirror: string } | { readonly directory: string } | { readonly publicGood: true };
      readonly root: string | undefined;
    })
  | (Common & { readonly command: 'status'; readonly output: 'text' | 'json'; readonly warnWithinDays: number })
  | (Common & { readonly command: 'refresh'; readonly directory: string | undefined })
  | (Common & { readonly command: 'export'; readonly directory: string })
  | { readonly command: 'help' };

const COMMON = {
  cache: { type: 'string' },
  'allow-expired-trust-metadata-unsafe': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS = {
  init: { ...COMMON, mirror: { type: 'string' }, 'from-dir': { type: 'string' }, 'public-good': { type: 'boolean' }, root: { type: 'string' } },
  status: { ...COMMON, output: { type: 'string', short: 'o' }, 'warn-days': { type: 'string' } },
  refresh: { ...COMMON, 'from-dir': { type: 'string' } },
  export: { ...COMMON },
} as const;

function usage(message: string): SigverifyError {
  return new SigverifyError('USAGE', message);
}

/** `argv`: the arguments after `trust` (a leading `trust` is tolerated). */
export function parseTrustCommand(argv: readonly string[]): TrustCommand {
  // Bounds what util.parseArgs is given (it is quadratic in argv); found by the fuzz suite (test/fuzz/cli.test.ts).
  checkArgumentSizes(argv);
  const args = argv[0] === 'trust' ? argv.slice(1) : [...argv];
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') return { command: 'help' };
  if (sub !== 'init' && sub !== 'status' && sub !== 'refresh' && sub !== 'export') throw usage(`unknown trust command "${sub}" (try: sigverify trust help)`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS[sub], allowPositionals: true, strict: true });
  } catch (cause) {
    throw new SigverifyError('USAGE', (cause as Error).message, { cause });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values['help'] === true) return { command: 'help' };
  const common: Common = {
    cacheDir: values['cache'] as string | undefined,
    allowExpiredMetadataUnsafe: values['allow-expired-trust-metadata-unsafe'] === true,
  };
  const positionals = parsed.positionals;
  if (sub === 'export') {
    if (positionals.length !== 1) throw usage(`trust export takes exactly one DIR, got ${positionals.length}`);
    return { ...common, command: 'export', directory: positionals[0] as string };
  }
  if (positionals.length > 0) throw usage(`trust ${sub} takes no arguments besides flags, got "${positionals[0] ?? ''}"`);
  if (sub === 'init') {
    const mirror = values['mirror'] as string | undefined;
    const directory = values['from-dir'] as string | undefined;
    const publicGood = values['public-good'] === true;
    const chosen = [mirror, directory, publicGood ? true : undefined].filter((v) => v !== undefined);
    if (chosen.length !== 1) throw usage('trust init needs exactly one of --mirror URL, --from-dir DIR, --public-good');
    if (publicGood && values['root'] !== undefined) throw usage('--public-good starts from the pinned public-good root; --root does not apply');
    return {
      ...common,
      command: 'init',
      from: mirror !== undefined ? { mirror } : directory !== undefined ? { directory } : { publicGood: true },
      root: values['root'] as string | undefined,
    };
  }
  if (sub === 'status') {
    const output = (values['output'] as string | undefined) ?? 'text';
    if (output !== 'text' && output !== 'json') throw usage(`--output must be text or json, not "${output}"`);
    const days = (values['warn-days'] as string | undefined) ?? '30';
    if (!/^\d{1,4}$/.test(days)) throw usage(`--warn-days must be a number of days, not "${days}"`);
    return { ...common, command: 'status', output, warnWithinDays: Number(days) };
  }
  return { ...common, command: 'refresh', directory: values['from-dir'] as string | undefined };
}

export const TRUST_HELP = `sigverify trust: where keyless trust comes from, and its freshness

Usage:
  sigverify trust init (--mirror URL | --from-dir DIR | --public-good) [--root ROOT.json] [--cache DIR]
        Initialise the TUF cache from a private mirror or a repository directory (removable media, a
        "trust export"), starting from ROOT.json, the repository's initial root obtained out of band;
        record it as the source every later "sigverify verify" uses.
  sigverify trust status [--cache DIR] [-o text|json] [--warn-days N]
        The configured source, the version and expiry of every TUF role, every CA and key with its
        validity window, and warnings N days (default 30) ahead of expiry.
  sigverify trust refresh [--cache DIR] [--from-dir DIR]
        Fetch newer metadata from the configured repository (or from DIR, a newer copy of the directory).
  sigverify trust export DIR [--cache DIR]
        Write a verified, self-contained TUF repository to DIR (new or empty) for "trust init --from-dir"
        on an air-gapped machine.

Flags:
  --cache DIR                             TUF cache (same as verify --tuf-cache; default $SIGVERIFY_TUF_CACHE,
                                          else ~/.cache/sigverify/tuf)
  --allow-expired-trust-metadata-unsafe   accept EXPIRED TUF metadata after checking everything else; the
                                          verification result records it. Only for sites that must run on it.

Exit codes: 0 done, 2 usage error, 3 trust metadata unavailable, expired or invalid.
`;
