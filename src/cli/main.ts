import { readCapped } from '../io/read-capped.ts';
// The public API's own modules (the symbols src/index.ts re-exports), not the
// index itself: a cold `verify` should load verification, not the processor,
// audit and qualification code. Other commands are loaded when they run.
import { DEFAULT_LIMITS, SigverifyError, type TrustSource, VERSION, type VerificationResult, configuredTrustSource, trustedRootFile, verifyBundleFile, verifyImage } from '../index.ts';
import { TEST_TRUST_ROOT_WARNING, certificateAuthorityTrust } from '../trust.ts';
import { quote } from '../text/quote.ts';
import { type Io, describeOutcome, describeSigner, guardIo, processIo } from './io.ts';
import { type VerifyBundleCommand, type VerifyCommand, checkArgumentSizes, parseCommand } from './args.ts';
import { asksForJson, requireFiles, usage } from './flags.ts';
import { COMMAND_HELP, FULL_HELP } from './help.ts';
import { errorDocument, failedResultDocument } from './documents.ts';
import { readKeyFile } from '../io/local-files.ts';

/** Exit codes (stable, documented in the README). */
export const EXIT = { verified: 0, notVerified: 1, usage: 2, undecided: 3 } as const;


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
  return command.command === 'verify-bundle' ? runVerifyBundle(command, io) : runVerify(command, io);
}

async function runVerify(cmd: VerifyCommand, io: Io): Promise<number> {
  const subject = { image: cmd.image, purpose: cmd.command === 'verify' ? 'signature' : 'attestation' } as const;
  try {
    requireFiles({ '--key': cmd.keyPath, '--trusted-root': cmd.trustedRoot, '--ca-roots': cmd.caRoots, '--ca-intermediates': cmd.caIntermediates });
  } catch (error) {
    return reportError(error, io, undefined, cmd.output);
  }
  io.stderr(`Verifying ${cmd.command === 'verify' ? 'signature' : `attestation ${cmd.predicateType ?? ''}`} for ${cmd.image}\n`);
  try {
    const publicKey = cmd.keyPath === undefined ? undefined : await readKeyFile(cmd.keyPath, DEFAULT_LIMITS.maxConfigFileBytes);
    if (cmd.allowExpiredTrustMetadata) {
      io.stderr('WARNING: --allow-expired-trust-metadata-unsafe: expired TUF metadata is accepted and recorded in the result\n');
    }
    if (cmd.policy.ignoreTlogUnsafe === true) {
      io.stderr('WARNING: --insecure-ignore-tlog: signatures without a transparency-log entry are accepted\n');
    }
    if (cmd.policy.ignoreSctUnsafe === true) {
      io.stderr('WARNING: --insecure-ignore-sct: certificates without a signed certificate timestamp are accepted\n');
    }
    const result = await verifyImage(cmd.image, { ...cmd.policy, ...(publicKey === undefined ? {} : { publicKey }) }, {
      ...trustOption(cmd),
      allowHttpRegistry: cmd.allowHttpRegistry,
      ...(cmd.signatureRepository === undefined ? {} : { signatureRepository: cmd.signatureRepository }),
      ...(cmd.predicateType === undefined ? {} : { attestationPredicateType: cmd.predicateType }),
      ...(cmd.platform === undefined ? {} : { platform: cmd.platform }),
    });
    if (result.trustRoot.testRoot === true) io.stderr(`WARNING: ${TEST_TRUST_ROOT_WARNING}\n`);
    reportPass(result, io, cmd.output);
    return EXIT.verified;
  } catch (error) {
    return reportError(error, io, subject, cmd.output);
  }
}

/**
 * The trust source `sigverify trust init` recorded in the TUF cache, else
 * public-good TUF (the cache directory is `--tuf-cache`, `SIGVERIFY_TUF_CACHE`,
 * or `~/.cache/sigverify/tuf`).
 */
export function defaultTrust(tufCache: string | undefined, allowExpiredMetadataUnsafe: boolean): TrustSource {
  return configuredTrustSource({ ...(tufCache === undefined ? {} : { cacheDir: tufCache }), ...(allowExpiredMetadataUnsafe ? { allowExpiredMetadataUnsafe: true } : {}) });
}

/**
 * Where trust comes from: a pinned trusted_root.json, else public-good TUF;
 * --ca-roots replaces the certificate authorities of that base. Key mode with
 * the log ignored needs no trust root at all.
 */
function trustOption(cmd: VerifyCommand): { trust?: TrustSource } {
  const keyOnly = cmd.keyPath !== undefined && cmd.policy.ignoreTlogUnsafe === true;
  const base = cmd.trustedRoot !== undefined
    ? trustedRootFile(cmd.trustedRoot)
    : keyOnly || (cmd.caRoots !== undefined && cmd.policy.ignoreTlogUnsafe === true)
      ? undefined
      : defaultTrust(cmd.tufCache, cmd.allowExpiredTrustMetadata);
  if (cmd.caRoots !== undefined) {
    return {
      trust: certificateAuthorityTrust({
        rootsPath: cmd.caRoots,
        ...(cmd.caIntermediates === undefined ? {} : { intermediatesPath: cmd.caIntermediates }),
        ...(base === undefined ? {} : { base }),
      }),
    };
  }
  return base === undefined ? {} : { trust: base };
}

