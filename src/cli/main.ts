// Every command is loaded when it runs (dynamic import), so that `--version`
// and `help` load no verification code and a command none of the others':
// most of a cold start is evaluating modules.
import { VERSION } from '../version.ts';
import { type Io, guardIo, processIo } from './io.ts';
import { checkArgumentSizes, parseCommand } from './args.ts';
import { asksForJson, usage } from './flags.ts';
import { COMMAND_HELP, FULL_HELP } from './help.ts';
import { EXIT, reportError } from './report.ts';

export { EXIT } from './report.ts';

/** Commands with their own argument parsing, by name (argv after the name). */
const SUBCOMMANDS: Readonly<Record<string, (argv: readonly string[], io: Io) => Promise<number>>> = {
  trust: async (argv, io) => (await import('./trust.ts')).runTrust(argv, io),
  'check-module': async (argv, io) => (await import('./processor.ts')).runCheckModule(argv, io),
  'check-config': async (argv, io) => (await import('./processor.ts')).runCheckConfig(argv, io),
  audit: async (argv, io) => (await import('./audit.ts')).runAudit(argv, io),
  log: async (argv, io) => (await import('./log.ts')).runLog(argv, io),
  qualify: async (argv, io) => (await import('./qualify.ts')).runQualify(argv, io),
  doctor: async (argv, io) => {
    const { doctorMain, parseDoctor } = await import('./doctor.ts');
    let command;
    try {
      command = parseDoctor(argv);
    } catch (error) {
      return reportError(error, io, undefined, asksForJson(argv) ? 'json' : 'text');
    }
    for (const note of command.notes) io.stderr(`${note}\n`);
    return doctorMain(command, io);
  },
};

/** `sigverify COMMAND --help` (or `-h`) before the first `--`, for every command, whatever else is on the line. */
function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return argv.slice(1, end === -1 ? undefined : end).some((arg) => arg === '--help' || arg === '-h' || arg === '--help=true');
}

export async function main(argv: readonly string[], unguarded: Io = processIo): Promise<number> {
  const io = guardIo(unguarded);
  const name = argv[0];
  const help = name === undefined ? undefined : COMMAND_HELP[name];
  if (help !== undefined && asksForHelp(argv)) {
    io.stdout(help);
    return EXIT.verified;
  }
  const sub = name === undefined ? undefined : SUBCOMMANDS[name];
  if (sub !== undefined) {
    // node's parseArgs is quadratic in argument size: bound it for every command.
    try {
      checkArgumentSizes(argv);
    } catch (error) {
      return reportError(error, io, undefined, 'text');
    }
    return sub(argv.slice(1), io);
  }
  let command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    return reportError(error, io, undefined, asksForJson(argv) ? 'json' : 'text');
  }
  if (command.command === 'help') {
    const topic = command.topic === undefined ? FULL_HELP : COMMAND_HELP[command.topic];
    if (topic === undefined) return reportError(usage(`no help for "${command.topic ?? ''}": not a command`), io, undefined, 'text');
    io.stdout(topic);
    return EXIT.verified;
  }
  if (command.command === 'version') {
    io.stdout(`sigverify ${VERSION}\n`);
    return EXIT.verified;
  }
  for (const note of command.notes) io.stderr(`${note}\n`);
  const { runVerify, runVerifyBundle } = await import('./verify.ts');
  return command.command === 'verify-bundle' ? runVerifyBundle(command, io) : runVerify(command, io);
}

