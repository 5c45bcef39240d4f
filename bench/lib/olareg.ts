/**
 * olareg (peers/tools.list), a registry with the OCI 1.1 referrers API, on a
 * free loopback port with storage in a temporary directory: the registry kind
 * that the Debian docker-registry (no referrers API) is not, for counting
 * requests per verification on both.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../test/helpers/registry/docker-registry.ts';
import { type Peer, toolBinary } from './peer-tools.ts';

export interface RunningOlareg {
  readonly host: string;
  readonly url: string;
  readonly version: string;
  stop(): Promise<void>;
}

export async function startOlareg(repoRoot: string): Promise<Peer<RunningOlareg>> {
  const binary = toolBinary(repoRoot, 'olareg', 'olareg');
  if (!binary.available) return binary;
  const dir = await mkdtemp(join(tmpdir(), 'sigverify-bench-olareg-'));
  const port = await freePort();
  const child = spawn(binary.path, ['serve', '--addr', '127.0.0.1', '--port', String(port), '--dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-2000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let waited = 0; waited < 10_000; waited += 50) {
    try {
      const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.ok) return { available: true, host: `127.0.0.1:${port}`, url, version: binary.version, stop };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) break;
    await delay(50);
  }
  await stop();
  return { available: false, reason: `olareg did not start on ${url}: ${output.trim().split('\n').slice(-2).join(' ')}` };
}
