import { parentPort, workerData } from 'node:worker_threads';
import { encryptBlob, FolderBlobStore } from '../store/blob-store.js';
import type { BlobPut, BlobPutReply, BlobThreadData } from './blob-thread.js';

/**
 * Worker-thread entry of ThreadedBlobStore: encrypts each blob it is sent
 * and writes it durably (aside, flushed, renamed), then answers.
 */
const port = parentPort;
if (port === null) throw new Error('blob-worker.js runs inside a worker thread only.');
const data = workerData as BlobThreadData;
const key = { id: data.key.id, bytes: Buffer.from(data.key.bytes) };
const folder = new FolderBlobStore(data.dir);

port.on('message', ({ id, key: blobKey, bytes }: BlobPut) => {
  try {
    folder.putSync(blobKey, encryptBlob(key, blobKey, bytes));
    port.postMessage({ id } satisfies BlobPutReply);
  } catch (error) {
    port.postMessage({
      id,
      error: error instanceof Error ? error.message : String(error),
    } satisfies BlobPutReply);
  }
});
