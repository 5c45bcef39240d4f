/**
 * The sigstore-js CLI (`@sigstore/cli`, binary `sigstore`) as a baseline for
 * a cold verification. It has no `--trusted-root` flag: it reads the trusted
 * root as a TUF target. So the fixture trusted root is published in a private
 * TUF repository (test/helpers/tuf), the CLI fills its cache from it once,
 * the repository is shut down, and every timed run uses `--tuf-force-cache`:
 * fully offline, with the same trust material sigverify pins.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestTufRepository, serveRepository } from '../../test/helpers/tuf/index.ts';
import type { ProcessRun } from './measure.ts';

export interface SigstoreCli {
  /** `sigstore verify …` for a bundle file (and the signed blob, for a message-signature bundle). */
  verify(bundleFile: string, blobFile?: string): ProcessRun;
  /** The version of @sigstore/cli and of the sigstore package it runs. */
  readonly versions: { readonly cli: string; readonly sigstore: string };
  /** TUF requests the CLI made to fill its cache; timed runs make none (the repository is gone). */
  readonly setupRequests: readonly string[];
}

export type SigstoreCliSetup = { readonly available: true; readonly cli: SigstoreCli } | { readonly available: false; readonly reason: string };

const require = createRequire(import.meta.url);

function packageVersion(name: string, from?: string): string {
  const path = require.resolve(`${name}/package.json`, from === undefined ? undefined : { paths: [from] });
  return (require(path) as { version: string }).version;
}

/**
 * Prepares the CLI against `trustedRootPath` in `work`. `identity`/`issuer`
 * are the policy (`--certificate-identity-uri`, `--certificate-issuer`).
 * `probe` is a bundle (and blob) to fill the cache with; it must verify.
 */
export async function setUpSigstoreCli(options: {
  readonly repoRoot: string;
  readonly work: string;
  readonly trustedRootPath: string;
  readonly identity: string;
  readonly issuer: string;
  readonly probe: { readonly bundleFile: string; readonly blobFile?: string };
}): Promise<SigstoreCliSetup> {
  let bin: string;
  let versions: SigstoreCli['versions'];
  try {
    const cliPackage = require.resolve('@sigstore/cli/package.json');
    bin = join(cliPackage, '..', 'bin', 'run');
    if (!existsSync(bin)) return { available: false, reason: `@sigstore/cli has no bin/run (${bin})` };
    versions = { cli: packageVersion('@sigstore/cli'), sigstore: packageVersion('sigstore', join(cliPackage, '..')) };
  } catch (error) {
    return { available: false, reason: `@sigstore/cli is not installed (npm install): ${(error as Error).message}` };
  }

  const repository = new TestTufRepository();
  repository.setTarget('trusted_root.json', await readFile(options.trustedRootPath));
  repository.publish();
  const rootPath = join(options.work, 'tuf-root.json');
  await writeFile(rootPath, repository.rootJson());
  const cachePath = join(options.work, 'sigstore-tuf-cache');
  const served = await serveRepository(repository);
  const mirror = served.url;
  const env = { PATH: process.env['PATH'] ?? '', HOME: options.work, NO_COLOR: '1' };
  const cli: SigstoreCli = {
    versions,
    setupRequests: served.requests,
    verify: (bundleFile, blobFile) => ({
      cwd: options.repoRoot,
      env,
      args: [
        bin,
        'verify',
        bundleFile,
        ...(blobFile === undefined ? [] : ['--blob-file', blobFile]),
        '--certificate-identity-uri',
        options.identity,
        '--certificate-issuer',
        options.issuer,
        '--tuf-mirror-url',
        mirror,
        '--tuf-root-path',
        rootPath,
        '--tuf-cache-path',
        cachePath,
        '--tuf-force-cache',
      ],
    }),
  };
  // Asynchronously: the repository is served from this process.
  const probe = cli.verify(options.probe.bundleFile, options.probe.blobFile);
  try {
    const failure = await failureOf(probe);
    if (failure !== undefined) return { available: false, reason: `sigstore verify failed while filling its TUF cache: ${failure}` };
  } finally {
    await served.close();
  }
  // Offline from here on: a run that still wanted the repository would fail.
  const failure = await failureOf(probe);
  if (failure !== undefined) return { available: false, reason: `sigstore verify cannot run offline from its TUF cache: ${failure}` };
  return { available: true, cli };
}

/** Why a run failed, or undefined when it exited 0. */
async function failureOf(run: ProcessRun): Promise<string | undefined> {
  try {
    await promisify(execFile)(process.execPath, [...run.args], { cwd: run.cwd, env: run.env, timeout: 60_000 });
    return undefined;
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr?: string };
    return `exit ${String(code)}: ${(stderr ?? (error as Error).message).slice(-500).trim()}`;
  }
}
