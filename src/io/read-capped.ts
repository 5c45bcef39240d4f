import { type FileHandle, open } from 'node:fs/promises';
import { SigverifyError } from '../errors.ts';
import { embeddedFile } from '../shipped.ts';

/**
 * Reads a local file with a byte cap enforced on what is read, never on what
 * `stat` claims (a FIFO or a growing file has no honest size), or a file the
 * single executable carries (src/shipped.ts). Resolves
 * `undefined` when the file holds more than `maxBytes`; file-system errors
 * (ENOENT, EACCES, …) reject as they are, for the caller to classify.
 */
export async function readFileCapped(path: string, maxBytes: number): Promise<Buffer | undefined> {
  const embedded = embeddedFile(path);
  if (embedded !== undefined) return embedded.length > maxBytes ? undefined : embedded;
  const handle = await open(path, 'r');
  try {
    return await readHandleCapped(handle, maxBytes);
  } finally {
    await handle.close();
  }
}

/**
 * Reads an open file to its end, in chunks (a large cap costs memory only for
 * what the file holds), with the cap on the bytes read; undefined past it.
 */
export async function readHandleCapped(handle: FileHandle, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
    if (total > maxBytes) return undefined;
  }
}

const CHUNK_BYTES = 64 * 1024;

/** {@link readFileCapped}, with LIMIT_EXCEEDED for a file over the cap. */
export async function readCapped(path: string, maxBytes: number): Promise<Buffer> {
  const bytes = await readFileCapped(path, maxBytes);
  if (bytes === undefined) throw new SigverifyError('LIMIT_EXCEEDED', `${path} is larger than ${maxBytes} bytes`);
  return bytes;
}
