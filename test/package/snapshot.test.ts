import { copyFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runProcess } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';
import { type ServedRepository, TestTufRepository, serveRepository } from '../helpers/tuf/repository.ts';
import { EXECUTABLE, VERSION, built, pathWithoutNode } from './built.ts';

/**
 * The single executable starts from a V8 startup snapshot taken while it was
 * built (packaging/sea.ts, packaging/sea/entry.ts): every module evaluated, and
 * a fixture verification run. What the snapshot holds is the build's; these
 * runs check that what depends on the running process is the run's: its own
 * path (the files it carries), its environment (cache directories, DEBUG),
 * and fresh randomness.
 */
describe.skipIf(!built(EXECUTABLE, 'test/package/snapshot'))('dist-bin/sigverify-linux-x64 from its startup snapshot', () => {
  const path = pathWithoutNode();
  let work = '';
  let copy = '';
  let served: ServedRepository | undefined;
  const run = (command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => runProcess(command, args, { PATH: path, ...env });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sigverify-snapshot-'));
    // Another name in another directory: the build ran neither from here nor under this name.
    copy = join(work, 'moved-sigverify');
    copyFileSync(EXECUTABLE, copy);
    const repo = new TestTufRepository();
    repo.setTarget('trusted_root.json', await readFile(join(REPO_ROOT, 'fixtures', 'trust', 'trusted_root.json')));
    repo.publish();
    await writeFile(join(work, 'root.json'), repo.rootJson(1));
    served = await serveRepository(repo);
  }, 60_000);
  afterAll(async () => {
    await served?.close();
    await rm(work, { recursive: true, force: true });
    rmSync(path, { recursive: true, force: true });
  });

  it('reports the version of the package it was built from, moved elsewhere', async () => {
    expect(await run(copy, ['--version'])).toMatchObject({ code: 0, stdout: `sigverify ${VERSION}\n`, stderr: '' });
  });

  it('finds the files it carries at its own path, and two runs draw different random report ids', async () => {
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const result = await run(copy, ['qualify', '--output-dir', join(work, `oq-${n}`), '--output', 'json']);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as { passed: boolean; kit: string; reportId: string };
      expect(report).toMatchObject({ passed: true, kit: `${copy}/fixtures` });
      ids.push(report.reportId);
    }
    expect(ids[0]).not.toBe(ids[1]);
  }, 120_000);

  /** `trust init` from the loopback mirror, then `trust status`: the cache line names where the cache is. */
  const initAndStatus = async (env: NodeJS.ProcessEnv): Promise<{ init: CliRun; status: CliRun }> => {
    const init = await run(EXECUTABLE, ['trust', 'init', '--mirror', served?.url ?? '', '--root', join(work, 'root.json')], env);
    const status = await run(EXECUTABLE, ['trust', 'status'], env);
    return { init, status };
  };

  it('takes the TUF cache from SIGVERIFY_TUF_CACHE, XDG_CACHE_HOME and HOME of the run', async () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ SIGVERIFY_TUF_CACHE: join(work, 'env-cache') }, join(work, 'env-cache')],
      [{ XDG_CACHE_HOME: join(work, 'xdg') }, join(work, 'xdg', 'sigverify', 'tuf')],
      [{ HOME: join(work, 'home') }, join(work, 'home', '.cache', 'sigverify', 'tuf')],
    ];
    for (const [env, cache] of cases) {
      const { init, status } = await initAndStatus(env);
      expect(init.code, init.stderr).toBe(0);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(`cache ${cache}`);
    }
  }, 60_000);

  it('honours DEBUG for the TUF client (its debug module is loaded by the run, not by the build)', async () => {
    const { status } = await initAndStatus({ SIGVERIFY_TUF_CACHE: join(work, 'debug-cache'), DEBUG: 'tuf:*' });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toMatch(/tuf:(cache|fetch) /);
    const quiet = await run(EXECUTABLE, ['trust', 'status'], { SIGVERIFY_TUF_CACHE: join(work, 'debug-cache') });
    expect(quiet.stderr).not.toMatch(/tuf:(cache|fetch) /);
  }, 60_000);
});
