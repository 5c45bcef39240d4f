// The running stack's environment (peers/stack.sh env), for the suites that drive it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A signing, registry or stack step failed: the suite cannot judge, it did not disagree. */
export class InfraError extends Error {}

const stack = join(dirname(fileURLToPath(import.meta.url)), '..', 'stack.sh');

/** The `export NAME=value` lines `stack.sh env` prints, and a reader that fails on a missing one. */
export function stackEnv(): { env: Record<string, string>; need: (name: string) => string } {
  const r = spawnSync(stack, ['env'], { encoding: 'utf8' });
  if (r.status !== 0) throw new InfraError(`stack not running: ${r.stdout}${r.stderr}`);
  const env: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) env[m[1]] = m[2];
  }
  const need = (name: string): string => {
    const v = env[name];
    if (v === undefined) throw new InfraError(`missing ${name} in the stack env`);
    return v;
  };
  return { env, need };
}
