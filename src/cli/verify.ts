/**
 * `sigverify verify`, `verify-attestation` and `verify-bundle`: loaded by
 * src/cli/main.ts when one of them runs, so that other commands (and
 * `--version`) do not load verification.
 */
import { readCapped } from '../io/read-capped.ts';
import { DEFAULT_LIMITS, SigverifyError, type TrustSource, type VerificationResult, configuredTrustSource, trustedRootFile, verifyBundleFile, verifyImage } from '../index.ts';
import { TEST_TRUST_ROOT_WARNING, certificateAuthorityTrust } from '../trust.ts';
import { quote } from '../text/quote.ts';
import { readKeyFile } from '../io/local-files.ts';
import { type Io, describeOutcome, describeSigner } from './io.ts';
import type { VerifyBundleCommand, VerifyCommand } from './args.ts';
import { requireFiles } from './flags.ts';
import { EXIT, PURPOSE_WORD, reportError } from './report.ts';

export async function runVerify(cmd: VerifyCommand, io: Io): Promise<number> {
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
export async function runVerifyBundle(cmd: VerifyBundleCommand, io: Io): Promise<number> {
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

