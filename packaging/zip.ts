/**
 * A minimal ZIP writer for wheels (PKWARE APPNOTE.TXT: local file headers,
 * central directory, end of central directory; deflate or stored; no ZIP64,
 * so every member and the archive stay under 4 GiB). Timestamps are fixed at
 * 1980-01-01, the earliest a ZIP can hold, so the same inputs give the same
 * bytes.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
  /** Unix permission bits; 0o644 unless given. */
  readonly mode?: number;
}

const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;
const MAX_32 = 0xffff_ffff;

export function zip(entries: readonly ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const deflated = deflateRawSync(entry.data);
    const stored = deflated.length >= entry.data.length;
    const body = stored ? entry.data : deflated;
    if (body.length > MAX_32 || entry.data.length > MAX_32 || offset > MAX_32) throw new Error(`${entry.name}: too large for a ZIP without ZIP64`);
    const crc = crc32(entry.data);
    const method = stored ? 0 : 8;
    // The fields both headers hold, in the same order, from "version needed to extract" on
    // (APPNOTE 4.3.7 and 4.3.12): version 2.0; flags bit 11, names are UTF-8; method; time, date;
    // CRC-32; compressed and uncompressed sizes; name length; extra field length.
    const shared = (buffer: Buffer, at: number): void => {
      buffer.writeUInt16LE(20, at);
      buffer.writeUInt16LE(0x0800, at + 2);
      buffer.writeUInt16LE(method, at + 4);
      buffer.writeUInt16LE(0, at + 6);
      buffer.writeUInt16LE(DOS_DATE_1980_01_01, at + 8);
      buffer.writeUInt32LE(crc, at + 10);
      buffer.writeUInt32LE(body.length, at + 14);
      buffer.writeUInt32LE(entry.data.length, at + 18);
      buffer.writeUInt16LE(name.length, at + 22);
      buffer.writeUInt16LE(0, at + 24);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    shared(local, 4);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the external attributes hold a mode
    shared(header, 6);
    // Comment length, disk number and internal attributes stay 0.
    header.writeUInt32LE((0o100000 | (entry.mode ?? 0o644)) * 0x10000, 38); // S_IFREG | mode, in the high 16 bits
    header.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(header, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}
