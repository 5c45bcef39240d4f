import { open } from 'node:fs/promises';

export interface Line {
  /** 1-based. */
  readonly number: number;
  /** The line's bytes without its newline; undefined when longer than the cap. */
  readonly bytes: Buffer | undefined;
  /** False for a last line with no newline (a write cut short). */
  readonly terminated: boolean;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * The lines of a file, streamed: memory is bounded by `maxLineBytes` however
 * large the file. A line over the cap is reported (bytes undefined) and
 * skipped to its end, never truncated into something that parses.
 */
export async function* readLines(path: string, maxLineBytes: number): AsyncGenerator<Line> {
  const handle = await open(path, 'r');
  try {
    let parts: Buffer[] = [];
    let length = 0;
    let tooLong = false;
    let number = 0;
    const chunk = Buffer.alloc(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      let start = 0;
      while (start < bytesRead) {
        const newline = chunk.indexOf(0x0a, start);
        const end = newline === -1 || newline >= bytesRead ? bytesRead : newline;
        if (!tooLong) {
          if (length + end - start > maxLineBytes) {
            tooLong = true;
            parts = [];
          } else {
            parts.push(Buffer.from(chunk.subarray(start, end)));
            length += end - start;
          }
        }
        if (end === bytesRead) break;
        number += 1;
        yield { number, bytes: tooLong ? undefined : Buffer.concat(parts, length), terminated: true };
        parts = [];
        length = 0;
        tooLong = false;
        start = end + 1;
      }
    }
    if (length > 0 || tooLong) yield { number: number + 1, bytes: tooLong ? undefined : Buffer.concat(parts, length), terminated: false };
  } finally {
    await handle.close();
  }
}
