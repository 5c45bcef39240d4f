import { type FileHandle, link, open, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SigverifyError } from '../errors.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { sha256Hex } from './canonical-json.ts';
import { LockTimeout, acquireFileLock } from './lock.ts';
import { type AuditCheckpoint, type CheckpointSigner, sealCheckpoint } from './checkpoint.ts';
import { type AuditEntry, type AuditRecord, AuditRecordSchema, type AuditWriter, GENESIS_PREV, sealRecord } from './record.ts';

/** First read from the end of the trail when looking for its last line; grows up to maxAuditLineBytes. */
const TAIL_READ_BYTES = 16 * 1024;

/** Where the gate writes its records. */
export interface AuditSink {
  /** Resolves once the record is durably written; rejects with AUDIT_UNAVAILABLE otherwise. */
  append(entry: AuditEntry): Promise<AuditRecord>;
}

export interface AuditLogOptions {
  /** fdatasync after every record (default true): a record reported written survives a power loss. */
  readonly fsync?: boolean;
  readonly limits?: Partial<Limits>;
  /** Recorded in every record: the host (default `os.hostname()`) and the processor the site names. */
  readonly host?: string;
  readonly processor?: string;
  /** Keyed checkpoints: the site key signs the head after every record whose seq is a multiple of `every` (default {@link DEFAULT_CHECKPOINT_EVERY}). */
  readonly checkpoint?: { readonly signer: CheckpointSigner; readonly every?: number };
}

/** Records between keyed checkpoints when the site does not say. */
export const DEFAULT_CHECKPOINT_EVERY = 100;

/**
 * An append-only JSON Lines audit trail in a file. Each append takes the
 * trail's lock (`FILE.lock`, shared by every process on the host), reads the
 * last line to chain to it, and writes the new line with one O_APPEND write.
 * Appends from one AuditLog are also queued in memory, so they never wait on
 * their own lock. The file is created with mode 0640.
 */
