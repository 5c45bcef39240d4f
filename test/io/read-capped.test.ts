import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigverifyError } from '../../src/errors.ts';
import { readCapped, readFileCapped, readHandleCapped } from '../../src/io/read-capped.ts';

// The reader sizes its first read from fstat; these pin that the cap and the
// bytes stay what a plain read-to-the-end gives, whatever the size says.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-read-capped-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe('readFileCapped / readHandleCapped', () => {
  const cases: Array<[string, number, number]> = [
    ['empty file', 0, 10],
    ['small file', 2500, 1 << 20],
    ['file of exactly the cap', 4096, 4096],
    ['file larger than one chunk', 200_000, 1 << 20],
  ];
  for (const [what, size, cap] of cases) {
    it(`returns the bytes of a ${what}`, async () => {
      const bytes = randomBytes(size);
      const path = await file(`f-${size}-${cap}`, bytes);
      expect((await readFileCapped(path, cap))?.equals(bytes)).toBe(true);
      const handle = await open(path, 'r');
      try {
        expect((await readHandleCapped(handle, cap))?.equals(bytes)).toBe(true);
      } finally {
        await handle.close();
      }
    });
  }

  it('refuses a file one byte over the cap', async () => {
    const path = await file('over', randomBytes(4097));
    expect(await readFileCapped(path, 4096)).toBeUndefined();
    const handle = await open(path, 'r');
    try {
      expect(await readHandleCapped(handle, 4096)).toBeUndefined();
    } finally {
      await handle.close();
    }
    await expect(readCapped(path, 4096)).rejects.toSatisfy((e) => e instanceof SigverifyError && e.code === 'LIMIT_EXCEEDED');
  });

  it('caps a FIFO, which has no size, on the bytes read', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = createWriteStream(fifo);
    // The reader stops at the cap and closes its end: the writer's EPIPE is expected.
    writer.on('error', () => undefined);
    writer.write(randomBytes(100_000));
    writer.end();
    expect(await readFileCapped(fifo, 50_000)).toBeUndefined();
    writer.destroy();
  });

  it('reads a FIFO under the cap to its end', async () => {
    const fifo = join(dir, 'fifo-small');
    execFileSync('mkfifo', [fifo]);
    const bytes = randomBytes(3000);
    const writer = createWriteStream(fifo);
    writer.end(bytes);
    expect((await readFileCapped(fifo, 50_000))?.equals(bytes)).toBe(true);
  });

  it('rejects a missing file with its errno code', async () => {
    await expect(readFileCapped(join(dir, 'missing'), 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
