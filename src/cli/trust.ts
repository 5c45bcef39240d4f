import { SigverifyError, type TrustRoot } from '../index.ts';
import {
  type TrustStatus,
  type TufTrustConfig,
  defaultTufCachePath,
  isTufConfig,
  isTufTrustSource,
  recordTrustConfig,
  resolveConfiguredTrust,
  trustStatus,
  tufTrustSource,
} from '../trust.ts';
import { TRUST_HELP } from './help.ts';
import { type TrustCommand, parseTrustCommand } from './trust-args.ts';
import { requireFiles } from './flags.ts';
import type { Io } from './io.ts';

/**
 * `sigverify trust init | status | refresh | export`. A thin client of the
 * library: TrustConfig selects the source, the TUF client does the work, and
 * `<cache>/config.json` records the source later `verify` runs use.
 */
/** Exit codes, as `verify`'s: 0 done, 1 refused, 2 usage, 3 could not decide (trust metadata unavailable, expired, invalid). */
const EXIT = { ok: 0, rejected: 1, usage: 2, unavailable: 3 } as const;

/** `argv`: the arguments after `trust`, e.g. `['init', '--mirror', URL, '--root', FILE]`. */
export async function runTrust(argv: readonly string[], io: Io): Promise<number> {
  let command: TrustCommand;
  try {
    command = parseTrustCommand(argv);
  } catch (error) {
    return reportError(error, io);
  }
  if (command.command === 'help') {
    io.stdout(TRUST_HELP);
    return EXIT.ok;
  }
  for (const note of command.notes) io.stderr(`${note}\n`);
  if (command.allowExpiredMetadataUnsafe) {
    io.stderr('WARNING: --allow-expired-trust-metadata-unsafe: expired TUF metadata is accepted; results record it\n');
  }
  try {
    switch (command.command) {
      case 'init':
        return await init(command, io);
      case 'status':
        return await status(command, io);
      case 'refresh':
        return await refresh(command, io);
      case 'export':
        return await exportRepository(command, io);
    }
  } catch (error) {
    return reportError(error, io);
  }
}

type Of<C extends TrustCommand['command']> = Extract<TrustCommand, { command: C }>;

async function init(cmd: Of<'init'>, io: Io): Promise<number> {
  requireFiles({ '--root': cmd.root, '--from-dir': 'directory' in cmd.from ? cmd.from.directory : undefined });
  const cacheDir = cmd.cacheDir ?? defaultTufCachePath();
  const root = cmd.root === undefined ? {} : { root: cmd.root };
  const config: TufTrustConfig = 'mirror' in cmd.from
    ? { source: 'tuf-mirror', url: cmd.from.mirror, ...root }
    : 'directory' in cmd.from
      ? { source: 'tuf-directory', path: cmd.from.directory, ...root }
      : { source: 'public-good' };
  const source = tufTrustSource({ ...config, cacheDir, ...unsafe(cmd) });
  const trusted = await source.initialise();
  // Recorded only once the repository verified: a failed init leaves the previous configuration in place.
  await recordTrustConfig(cacheDir, config);
  io.stdout(`Initialised ${source.description}\n  cache ${source.cachePath}\n  trusted_root.json ${trusted.digest ?? ''}\n`);
  reportWarnings(trusted, io);
  return EXIT.ok;
}

async function refresh(cmd: Of<'refresh'>, io: Io): Promise<number> {
  const cacheDir = cmd.cacheDir ?? defaultTufCachePath();
  let { config, source } = await resolveConfiguredTrust({ cacheDir, ...unsafe(cmd) });
  if (cmd.directory !== undefined) {
    // A newer copy of the repository, mounted elsewhere: same cache, same rollback protection.
    if (config.source !== 'tuf-directory') throw new SigverifyError('USAGE', `--from-dir applies to a TUF directory source; ${cacheDir} is configured for ${config.source}`);
    config = { ...config, path: cmd.directory };
    source = tufTrustSource({ ...config, cacheDir, ...unsafe(cmd) });
  }
  const trusted = isTufTrustSource(source) ? await source.refresh() : await source.load();
  if (cmd.directory !== undefined) await recordTrustConfig(cacheDir, config);
  io.stdout(`Refreshed ${source.description}\n  trusted_root.json ${trusted.digest ?? ''}\n`);
  reportWarnings(trusted, io);
  return EXIT.ok;
}

