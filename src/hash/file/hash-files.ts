import type { HashOptions, HashRecord } from './hash-file.js';
import type { FileHasher, PoolOptions } from './pool.js';
import { HashWorkerPool } from './pool.js';
import type { WalkEntry } from './walk.js';
import { walk } from './walk.js';

export interface HashFilesOptions extends HashOptions, PoolOptions {
  /** Use this hasher (and leave it open) instead of starting a worker pool. */
  readonly hasher?: FileHasher;
}

/** Files queued per unit of hasher concurrency: enough that no worker waits on a slow neighbour. */
const LOOKAHEAD = 4;

/**
 * Hashes files in parallel and yields their records in input order. At most
 * a fixed number of files are in flight or waiting to be yielded, so memory
 * stays flat however many files there are, and the output of two runs over
 * the same input is identical line for line. Entries that carry an error
 * (from the walk) are passed through in their place.
 */
export async function* hashFiles(
  entries: AsyncIterable<WalkEntry | string> | Iterable<WalkEntry | string>,
  options: HashFilesOptions = {},
): AsyncGenerator<HashRecord> {
  const hasher = options.hasher ?? new HashWorkerPool(options);
  const hashOptions: HashOptions = {
    semantics: options.semantics,
    variants: options.variants,
    maxPixels: options.maxPixels,
    maxImageBytes: options.maxImageBytes,
    requireImage: options.requireImage,
  };
  const window = Math.max(1, hasher.concurrency * LOOKAHEAD);
  const pending: Array<Promise<HashRecord>> = [];
  try {
    for await (const item of entries) {
      const entry: WalkEntry = typeof item === 'string' ? { path: item } : item;
      const record =
        entry.error === undefined
          ? hasher.hash(entry.path, hashOptions)
          : Promise.resolve({ path: entry.path, error: entry.error });
      // Marked handled now; it is still awaited (and rethrows) in order below.
      record.catch(() => undefined);
      pending.push(record);
      if (pending.length >= window) yield await (pending.shift() as Promise<HashRecord>);
    }
    while (pending.length > 0) yield await (pending.shift() as Promise<HashRecord>);
  } finally {
    if (options.hasher === undefined) await hasher.close();
  }
}

/** Walks files and folders (see `walk`) and hashes every file found, in walk order. */
export function hashPaths(
  paths: Iterable<string>,
  options: HashFilesOptions = {},
): AsyncGenerator<HashRecord> {
  return hashFiles(walk(paths), options);
}
