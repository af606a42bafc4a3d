import { parentPort } from 'node:worker_threads';
import type { HashReply, HashTask } from '../hash/file/hash-worker.js';
import { exactHashFile } from './exact-file.js';

/**
 * Worker-thread entry for `--exact-only`: speaks the hash pool's protocol
 * (`HashWorkerPool` with `workerUrl`), so the scan gets the pool's
 * scheduling, ordering and crash handling, with exact hashes only.
 */

const port = parentPort;
if (port === null) throw new Error('exact-worker.js runs inside a worker thread only.');

port.postMessage({ ready: true } satisfies HashReply);

port.on('message', (task: HashTask) => {
  void exactHashFile(task.path).then(
    (record) => port.postMessage({ id: task.id, record } satisfies HashReply),
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