async function exportRepository(cmd: Of<'export'>, io: Io): Promise<number> {
  const { config, source } = await resolveConfiguredTrust({ ...(cmd.cacheDir === undefined ? {} : { cacheDir: cmd.cacheDir }), ...unsafe(cmd) });
  if (!isTufConfig(config) || !isTufTrustSource(source)) {
    throw new SigverifyError('USAGE', `trust export needs a TUF source; the configured source is ${config.source}`);
  }
  const exported = await source.exportRepository(cmd.directory);
  io.stdout(
    `Exported ${source.description} to ${exported.directory}\n` +
      `  root versions ${exported.rootVersions.join(', ')}; ${exported.roles.filter((r) => r.role !== 'root').map((r) => `${r.role} ${r.version} (expires ${r.expires})`).join(', ')}\n` +
      `  ${exported.files.length} files; on the other machine: sigverify trust init --from-dir DIR --root <the root.json you trust>\n`,
  );
  return EXIT.ok;
}

async function status(cmd: Of<'status'>, io: Io): Promise<number> {
  const { source } = await resolveConfiguredTrust({ ...(cmd.cacheDir === undefined ? {} : { cacheDir: cmd.cacheDir }), ...unsafe(cmd) });
  const report = await trustStatus(source, { warnWithinDays: cmd.warnWithinDays });
  io.stdout(cmd.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : statusText(report));
  if (report.error === undefined) return EXIT.ok;
  io.stderr(`sigverify: [${report.error.code}] ${report.error.message}\n`);
  return EXIT.unavailable;
}

function statusText(report: TrustStatus): string {
  const lines = [`Trust source: ${report.source}`];
  if (report.tuf !== undefined) {
    lines.push(`  cache ${report.tuf.cachePath}${report.tuf.initialised ? '' : ' (not initialised)'}`);
    for (const r of report.tuf.roles) lines.push(`  ${r.role.padEnd(10)} version ${String(r.version).padEnd(6)} expires ${r.expires}${r.state === 'valid' ? '' : `  ${r.state.toUpperCase()}`}`);
  }
  if (report.trustedRoot !== undefined) lines.push(`Trusted root ${report.trustedRoot.digest ?? ''}`);
  for (const k of report.keys) {
    const id = k.logId === undefined ? (k.subject ?? '') : `log ID ${k.logId}`;
    const window = `${k.validFrom ?? '…'} → ${k.validUntil ?? 'open'}`;
    lines.push(`  ${k.kind.padEnd(21)} ${k.name} ${id}\n  ${''.padEnd(21)} ${window}${k.state === 'valid' ? '' : `  ${k.state.toUpperCase()}`}`);
  }
  if (report.warnings.length > 0) lines.push('Warnings:', ...report.warnings.map((w) => `  ! ${w}`));
  return `${lines.join('\n')}\n`;
}

function reportWarnings(root: TrustRoot, io: Io): void {
  for (const warning of root.warnings ?? []) io.stderr(`WARNING: ${warning}\n`);
}

function unsafe(cmd: { readonly allowExpiredMetadataUnsafe: boolean }): { allowExpiredMetadataUnsafe?: true } {
  return cmd.allowExpiredMetadataUnsafe ? { allowExpiredMetadataUnsafe: true } : {};
}

function reportError(error: unknown, io: Io): number {
  const known = error instanceof SigverifyError;
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`sigverify: [${known ? error.code : 'INTERNAL_ERROR'}] ${message}\n${known && error.kind === 'usage' ? 'Run "sigverify trust --help" for usage.\n' : ''}`);
  if (!known) return EXIT.unavailable;
  return error.kind === 'usage' ? EXIT.usage : error.kind === 'unavailable' ? EXIT.unavailable : EXIT.rejected;
}
