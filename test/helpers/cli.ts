import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.ts';

/** The built CLI, run as a real subprocess (`npm test` builds it first). */
export const CLI = join(REPO_ROOT, 'dist', 'cli', 'bin.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm test does it)`);
  return runProcess(process.execPath, [CLI, ...args], env);
}

/**
 * Runs a program in the repository root and collects its output. A clean
 * environment: no Docker credentials or TUF cache of the developer leak in;
 * `env` adds to it.
 */
export function runProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, stdin?: string): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'], HOME: '/nonexistent', DOCKER_CONFIG: '/nonexistent', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // No stdin given: an empty one, closed at once (a command reading it sees end of file).
    child.stdin.end(stdin ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => { resolvePromise({ code, stdout, stderr }); });
  });
}
