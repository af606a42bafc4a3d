import {
  closeSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';

/**
 * A snapshot file: a fixed header, a JSON description, then raw typed-array
 * sections (each 8-byte aligned), so loading is a read straight into the
 * arrays the index uses, with no parsing.
 *
 *   0  magic "TKDNSNAP"          8 bytes
 *   8  format version            u32
 *  12  byte-order mark 0x01020304 u32 (the sections are in this machine's order)
 *  16  JSON length               u32
 *  20  body CRC-32               u32
 *  24  body length               u64
 *  32  header CRC-32             u32 (of bytes 0..31 and the JSON)
 *  36  reserved                  28 bytes
 *  64  JSON, then padding to 8, then the body
 *
 * Any damage (truncation, a flipped bit, a file from another version or
 * machine) makes `readSnapshotFile` return `corrupt` with a reason, so the
 * caller rebuilds from the database instead of trusting it.
 */

const MAGIC = 'TKDNSNAP';
export const SNAPSHOT_FORMAT = 1;
const BOM = 0x01020304;
const HEADER = 64;
const CHUNK = 64 * 2 ** 20;

export type SectionArray = Uint32Array | Int32Array;

export interface SectionSpec {
  readonly type: 'u32' | 'i32';
  readonly length: number;
}

export type SnapshotRead<T> =
  | { readonly kind: 'loaded'; readonly value: T; readonly bytes: number }
  | { readonly kind: 'missing' }
  | { readonly kind: 'corrupt'; readonly reason: string };

const align8 = (n: number) => Math.ceil(n / 8) * 8;
const bytesOf = (a: SectionArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes `json` and the sections to `path` atomically (a temporary file, fsync, rename). */
export function writeSnapshotFile(
  path: string,
  json: unknown,
  sections: readonly SectionArray[],
): number {
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const bodyStart = align8(HEADER + text.length);
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    let at = bodyStart;
    let crc = 0;
    const pad = new Uint8Array(8);
    for (const section of sections) {
      const bytes = bytesOf(section);
      for (let from = 0; from < bytes.length; from += CHUNK) {
        const part = bytes.subarray(from, Math.min(bytes.length, from + CHUNK));
        writeAll(fd, part, at);
        crc = crc32(part, crc);
        at += part.length;
      }
      const fill = pad.subarray(0, align8(bytes.length) - bytes.length);
      writeAll(fd, fill, at);
      crc = crc32(fill, crc);
      at += fill.length;
    }
    const header = Buffer.alloc(bodyStart);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(SNAPSHOT_FORMAT, 8);
    new Uint32Array(header.buffer, header.byteOffset + 12, 1)[0] = BOM;
    header.writeUInt32LE(text.length, 16);
    header.writeUInt32LE(crc >>> 0, 20);
    header.writeBigUInt64LE(BigInt(at - bodyStart), 24);
    text.copy(header, HEADER);
    header.writeUInt32LE(headerCrc(header, text.length), 32);
    writeAll(fd, header, 0);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  return statSync(path).size;
}

/**
 * Reads a snapshot: `describe` turns the JSON into the section list (after
 * checking it), `allocate` makes each array (e.g. in a SharedArrayBuffer),
 * and `finish` assembles the value once every check has passed.
 */
export function readSnapshotFile<T>(
  path: string,
  describe: (json: unknown) => readonly SectionSpec[],
  allocate: (spec: SectionSpec) => SectionArray,
  finish: (json: unknown, sections: SectionArray[]) => T,
): SnapshotRead<T> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  try {
    const size = statSync(path).size;
    if (size < HEADER) return corrupt(`the file has ${size} bytes, less than a header`);
    const head = Buffer.alloc(HEADER);
    readAll(fd, head, 0);
    if (head.toString('latin1', 0, 8) !== MAGIC) return corrupt('it is not a Takedown snapshot');
    const format = head.readUInt32LE(8);
    if (format !== SNAPSHOT_FORMAT)
      return corrupt(`format ${format}, this build reads ${SNAPSHOT_FORMAT}`);
    if (new Uint32Array(head.buffer, head.byteOffset + 12, 1)[0] !== BOM) {
      return corrupt('it was written on a machine of the other byte order');
    }
    const jsonLength = head.readUInt32LE(16);
    const bodyStart = align8(HEADER + jsonLength);
    const bodyLength = Number(head.readBigUInt64LE(24));
    if (size !== bodyStart + bodyLength) {
      return corrupt(`the file has ${size} bytes, the header says ${bodyStart + bodyLength}`);
    }
    const header = Buffer.alloc(bodyStart);
    readAll(fd, header, 0);
    if (header.readUInt32LE(32) !== headerCrc(header, jsonLength))
      return corrupt('the header checksum does not match');
    const json: unknown = JSON.parse(header.toString('utf8', HEADER, HEADER + jsonLength));
    let specs: readonly SectionSpec[];
    try {
      specs = describe(json);
    } catch (error) {
      return corrupt(`its description is invalid (${(error as Error).message})`);
    }
    const want = specs.reduce((n, s) => n + align8(s.length * 4), 0);
    if (want !== bodyLength)
      return corrupt(`the sections need ${want} bytes, the body has ${bodyLength}`);
    const sections: SectionArray[] = [];
    let at = bodyStart;
    let crc = 0;
    for (const spec of specs) {
      const array = allocate(spec);
      const bytes = bytesOf(array);
      for (let from = 0; from < bytes.length; from += CHUNK) {
        const part = bytes.subarray(from, Math.min(bytes.length, from + CHUNK));
        readAll(fd, part, at);
        crc = crc32(part, crc);
        at += part.length;
      }
      const fill = Buffer.alloc(align8(bytes.length) - bytes.length);
      readAll(fd, fill, at);
      crc = crc32(fill, crc);
      at += fill.length;
      sections.push(array);
    }
    if (crc >>> 0 !== head.readUInt32LE(20)) return corrupt('the data checksum does not match');
    try {
      return { kind: 'loaded', value: finish(json, sections), bytes: size };
    } catch (error) {
      return corrupt(`its contents are inconsistent (${(error as Error).message})`);
    }
  } finally {
    closeSync(fd);
  }
}

function corrupt(reason: string): { kind: 'corrupt'; reason: string } {
  return { kind: 'corrupt', reason };
}

function headerCrc(header: Buffer, jsonLength: number): number {
  return crc32(header.subarray(HEADER, HEADER + jsonLength), crc32(header.subarray(0, 32))) >>> 0;
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length;) {
    done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}

function readAll(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length;) {
    const n = readSync(fd, bytes, done, bytes.length - done, position + done);
    if (n === 0) throw new Error('unexpected end of file');
    done += n;
  }
}
