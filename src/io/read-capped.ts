import { close, closeSync, constants, fstat, fstatSync, open as openFd, openSync, read, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SigverifyError } from '../errors.ts';
import { embeddedFile } from '../shipped.ts';

/**
 * Reads a local file with a byte cap enforced on what is read, never on what
 * `stat` claims (a FIFO or a growing file has no honest size), or a file the
 * single executable carries (src/shipped.ts). Resolves
 * `undefined` when the file holds more than `maxBytes`; file-system errors
 * (ENOENT, EACCES, …) reject as they are, for the caller to classify.
 *
 * `fstat`'s size is used as a hint only: a regular file is read into one
 * buffer of that size plus one byte, so the usual case is open, fstat, one
 * read, close (no second read to see the end, no chunk list, no copy); a
 * file that reads longer or shorter than it said falls back to reading in
 * chunks to its end, still under the cap. Small regular files are read
 * synchronously ({@link readSmallRegularFile}); the rest through the
 * callback API in one promise: for a blob of a few KiB, `FileHandle`'s
 * per-call promises cost more CPU than the reading.
 */
export function readFileCapped(path: string, maxBytes: number): Promise<Buffer | undefined> {
  const embedded = embeddedFile(path);
  if (embedded !== undefined) return Promise.resolve(embedded.length > maxBytes ? undefined : embedded);
  let small: { bytes: Buffer | undefined } | undefined;
  try {
    small = readSmallRegularFile(path, maxBytes);
  } catch (error) {
    // File-system errors (ENOENT, …) reject, as from the asynchronous path.
    return Promise.reject(asError(error));
  }
  return small === undefined ? readFileAsync(path, maxBytes) : Promise.resolve(small.bytes);
}

/** Files up to this size (by fstat) are read synchronously, see {@link readSmallRegularFile}. */
const SYNC_READ_MAX_BYTES = 64 * 1024;

/**
 * A small regular file read synchronously: open (non-blocking, so that a
 * FIFO or a device never stalls the open), fstat, one read, close: about
 * 7 µs of CPU for a blob of a few KiB, against 30–45 µs for the same four
 * steps through the thread pool, which is most of what reading an OCI
 * layout costs a verification. The thread waits for at most one read of
 * {@link SYNC_READ_MAX_BYTES}. `bytes` undefined: over the cap. Undefined
 * when the file is not regular, is larger, or read shorter than fstat said:
 * the caller reads it asynchronously instead. File-system errors (ENOENT, …)
 * are thrown as they are.
 */
function readSmallRegularFile(path: string, maxBytes: number): { bytes: Buffer | undefined } | undefined {
  // O_NONBLOCK: a FIFO opens without waiting for a writer (and is then left to the asynchronous path).
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > SYNC_READ_MAX_BYTES) return undefined;
    const buffer = Buffer.allocUnsafeSlow(firstBufferLength(stats.size, maxBytes));
    const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
    if (bytesRead === stats.size && bytesRead < buffer.length) return { bytes: buffer.subarray(0, bytesRead) };
    // More than the cap was read (the buffer holds cap + 1 bytes): final. Any other surprise is read again, asynchronously.
    return bytesRead > maxBytes ? { bytes: undefined } : undefined;
  } finally {
    closeSync(fd);
  }
}

function readFileAsync(path: string, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    openFd(path, 'r', (openError, fd) => {
      if (openError !== null) {
        reject(openError);
        return;
      }
      const finish = (error: unknown, bytes?: Buffer): void => {
        close(fd, (closeError) => {
          const failure: unknown = error ?? closeError;
          if (failure !== null && failure !== undefined) reject(asError(failure));
          else resolve(bytes);
        });
      };
      fstat(fd, (statError, stats) => {
        if (statError !== null) {
          finish(statError);
          return;
        }
        const reader: ChunkReader = (buffer, offset, length) =>
          new Promise((done, fail) => {
            read(fd, buffer, offset, length, null, (e, n) => {
              if (e === null) done(n);
              else fail(e);
            });
          });
        const first = Buffer.allocUnsafeSlow(firstBufferLength(stats.isFile() ? stats.size : undefined, maxBytes));
        read(fd, first, 0, first.length, null, (readError, bytesRead) => {
          if (readError !== null) {
            finish(readError);
            return;
          }
          if (stats.isFile() && bytesRead === stats.size && bytesRead < first.length) {
            finish(null, first.subarray(0, bytesRead));
            return;
          }
          readRest(reader, first.subarray(0, bytesRead), maxBytes).then(
            (bytes) => {
              finish(null, bytes);
            },
            (error: unknown) => {
              finish(error);
            },
          );
        });
      });
    });
  });
}

/**
 * Reads an open file to its end (sized from `fstat` as {@link readFileCapped}
 * does, then in chunks: a large cap costs memory only for what the file
 * holds), with the cap on the bytes read; undefined past it.
 */
export async function readHandleCapped(handle: FileHandle, maxBytes: number): Promise<Buffer | undefined> {
  const stats = await handle.stat();
  const first = Buffer.allocUnsafeSlow(firstBufferLength(stats.isFile() ? stats.size : undefined, maxBytes));
  const { bytesRead } = await handle.read(first, 0, first.length, null);
  if (stats.isFile() && bytesRead === stats.size && bytesRead < first.length) return first.subarray(0, bytesRead);
  return readRest(async (buffer, offset, length) => (await handle.read(buffer, offset, length, null)).bytesRead, first.subarray(0, bytesRead), maxBytes);
}

type ChunkReader = (buffer: Buffer, offset: number, length: number) => Promise<number>;

/** The stat size plus one byte (to see the end in the same read), within the cap plus one; a chunk when there is no size. */
function firstBufferLength(size: number | undefined, maxBytes: number): number {
  return Math.min(size === undefined ? CHUNK_BYTES : size + 1, maxBytes + 1);
}

/** Reads on after `head` until the end (a read of 0 bytes), in chunks; undefined once more than `maxBytes` were read. */
async function readRest(readChunk: ChunkReader, head: Buffer, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [head];
  let total = head.length;
  if (total > maxBytes) return undefined;
  if (head.length === 0) return head;
  for (;;) {
    const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
    const bytesRead = await readChunk(chunk, 0, chunk.length);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
    if (total > maxBytes) return undefined;
  }
}

const CHUNK_BYTES = 64 * 1024;

/** node:fs fails with Errors; anything else thrown on the way is wrapped, not lost. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** {@link readFileCapped}, with LIMIT_EXCEEDED for a file over the cap. */
export async function readCapped(path: string, maxBytes: number): Promise<Buffer> {
  const bytes = await readFileCapped(path, maxBytes);
  if (bytes === undefined) throw new SigverifyError('LIMIT_EXCEEDED', `${path} is larger than ${maxBytes} bytes`);
  return bytes;
}
