import { checkArgumentSizes } from './args.ts';
import { parseFlags, usage } from './flags.ts';

/**
 * `sigverify trust …` arguments. Every subcommand takes `--tuf-cache DIR`
 * (as `verify`; default `$SIGVERIFY_TUF_CACHE`, else
 * `~/.cache/sigverify/tuf`; `--cache` is its deprecated spelling) and
 * `--allow-expired-trust-metadata-unsafe`.
 */
interface Common {
  /** undefined: the default cache directory. */
  readonly cacheDir: string | undefined;
  readonly allowExpiredMetadataUnsafe: boolean;
  /** One line each for stderr: deprecated spellings used. */
  readonly notes: readonly string[];
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
  'tuf-cache': { type: 'string' },
  'allow-expired-trust-metadata-unsafe': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPTIONS = {
  init: { ...COMMON, mirror: { type: 'string' }, 'from-dir': { type: 'string' }, 'public-good': { type: 'boolean' }, root: { type: 'string' } },
  status: { ...COMMON, output: { type: 'string', short: 'o' }, 'warn-days': { type: 'string' } },
  refresh: { ...COMMON, 'from-dir': { type: 'string' } },
  export: { ...COMMON },
} as const;

/** `argv`: the arguments after `trust` (a leading `trust` is tolerated). */
export function parseTrustCommand(argv: readonly string[]): TrustCommand {
  // Bounds what util.parseArgs is given (it is quadratic in argv); found by the fuzz suite (test/fuzz/cli.test.ts).
  checkArgumentSizes(argv);
  const args = argv[0] === 'trust' ? argv.slice(1) : [...argv];
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') return { command: 'help' };
  if (sub !== 'init' && sub !== 'status' && sub !== 'refresh' && sub !== 'export') throw usage(`unknown trust command "${sub}" (try: sigverify trust help)`);
  const parsed = parseFlags({ command: `trust ${sub}`, options: OPTIONS[sub], aliases: { cache: 'tuf-cache' } }, rest);
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values['help'] === true) return { command: 'help' };
  const common: Common = {
    cacheDir: values['tuf-cache'] as string | undefined,
    allowExpiredMetadataUnsafe: values['allow-expired-trust-metadata-unsafe'] === true,
    notes: parsed.notes,
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
