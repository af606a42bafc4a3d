import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ExactHasher } from '../hash/file/digests.js';
import { errnoToHashError, hashError, notAFile } from '../hash/file/errors.js';
import type { HashRecord } from '../hash/file/hash-file.js';
import type { EntryType, TypedEntry } from '../hash/file/reader.js';
import { entryType } from '../hash/file/reader.js';
import { SNIFF_BYTES, sniffContent } from '../hash/file/sniff.js';

/**
 * `--exact-only`: MD5, SHA-1 and SHA-256 of a file in one pass, its first
 * bytes sniffed to tell images (by content) from other files, nothing
 * decoded. Per-file problems come back as `error` with `hashFile`'s codes.
 *
 * Built for throughput, since this mode competes with `sha256sum`: it runs
 * in a worker thread, so plain blocking reads cost less than the thread
 * pool round trips of asynchronous ones; and one small buffer is reused for
 * every file, so the three digests read it from the CPU cache and no fresh
 * memory is faulted in per file.
 */

/** Read size: small enough that the three digests find it in the L2 cache. */
const CHUNK_BYTES = 128 * 1024;
let shared: Buffer | undefined;

/** The blocking file operations this needs; injected in tests. */
export interface SyncFileIo {
  open(path: string): number;
  fstat(fd: number): TypedEntry & { readonly size: number; readonly mtimeMs: number };
  read(fd: number, into: Uint8Array, length: number, position: number): number;
  close(fd: number): void;
}

export const nodeSyncIo: SyncFileIo = {
  // O_NONBLOCK: opening a named pipe would otherwise wait for a writer.
  open: (path) => openSync(path, constants.O_RDONLY | constants.O_NONBLOCK),
  fstat: (fd) => fstatSync(fd),
  read: (fd, into, length, position) => readSync(fd, into, 0, length, position),
  close: (fd) => closeSync(fd),
};

export async function exactHashFile(
  path: string,
  io: SyncFileIo = nodeSyncIo,
): Promise<HashRecord> {
  let fd: number;
  try {
    fd = io.open(path);
  } catch (error) {
    return { path, error: errnoToHashError(error, 'open') };
  }
  try {
    const before = io.fstat(fd);
    const type: EntryType = entryType(before);
    if (type !== 'file') return { path, error: notAFile(type) };
    const buffer = (shared ??= Buffer.allocUnsafe(CHUNK_BYTES));
    const hasher = new ExactHasher();
    let head: Buffer | undefined;
    for (let position = 0; ;) {
      const n = io.read(fd, buffer, buffer.length, position);
      if (n === 0) break;
      // The buffer is reused: keep a copy of the first bytes for sniffing.
      if (position === 0) head = Buffer.from(buffer.subarray(0, Math.min(n, SNIFF_BYTES)));
      hasher.update(buffer.subarray(0, n));
      position += n;
    }
    const after = io.fstat(fd);
    // Read from one open file: a size or time that moved means the bytes may mix two versions.
    if (
      hasher.bytes !== before.size ||
      after.size !== before.size ||
      after.mtimeMs !== before.mtimeMs
    ) {
      const shrank = hasher.bytes < before.size || after.size < before.size;
      return { path, error: hashError(shrank ? 'file-vanished' : 'file-changed') };
    }
    const exact = { bytes: hasher.bytes, ...hasher.digest() };
    if (hasher.bytes === 0) return { path, ...exact, error: hashError('empty-file') };
    const sniffed = await sniffContent(head ?? new Uint8Array(0));
    return sniffed.kind === 'image'
      ? { path, ...exact, format: sniffed.format }
      : { path, ...exact };
  } catch (error) {
    return { path, error: errnoToHashError(error, 'read') };
  } finally {
    try {
      io.close(fd);
    } catch {
      // nothing left to do with it
    }
  }
}

/** The compiled worker script that runs `exactHashFile` for `HashWorkerPool` (`workerUrl`). */
export const EXACT_WORKER_URL = new URL('./exact-worker.js', import.meta.url);
