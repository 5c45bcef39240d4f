import { open } from 'node:fs/promises';
import { SigverifyError } from '../errors.ts';

/**
 * Reads a local file with a byte cap enforced on what is read, never on what
 * `stat` claims (a FIFO or a growing file has no honest size). Resolves
 * `undefined` when the file holds more than `maxBytes`; file-system errors
 * (ENOENT, EACCES, …) reject as they are, for the caller to classify.
 */
export async function readFileCapped(path: string, maxBytes: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
      if (bytesRead === 0) return buffer.subarray(0, total);
      total += bytesRead;
      if (total > maxBytes) return undefined;
    }
  } finally {
    await handle.close();
  }
}

/** {@link readFileCapped}, with LIMIT_EXCEEDED for a file over the cap. */
export async function readCapped(path: string, maxBytes: number): Promise<Buffer> {
  const bytes = await readFileCapped(path, maxBytes);
  if (bytes === undefined) throw new SigverifyError('LIMIT_EXCEEDED', `${path} is larger than ${maxBytes} bytes`);
  return bytes;
}
