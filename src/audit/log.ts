import { type FileHandle, open } from 'node:fs/promises';
import { SigverifyError } from '../errors.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { sha256Hex } from './canonical-json.ts';
import { LockTimeout, acquireFileLock } from './lock.ts';
import { type AuditEntry, type AuditRecord, AuditRecordSchema, GENESIS_PREV, sealRecord } from './record.ts';

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
}

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
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: AuditLogOptions = {}) {
    this.path = path;
    this.#fsync = options.fsync ?? true;
    this.#limits = resolveLimits(options.limits);
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
        const last = await this.#lastRecord(handle, size);
        const { record, line } = sealRecord(entry, last.seq + 1, last.hash);
        const bytes = Buffer.from(line, 'utf8');
        if (bytes.length - 1 > this.#limits.maxAuditLineBytes) throw this.#unavailable(`a record of ${bytes.length} bytes exceeds maxAuditLineBytes`);
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

  /** The sequence number and line hash to chain to: the trail's last line, which must be a whole record. */
  async #lastRecord(handle: FileHandle, size: number): Promise<{ seq: number; hash: string }> {
    if (size === 0) return { seq: 0, hash: GENESIS_PREV };
    // Read backwards from the end, a little at first, until the line before the last newline starts.
    const cap = Math.min(size, this.#limits.maxAuditLineBytes + 2);
    let want = Math.min(cap, TAIL_READ_BYTES);
    let bytes: Buffer;
    let start: number;
    for (;;) {
      const tail = Buffer.alloc(want);
      const { bytesRead } = await handle.read(tail, 0, want, size - want);
      bytes = tail.subarray(0, bytesRead);
      if (bytes.at(-1) !== 0x0a) throw this.#unavailable('its last line is incomplete (a write was cut short); run "sigverify audit verify" and repair the trail');
      start = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
      if (start > 0 || want === size) break;
      if (want === cap) throw this.#unavailable('its last line is longer than maxAuditLineBytes');
      want = Math.min(cap, want * 8);
    }
    const line = bytes.subarray(start, bytes.length - 1);
    let seq: number;
    try {
      seq = AuditRecordSchema.shape.seq.parse((JSON.parse(line.toString('utf8')) as { seq?: unknown }).seq);
    } catch (cause) {
      throw this.#unavailable('its last line is not an audit record; run "sigverify audit verify"', cause);
    }
    return { seq, hash: sha256Hex(line) };
  }

  #unavailable(why: string, cause?: unknown): SigverifyError {
    return new SigverifyError('AUDIT_UNAVAILABLE', `cannot append to the audit trail ${this.path}: ${why}`, { ...(cause === undefined ? {} : { cause }), details: { path: this.path } });
  }
}
