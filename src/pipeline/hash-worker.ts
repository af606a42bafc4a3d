import { parentPort } from 'node:worker_threads';
import type { HashOptions } from '../hash/file/hash-file.js';
import { hashBytes } from '../hash/file/hash-file.js';
import type { HashReply, HashRequest } from './hash-pool.js';

/**
 * Worker-thread entry of the media hash pool: hashes the bytes it is sent
 * and answers with the record.
 */
const port = parentPort;
if (port === null) throw new Error('hash-worker.js runs inside a worker thread only.');

port.on('message', (task: HashRequest & { options: HashOptions }) => {
  const bytes = new Uint8Array(task.buffer);
  void hashBytes(bytes, task.options).then(
    (record) => port.postMessage({ id: task.id, record } satisfies HashReply),
    (error: unknown) =>
      port.postMessage({
        id: task.id,
        record: {
          error: {
            code: 'hash-failed',
            message: `Hashing failed unexpectedly (${error instanceof Error ? error.message : String(error)}).`,
          },
        },
      } satisfies HashReply),
  );
});
port.postMessage({ ready: true });