/** sigstore-conformance `verify-bundle`: pass/fail is the exit status alone (cli_protocol.md). */
async function runVerifyBundle(cmd: VerifyBundleCommand, io: Io): Promise<number> {
  try {
    requireFiles({ '--bundle': cmd.bundle, '--key': cmd.keyPath, '--trusted-root': cmd.trustedRoot });
    const publicKey = cmd.keyPath === undefined ? undefined : await readKeyFile(cmd.keyPath, DEFAULT_LIMITS.maxConfigFileBytes);
    const bundle = await readInput(cmd.bundle, DEFAULT_LIMITS.maxBundleBytes);
    const artifact = 'sha256' in cmd.artifact
      ? { sha256: Buffer.from(cmd.artifact.sha256.slice('sha256:'.length), 'hex') }
      : { bytes: await readInput(cmd.artifact.path, DEFAULT_LIMITS.maxArtifactBytes) };
    const trust = cmd.trustedRoot !== undefined ? trustedRootFile(cmd.trustedRoot) : defaultTrust(cmd.tufCache, false);
    const result = await verifyBundleFile(bundle, artifact, { ...cmd.policy, ...(publicKey === undefined ? {} : { publicKey }) }, trust);
    io.stderr(`✓ Bundle verification PASSED for ${cmd.bundle}: ${result.publicKey === true ? 'the given public key' : `${quote(result.identity ?? 'unknown')} (issuer ${quote(result.issuer ?? 'unknown')})`}\n`);
    return EXIT.verified;
  } catch (error) {
    return reportError(error, io, { image: cmd.bundle, purpose: 'bundle' }, 'text');
  }
}

async function readInput(path: string, maxBytes: number): Promise<Buffer> {
  try {
    return await readCapped(path, maxBytes);
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('USAGE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

const PURPOSE_WORD = { signature: 'Signature', attestation: 'Attestation', bundle: 'Bundle' } as const;

function reportPass(result: VerificationResult, io: Io, output: 'text' | 'json'): void {
  const word = PURPOSE_WORD[result.purpose.kind];
  for (const s of result.signatures.filter((x) => x.outcome === 'verified')) {
    io.stderr(`✓ ${word} verification PASSED for ${result.pinnedReference}: ${describeSigner(s)}${s.duplicateOf === undefined ? '' : ' (duplicate log entry, counted once)'}\n`);
  }
  for (const s of result.signatures.filter((x) => x.outcome !== 'verified')) {
    io.stderr(describeOutcome(s));
  }
  io.stdout(output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : `${result.pinnedReference}\n`);
}

/**
 * `verify` found no signatures, but attestations were seen (a bundle with
 * another predicate type): say so, and how to verify them instead.
 */
function onlyAttestations(code: string, result: VerificationResult | undefined): boolean {
  return code === 'NO_SIGNATURES' && result?.purpose.kind === 'signature' && result.signatures.some((s) => s.reason?.code === 'PREDICATE_TYPE_MISMATCH');
}

/**
 * Every failure: a usage error (or a failure before anything was verified) is
 * one `sigverify: [CODE] …` line, never a verification verdict; a verdict
 * names what was verified. With JSON output, stdout carries the failed result
 * or, when there is none, an error document; both have a media type.
 */
function reportError(error: unknown, io: Io, subject: { readonly image: string; readonly purpose: keyof typeof PURPOSE_WORD } | undefined, output: 'text' | 'json'): number {
  const known = error instanceof SigverifyError;
  const code = known ? error.code : 'INTERNAL_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  const result = known ? error.result : undefined;
  const isUsage = known && error.kind === 'usage';
  if (subject === undefined || isUsage) {
    io.stderr(`sigverify: [${code}] ${message}\n${isUsage ? 'Run "sigverify help" for usage.\n' : ''}`);
  } else {
    const hint = onlyAttestations(code, result) ? '; the image has attestations but no signatures: use sigverify verify-attestation --type T' : '';
    io.stderr(`✗ ${PURPOSE_WORD[subject.purpose]} verification FAILED for ${subject.image}: [${code}] ${message}${hint}\n`);
    // The message already carries a lone signature's reason; list them when there are several (or when they are attestations).
    const signatures = result?.signatures ?? [];
    if (signatures.length > 1 || hint !== '') {
      for (const s of signatures) io.stderr(describeOutcome(s));
    }
  }
  if (output === 'json') {
    const document = result === undefined ? errorDocument({ code, message }) : failedResultDocument(result, { code, message });
    io.stdout(`${JSON.stringify(document, null, 2)}\n`);
  }
  if (!known) return EXIT.undecided;
  return isUsage ? EXIT.usage : error.kind === 'unavailable' ? EXIT.undecided : EXIT.notVerified;
}