export class AuditLog implements AuditSink {
  readonly path: string;
  readonly #fsync: boolean;
  readonly #limits: Limits;
  readonly #writer: AuditWriter;
  readonly #checkpoint: { readonly signer: CheckpointSigner; readonly every: number } | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: AuditLogOptions = {}) {
    this.path = path;
    this.#fsync = options.fsync ?? true;
    this.#limits = resolveLimits(options.limits);
    this.#writer = writerOf(options);
    const every = options.checkpoint?.every ?? DEFAULT_CHECKPOINT_EVERY;
    if (!Number.isInteger(every) || every < 1) throw new SigverifyError('USAGE', `the checkpoint interval must be a whole number of records, at least 1, not ${every}`);
    this.#checkpoint = options.checkpoint === undefined ? undefined : { signer: options.checkpoint.signer, every };
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    const appended = this.#queue.then(() => this.#append(entry));
    this.#queue = appended.catch(() => undefined);
    return appended;
  }

  async #append(entry: AuditEntry): Promise<AuditRecord> {
    let release: (() => Promise<void>) | undefined;
    try {
      release = await acquireFileLock(`${this.path}.lock`, this.#limits.auditLockTimeoutMs);
      const handle = await open(this.path, 'a+', 0o640);
      try {
        const { size } = await handle.stat();
        const last = await lastLine(handle, size, this.#limits, (why, cause) => this.#unavailable(why, cause));
        const { record, line } = sealRecord(entry, last.seq + 1, last.hash, this.#writer);
        if (Buffer.byteLength(line) - 1 > this.#limits.maxAuditLineBytes) throw this.#unavailable(`a record of ${Buffer.byteLength(line)} bytes exceeds maxAuditLineBytes`);
        // Every `every` records, the site key signs the head; written with the record, in one append.
        const checkpoint = this.#checkpoint !== undefined && record.seq % this.#checkpoint.every === 0
          ? sealCheckpoint(record.seq + 1, sha256Hex(line.slice(0, -1)), 'interval', entry.time, this.#writer, this.#checkpoint.signer).line
          : '';
        const bytes = Buffer.from(line + checkpoint, 'utf8');
        const { bytesWritten } = await handle.write(bytes, 0, bytes.length, null);
        if (bytesWritten !== bytes.length) {
          // Leave no torn line behind (the lock is still held, so nothing was appended after it).
          await handle.truncate(size).catch(() => undefined);
          throw this.#unavailable(`short write (${bytesWritten} of ${bytes.length} bytes)`);
        }
        if (this.#fsync) await handle.datasync();
        return record;
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (error instanceof SigverifyError) throw error;
      const why = error instanceof LockTimeout ? error.message : (error as Error).message;
      throw this.#unavailable(why, error);
    } finally {
      await release?.();
    }
  }

  #unavailable(why: string, cause?: unknown): SigverifyError {
    return new SigverifyError('AUDIT_UNAVAILABLE', `cannot append to the audit trail ${this.path}: ${why}`, { ...(cause === undefined ? {} : { cause }), details: { path: this.path } });
  }
}

function writerOf(options: Pick<AuditLogOptions, 'host' | 'processor'>): AuditWriter {
  return { host: options.host ?? hostname(), ...(options.processor === undefined ? {} : { processor: options.processor }) };
}

type Unavailable = (why: string, cause?: unknown) => SigverifyError;

/** The sequence number and line hash to chain to: the trail's last line, which must be a whole record or checkpoint. */
async function lastLine(handle: FileHandle, size: number, limits: Limits, unavailable: Unavailable): Promise<{ seq: number; hash: string }> {
  if (size === 0) return { seq: 0, hash: GENESIS_PREV };
  // Read backwards from the end, a little at first, until the line before the last newline starts.
  const cap = Math.min(size, limits.maxAuditLineBytes + 2);
  let want = Math.min(cap, TAIL_READ_BYTES);
  let bytes: Buffer;
  let start: number;
  for (;;) {
    const tail = Buffer.alloc(want);
    const { bytesRead } = await handle.read(tail, 0, want, size - want);
    bytes = tail.subarray(0, bytesRead);
    if (bytes.at(-1) !== 0x0a) throw unavailable('its last line is incomplete (a write was cut short); run "sigverify audit verify" and repair the trail');
    start = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
    if (start > 0 || want === size) break;
    if (want === cap) throw unavailable('its last line is longer than maxAuditLineBytes');
    want = Math.min(cap, want * 8);
  }
  const line = bytes.subarray(start, bytes.length - 1);
  let seq: number;
  try {
    seq = AuditRecordSchema.shape.seq.parse((JSON.parse(line.toString('utf8')) as { seq?: unknown }).seq);
  } catch (cause) {
    throw unavailable('its last line is not an audit record; run "sigverify audit verify"', cause);
  }
  return { seq, hash: sha256Hex(line) };
}

export interface RotateOptions extends Pick<AuditLogOptions, 'host' | 'processor' | 'limits'> {
  /** Signs the rotation checkpoint (the previous segment's head). */
  readonly signer?: CheckpointSigner;
  /** The checkpoint's time; default now. */
  readonly now?: () => Date;
}

export interface Rotation {
  /** The closed segment: the trail as it was. */
  readonly segment: string;
  /** Its last sequence number and the sha256 of its last line: what `audit verify --continues-from` takes. */
  readonly head: { readonly seq: number; readonly line: string };
  /** The first line of the new trail, continuing the chain. */
  readonly checkpoint: AuditCheckpoint;
}

/**
 * Rotation: under the trail's lock (so no decision lands between the two
 * steps), the trail becomes `segment` (never overwriting a file), and a new
 * trail starts with a checkpoint chained to the segment's last line — signed
 * when there is a key — so the new segment continues the old one's sequence
 * and hash chain. Each segment then verifies on its own, the new one with
 * `--continues-from SEQ:SHA256` of the old one's head.
 */
export async function rotateAuditLog(path: string, segment: string, options: RotateOptions = {}): Promise<Rotation> {
  const limits = resolveLimits(options.limits);
  const unavailable: Unavailable = (why, cause) =>
    new SigverifyError('AUDIT_UNAVAILABLE', `cannot rotate the audit trail ${path}: ${why}`, { ...(cause === undefined ? {} : { cause }), details: { path } });
  let release: (() => Promise<void>) | undefined;
  try {
    release = await acquireFileLock(`${path}.lock`, limits.auditLockTimeoutMs);
    const handle = await open(path, 'r');
    let head: { seq: number; hash: string };
    try {
      head = await lastLine(handle, (await handle.stat()).size, limits, unavailable);
    } finally {
      await handle.close();
    }
    if (head.seq === 0) throw unavailable('it is empty: there is nothing to rotate');
    // link + unlink: a rename that fails instead of replacing an existing segment.
    await link(path, segment);
    await unlink(path);
    const { checkpoint, line } = sealCheckpoint(head.seq + 1, head.hash, 'rotation', (options.now ?? (() => new Date()))().toISOString(), writerOf(options), options.signer);
    const created = await open(path, 'wx', 0o640);
    try {
      await created.writeFile(line);
      await created.datasync();
    } finally {
      await created.close();
    }
    return { segment, head: { seq: head.seq, line: head.hash }, checkpoint };
  } catch (error) {
    if (error instanceof SigverifyError) throw error;
    throw unavailable(error instanceof LockTimeout ? error.message : (error as Error).message, error);
  } finally {
    await release?.();
  }
}
