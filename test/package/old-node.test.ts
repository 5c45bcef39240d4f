import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, runProcess } from '../helpers/cli.ts';

/**
 * The npm package's bin (src/cli/bin.ts) on a Node older than it supports:
 * one line naming the version needed and the one found, exit 3 ("could not
 * decide"), no stack trace. Debian bookworm's system Node (20) is the old
 * Node at hand; elsewhere the test is skipped with a notice.
 */
const OLD_NODE = process.env['SIGVERIFY_OLD_NODE'] ?? '/usr/bin/node';
const probe = spawnSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' });
const version = probe.status === 0 ? probe.stdout.trim() : undefined;
const [major = 0, minor = 0] = (version ?? '').split('.').map(Number);
const old = version !== undefined && (major < 22 || (major === 22 && minor < 22));
if (!old) console.warn(`test/package/old-node: skipped, ${OLD_NODE} is ${version ?? 'not runnable'}, not a Node older than 22.22`);

describe.skipIf(!old)(`the npm bin on Node ${version ?? '?'}`, () => {
  it.each([['--version'], ['verify', 'oci:fixtures/layout:signed']])('prints one line and exits 3: %s', async (...args) => {
    const result = await runProcess(OLD_NODE, [CLI, ...args]);
    expect(result).toEqual({ code: 3, stdout: '', stderr: `sigverify needs Node.js >= 22.22 (found ${version ?? ''})\n` });
  });
});
