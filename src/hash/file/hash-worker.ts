import { parentPort } from 'node:worker_threads';
import type { HashOptions, HashRecord } from './hash-file.js';
import { hashFile } from './hash-file.js';

/**
 * Worker-thread entry: reads, decodes and hashes the files the pool sends,
 * several at a time, so one file's decode (on libuv's threads) overlaps
 * another's PDQ (on this thread).
 */

export interface HashTask {
  readonly id: number;
  readonly path: string;
  readonly options: HashOptions;
}

export type HashReply =
  | { readonly id: number; readonly record: HashRecord }
  /** Sent once the worker's modules (sharp, the hasher) have loaded. */
  | { readonly ready: true };

// A worker's standard output is the command's: a decoder that prints there
// would corrupt the JSON lines. Diagnostics belong on standard error.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const port = parentPort;
if (port === null) throw new Error('hash-worker.js runs inside a worker thread only.');

port.postMessage({ ready: true } satisfies HashReply);

port.on('message', (task: HashTask) => {
  void hashFile(task.path, task.options).then(
    (record) => port.postMessage({ id: task.id, record } satisfies HashReply),
    // hashFile turns every per-file problem into a record; this is a bug.
    (error: unknown) =>
      port.postMessage({
        id: task.id,
        record: {
          path: task.path,
          error: {
            code: 'hash-failed',
            message: `Hashing this file failed unexpectedly (${error instanceof Error ? error.message : String(error)}).`,
          },
        },
      } satisfies HashReply),
  );
});
