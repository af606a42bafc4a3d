import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** What kind of thing a path turned out to be once opened. */
export type EntryType =
  'file' | 'directory' | 'fifo' | 'socket' | 'character-device' | 'block-device' | 'other';

/**
 * One opened file: the narrow slice of file I/O that hashing needs, so tests
 * can inject failures root cannot provoke (EACCES, a file cut short mid-read).
 */
export interface OpenedFile {
  readonly type: EntryType;
  /** Size when opened; the file may still change while it is read. */
  readonly size: number;
  /** Reads up to `length` bytes at `position`; 0 means end of file. */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface FileReader {
  /** Rejects with a Node errno error (`code: 'ENOENT'`, `'EACCES'`…). */
  open(path: string): Promise<OpenedFile>;
}

/** The type tests of `fs.Stats`, `BigIntStats` and `Dirent` alike. */
export interface TypedEntry {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

export function entryType(stats: TypedEntry): EntryType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'character-device';
  if (stats.isBlockDevice()) return 'block-device';
  return 'other';
}

/**
 * The real file system. O_NONBLOCK because opening a named pipe for reading
 * would otherwise wait forever for a writer; the type is then checked on the
 * opened descriptor (fstat), so a path swapped between walk and open cannot
 * slip a device past the check.
 */
export const nodeFileReader: FileReader = {
  async open(path) {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const stats = await handle.stat();
      return {
        type: entryType(stats),
        size: stats.size,
        read: async (into, offset, length, position) =>
          (await handle.read(into, offset, length, position)).bytesRead,
        close: () => handle.close(),
      };
    } catch (error) {
      await handle.close();
      throw error;
    }
  },
};
