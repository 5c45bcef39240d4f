import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import * as z from 'zod';

/**
 * An exclusive lock between processes: a lock file created with O_EXCL,
 * holding its owner's host, pid and a random token. A lock whose owner is a
 * process of this host that no longer exists is stale and broken (a crash
 * must not stop every later run); one that cannot be read is broken once it
 * is older than the timeout. Breaking a stale lock races only with another
 * waiter breaking the same stale lock; the hash chain would then show a fork
 * (`audit verify` reports it), it cannot hide one.
 */
const LockOwner = z.object({ host: z.string(), pid: z.number().int(), token: z.string() });

const RETRY_MIN_MS = 2;
const RETRY_MAX_MS = 25;

export class LockTimeout extends Error {
  override readonly name = 'LockTimeout';
}

export async function acquireFileLock(path: string, timeoutMs: number): Promise<() => Promise<void>> {
  const owner = { host: hostname(), pid: process.pid, token: randomBytes(16).toString('hex') };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(owner));
      } finally {
        await handle.close();
      }
      return () => release(path, owner.token);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await isStale(path, timeoutMs)) {
      await unlink(path).catch(ignoreMissing);
      continue;
    }
    if (Date.now() >= deadline) throw new LockTimeout(`${path} is held by another writer (waited ${timeoutMs} ms)`);
    await delay(RETRY_MIN_MS + Math.floor(Math.random() * (RETRY_MAX_MS - RETRY_MIN_MS)));
  }
}

async function release(path: string, token: string): Promise<void> {
  const current = await readOwner(path);
  if (current?.token === token) await unlink(path).catch(ignoreMissing);
}

async function isStale(path: string, timeoutMs: number): Promise<boolean> {
  const current = await readOwner(path);
  if (current !== undefined) return current.host === hostname() && !processExists(current.pid);
  try {
    // Unreadable: being written right now, or left half-written by a crash.
    return Date.now() - (await stat(path)).mtimeMs > timeoutMs;
  } catch {
    return false;
  }
}

async function readOwner(path: string): Promise<z.output<typeof LockOwner> | undefined> {
  try {
    const parsed = LockOwner.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
