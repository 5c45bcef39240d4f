import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import { ensurePrivateDirectory, readOwnedFileIfPresent, writePrivateFile } from '../io/local-files.ts';
import { parseJson } from '../json/parse.ts';
import type { VerifiedCheckpoint } from './checkpoint.ts';
import type { StoredCheckpoint } from './types.ts';

/**
 * The monitor's memory: per log URL, the last checkpoint it verified, in a
 * private directory (created 0700, refused when it or a file in it is a
 * symbolic link, another user's, or writable by others: src/io/local-files.ts).
 * Whoever can rewrite this file can hide a fork, so it is as guarded as the caches.
 */
const STATE_MEDIA_TYPE = 'application/vnd.sigverify.log-monitor-state+json;version=1';
const MAX_STATE_BYTES = 64 * 1024;

const State = z.strictObject({
  mediaType: z.literal(STATE_MEDIA_TYPE),
  url: z.string(),
  logId: z.string().regex(/^[0-9a-f]{64}$/),
  origin: z.string(),
  treeSize: z.string().regex(/^(0|[1-9][0-9]*)$/),
  rootHash: z.base64(),
  envelope: z.string(),
  verifiedAt: z.string(),
});

function fileFor(directory: string, url: string): string {
  return join(directory, `log-${createHash('sha256').update(url).digest('hex').slice(0, 16)}.json`);
}

export async function readState(directory: string, url: string): Promise<StoredCheckpoint | undefined> {
  await ensurePrivateDirectory(directory, 'log monitor state directory');
  const path = fileFor(directory, url);
  const read = await readOwnedFileIfPresent(path, MAX_STATE_BYTES, 'log monitor state');
  if (read === undefined) return undefined;
  const invalid = (reason: string): SigverifyError => new SigverifyError('LOG_STATE_INVALID', `log monitor state ${path} is unreadable: ${reason}; restore it from a backup (deleting it forgets what was verified)`, { details: { path } });
  if (read.bytes === undefined) throw invalid(`larger than ${MAX_STATE_BYTES} bytes`);
  const state = parseJson(State, read.bytes, invalid);
  if (state.url !== url) throw invalid(`it is the state of ${state.url}`);
  const { mediaType: _mediaType, ...stored } = state;
  return stored;
}

export async function writeState(directory: string, url: string, checkpoint: VerifiedCheckpoint, now: Date): Promise<void> {
  const state: z.input<typeof State> = {
    mediaType: STATE_MEDIA_TYPE,
    url,
    logId: checkpoint.logId,
    origin: checkpoint.origin,
    treeSize: checkpoint.treeSize.toString(),
    rootHash: checkpoint.rootHash.toString('base64'),
    envelope: checkpoint.envelope,
    verifiedAt: now.toISOString(),
  };
  await writePrivateFile(fileFor(directory, url), Buffer.from(`${JSON.stringify(state, null, 2)}\n`));
}
