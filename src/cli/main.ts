import { readCapped } from '../io/read-capped.ts';
// The public API's own modules (the symbols src/index.ts re-exports), not the
// index itself: a cold `verify` should load verification, not the processor,
// audit and qualification code. Other commands are loaded when they run.
import { DEFAULT_LIMITS, SigverifyError, type TrustSource, VERSION, type VerificationResult, configuredTrustSource, trustedRootFile, verifyBundleFile, verifyImage } from '../index.ts';
import { TEST_TRUST_ROOT_WARNING, certificateAuthorityTrust } from '../trust.ts';
import { quote } from '../text/quote.ts';
import { type Io, describeOutcome, describeSigner, guardIo, processIo } from './io.ts';
import { HELP, type VerifyBundleCommand, type VerifyCommand, checkArgumentSizes, parseCommand } from './args.ts';
import { readOwnedFile } from '../io/local-files.ts';

/** Exit codes (stable, documented in the README). */
export const EXIT = { verified: 0, notVerified: 1, usage: 2, undecided: 3 } as const;


/** Commands with their own argument parsing, by name (argv after the name). */
const SUBCOMMANDS: Readonly<Record<string, (argv: readonly string[], io: Io) => Promise<number>>> = {
  trust: async (argv, io) => (await import('./trust.ts')).runTrust(argv, io),
  'check-module': async (argv, io) => (await import('./processor.ts')).runCheckModule(argv, io),
  'check-config': async (argv, io) => (await import('./processor.ts')).runCheckConfig(argv, io),
  audit: async (argv, io) => (await import('./audit.ts')).runAudit(argv, io),
  qualify: async (argv, io) => (await import('./qualify.ts')).runQualify(argv, io),
  doctor: async (argv, io) => {
    const { doctorMain, parseDoctor } = await import('./doctor.ts');
    let command;
    try {
      command = parseDoctor(argv);
    } catch (error) {
      return reportError(error, io, undefined, 'text');
    }
    return doctorMain(command, io);
  },
};

async function fullHelp(): Promise<string> {
  const [trust, processor, audit, qualify] = await Promise.all([import('./trust-args.ts'), import('./processor.ts'), import('./audit.ts'), import('./qualify.ts')]);
  return `${HELP}\n${trust.TRUST_HELP}\n${processor.PROCESSOR_HELP}\n${audit.AUDIT_HELP}\n${qualify.QUALIFY_HELP}`;
}

export async function main(argv: readonly string[], unguarded: Io = processIo): Promise<number> {
  const io = guardIo(unguarded);
  const sub = argv[0] === undefined ? undefined : SUBCOMMANDS[argv[0]];
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
    return reportError(error, io, undefined, 'text');
  }
  if (command.command === 'help') {
    io.stdout(await fullHelp());
    return EXIT.verified;
  }
  if (command.command === 'version') {
    io.stdout(`sigverify ${VERSION}\n`);
    return EXIT.verified;
  }
  return command.command === 'verify-bundle' ? runVerifyBundle(command, io) : runVerify(command, io);
}

async function runVerify(cmd: VerifyCommand, io: Io): Promise<number> {
  io.stderr(`Verifying ${cmd.command === 'verify' ? 'signature' : `attestation ${cmd.predicateType ?? ''}`} for ${cmd.image}\n`);
  try {
    const publicKey = cmd.keyPath === undefined ? undefined : await readKey(cmd.keyPath);
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
    return reportError(error, io, cmd.image, cmd.output);
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
    const publicKey = cmd.keyPath === undefined ? undefined : await readKey(cmd.keyPath);
    const bundle = await readInput(cmd.bundle, DEFAULT_LIMITS.maxBundleBytes);
    const artifact = 'sha256' in cmd.artifact
      ? { sha256: Buffer.from(cmd.artifact.sha256.slice('sha256:'.length), 'hex') }
      : { bytes: await readInput(cmd.artifact.path, DEFAULT_LIMITS.maxArtifactBytes) };
    const trust = cmd.trustedRoot !== undefined ? trustedRootFile(cmd.trustedRoot) : defaultTrust(cmd.tufCache, false);
    const result = await verifyBundleFile(bundle, artifact, { ...cmd.policy, ...(publicKey === undefined ? {} : { publicKey }) }, trust);
    io.stderr(`✓ Bundle verification PASSED for ${cmd.bundle}: ${result.publicKey === true ? 'the given public key' : `${quote(result.identity ?? 'unknown')} (issuer ${quote(result.issuer ?? 'unknown')})`}\n`);
    return EXIT.verified;
  } catch (error) {
    return reportError(error, io, cmd.bundle, 'text');
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

async function readKey(path: string): Promise<string> {
  let bytes;
  try {
    bytes = await readOwnedFile(path, DEFAULT_LIMITS.maxConfigFileBytes, 'public key');
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('KEY_INVALID', `cannot read public key ${path}: ${(cause as Error).message}`, { cause });
  }
  if (bytes === undefined) throw new SigverifyError('KEY_INVALID', `public key ${path} is larger than ${DEFAULT_LIMITS.maxConfigFileBytes} bytes`);
  return bytes.toString('utf8');
}

function reportPass(result: VerificationResult, io: Io, output: 'text' | 'json'): void {
  for (const s of result.signatures.filter((x) => x.outcome === 'verified')) {
    io.stderr(`✓ Signature verification PASSED for ${result.pinnedReference}: ${describeSigner(s)}${s.duplicateOf === undefined ? '' : ' (duplicate log entry, counted once)'}\n`);
  }
  for (const s of result.signatures.filter((x) => x.outcome !== 'verified')) {
    io.stderr(describeOutcome(s));
  }
  io.stdout(output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : `${result.pinnedReference}\n`);
}

function reportError(error: unknown, io: Io, image: string | undefined, output: 'text' | 'json'): number {
  const known = error instanceof SigverifyError;
  const code = known ? error.code : 'INTERNAL_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  const result = known ? error.result : undefined;
  if (image === undefined) {
    io.stderr(`sigverify: ${message}\n${known && error.kind === 'usage' ? 'Run "sigverify help" for usage.\n' : ''}`);
  } else {
    io.stderr(`✗ Signature verification FAILED for ${image}: [${code}] ${message}\n`);
    // The message already carries a lone signature's reason; list them when there are several.
    const signatures = result?.signatures ?? [];
    if (signatures.length > 1) {
      for (const s of signatures) io.stderr(describeOutcome(s));
    }
  }
  if (output === 'json') {
    io.stdout(`${JSON.stringify({ ...(result ?? { verified: false }), verified: false, error: { code, message } }, null, 2)}\n`);
  }
  if (!known) return EXIT.undecided;
  return error.kind === 'usage' ? EXIT.usage : error.kind === 'unavailable' ? EXIT.undecided : EXIT.notVerified;
}
