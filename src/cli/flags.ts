import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SigverifyError } from '../errors.ts';

/**
 * One flag parser for every command: node's `util.parseArgs` (strict) plus
 * what a person pasting a cosign command line needs — "did you mean" for an
 * unknown flag, deprecated spellings that still work with a note, cosign flags
 * that change nothing here accepted with a note, and cosign flags that cannot
 * be honoured refused with the reason.
 */
export interface FlagOption {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}

export type FlagOptions = Readonly<Record<string, FlagOption>>;

/** A flag sigverify accepts and ignores; `refuse` turns a value it cannot honour into a usage error. */
export interface IgnoredFlag {
  readonly type: 'string' | 'boolean';
  /** Why the flag changes nothing here (printed as `note: --flag changes nothing here: …`). */
  readonly note: string;
  /** The reason a value cannot be honoured, or undefined when it can. `false` is an explicit `--flag=false`. */
  readonly refuse?: (value: string | boolean) => string | undefined;
}

export interface FlagSpec<O extends FlagOptions> {
  /** The command as the user typed it, for messages: `verify`, `trust init`. */
  readonly command: string;
  readonly options: O;
  /** Deprecated spellings: old name → current name (same type). */
  readonly aliases?: Readonly<Record<string, keyof O & string>>;
  readonly ignored?: Readonly<Record<string, IgnoredFlag>>;
  /** Flags that cannot be honoured: name → type and reason (a boolean's explicit `=false` is accepted). */
  readonly refused?: Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly reason: string }>>;
  readonly allowPositionals?: boolean;
}

type Values<O extends FlagOptions> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];

export interface ParsedFlags<O extends FlagOptions> {
  readonly values: Values<O>;
  readonly positionals: string[];
  /** One line each, for stderr: deprecated spellings and flags that change nothing here. */
  readonly notes: string[];
}

export function usage(message: string, cause?: unknown): SigverifyError {
  return new SigverifyError('USAGE', message, cause === undefined ? undefined : { cause });
}

/** The longest unknown flag name a suggestion is computed for (edit distance is quadratic). */
const MAX_SUGGESTION_INPUT = 64;

export function parseFlags<O extends FlagOptions>(spec: FlagSpec<O>, argv: readonly string[]): ParsedFlags<O> {
  const aliases = spec.aliases ?? {};
  const ignored = spec.ignored ?? {};
  const refused = spec.refused ?? {};
  const all: Record<string, FlagOption> = { ...spec.options };
  for (const [alias, target] of Object.entries(aliases)) all[alias] = { type: (spec.options[target] as FlagOption).type };
  for (const [name, flag] of Object.entries(ignored)) all[name] = { type: flag.type };
  for (const [name, flag] of Object.entries(refused)) all[name] = { type: flag.type };

  const { args, explicitFalse } = normaliseBooleans(argv, all);
  let parsed;
  try {
    parsed = parseArgs({ args, options: all, allowPositionals: spec.allowPositionals ?? true, strict: true });
  } catch (cause) {
    throw unknownFlag(spec.command, Object.keys(spec.options), cause);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const notes: string[] = [];
  for (const [name, flag] of Object.entries(refused)) {
    // `--flag=false` of a refused boolean asks for nothing sigverify would do anyway: accepted.
    if (values[name] !== undefined) throw usage(`--${name} is not supported by sigverify ${spec.command}: ${flag.reason}`);
  }
  for (const [name, flag] of Object.entries(ignored)) {
    const value = explicitFalse.has(name) ? false : values[name];
    if (value === undefined) continue;
    const reason = flag.refuse?.(value as string | boolean);
    if (reason !== undefined) throw usage(`--${name}${typeof value === 'boolean' ? `=${String(value)}` : ''} cannot be honoured: ${reason}`);
    notes.push(`note: --${name} changes nothing here: ${flag.note}`);
  }
  for (const [alias, target] of Object.entries(aliases)) {
    if (values[alias] === undefined) continue;
    notes.push(`note: --${alias} is deprecated; use --${target}`);
    if (values[target] !== undefined && values[target] !== values[alias]) throw usage(`--${alias} and --${target} name the same thing with different values`);
    values[target] = values[alias];
  }
  // Only the command's own options reach it: aliases were folded in, ignored and refused flags handled.
  const own = Object.fromEntries(Object.keys(spec.options).filter((name) => values[name] !== undefined).map((name) => [name, values[name]]));
  return { values: own as Values<O>, positionals: parsed.positionals, notes };
}

/**
 * cosign (cobra/pflag) accepts `--flag=true|false` for booleans; node's
 * parseArgs does not. `--flag=true` becomes `--flag`; `--flag=false` is
 * dropped and remembered (a refusal may depend on it).
 */
function normaliseBooleans(argv: readonly string[], options: Readonly<Record<string, FlagOption>>): { args: string[]; explicitFalse: Set<string> } {
  const args: string[] = [];
  const explicitFalse = new Set<string>();
  let rest = false;
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq !== -1 ? arg.slice(2, eq) : undefined;
    if (rest || name === undefined || options[name]?.type !== 'boolean') {
      if (arg === '--') rest = true;
      args.push(arg);
      continue;
    }
    const value = arg.slice(eq + 1);
    if (value === 'true') args.push(`--${name}`);
    else if (value === 'false') explicitFalse.add(name);
    else throw usage(`--${name} takes true or false, not "${value}"`);
  }
  return { args, explicitFalse };
}

/** parseArgs' own errors are usage errors; an unknown flag gets the nearest flag the command has. */
function unknownFlag(command: string, known: readonly string[], cause: unknown): SigverifyError {
  const error = cause as Error & { code?: string };
  if (error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return usage(error.message, cause);
  const flag = /'(-[^']*)'/.exec(error.message)?.[1] ?? '';
  const name = flag.replace(/^--?/, '').split('=')[0] ?? '';
  const suggestion = nearest(name, known);
  return usage(`unknown flag ${flag.split('=')[0] ?? flag} for sigverify ${command}${suggestion === undefined ? '' : `; did you mean --${suggestion}?`}`, cause);
}

/**
 * The known name closest to `name` by edit distance, when it is close enough
 * to be a typo, or when one is a prefix of the other (`--output-directory`
 * for `--output-dir`).
 */
export function nearest(name: string, known: readonly string[]): string | undefined {
  if (name.length === 0 || name.length > MAX_SUGGESTION_INPUT) return undefined;
  const threshold = Math.max(2, Math.floor(name.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    const prefix = Math.min(name.length, candidate.length) >= 4 && (name.startsWith(candidate) || candidate.startsWith(name));
    if ((distance <= threshold || prefix) && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * Files the operator named on the command line must exist: a missing one is
 * a usage error (exit 2), not a verification that could not decide.
 */
export function requireFiles(named: Readonly<Record<string, string | undefined>>): void {
  for (const [flag, path] of Object.entries(named)) {
    if (path !== undefined && !existsSync(path)) throw usage(`${flag} ${path}: no such file`);
  }
}

/** Whether a command line asked for JSON output, read before (or despite) a parse failure. */
export function asksForJson(argv: readonly string[]): boolean {
  return argv.some((arg, i) => arg === '--output=json' || arg === '-ojson' || ((arg === '--output' || arg === '-o') && argv[i + 1] === 'json'));
}
