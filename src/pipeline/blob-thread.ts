import { Worker } from 'node:worker_threads';
import type { MediaKey } from '../config.js';
import type { BlobStore } from '../store/blob-store.js';

/**
 * The evidence store with its writes on a thread of their own: encrypting
 * a picture and writing it aside, flushing and renaming it cost the event
 * loop about 2.5 ms per blob as file promises, and next to nothing as one
 * message to a thread that does the same synchronously
 * (`FolderBlobStore.putSync` behind `encryptBlob`, as `EncryptedBlobStore`
 * does). `put` resolves once the blob is durable, as before; reads and
 * deletes stay with the store in the calling thread. A thread that dies
 * fails the writes it had (their jobs retry) and is started again.
 */

export interface BlobThreadData {
  readonly dir: string;
  readonly key: { readonly id: string; readonly bytes: Uint8Array };
}

export interface BlobPut {
  readonly id: number;
  readonly key: string;
  readonly bytes: Uint8Array;
}

export interface BlobPutReply {
  readonly id: number;
  readonly error?: string;
}

export class ThreadedBlobStore implements BlobStore {
  readonly #inner: BlobStore;
  readonly #data: BlobThreadData;
  readonly #url: URL;
  readonly #waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  /** Writes not answered yet: `close` lets them finish, their jobs wait for them. */
  readonly #pending = new Set<Promise<void>>();
  #worker: Worker | undefined;
  #next = 0;
  #closed = false;

  /** `inner` reads and deletes; the thread writes to `dir` with `key`, as `inner` would. */
  constructor(
    inner: BlobStore,
    dir: string,
    key: MediaKey,
    url = new URL('./blob-worker.js', import.meta.url),
  ) {
    this.#inner = inner;
    this.#data = { dir, key: { id: key.id, bytes: new Uint8Array(key.bytes) } };
    this.#url = url;
  }

  /** The caller keeps `bytes`: the thread gets a copy. */
  put(key: string, bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the media store is closed'));
    const worker = this.#thread();
    const id = this.#next++;
    const written = new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ id, key, bytes } satisfies BlobPut);
    });
    this.#pending.add(written);
    const forget = () => void this.#pending.delete(written);
    written.then(forget, forget);
    return written;
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#inner.get(key);
  }

  delete(key: string): Promise<boolean> {
    return this.#inner.delete(key);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
    await this.#worker?.terminate();
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(this.#url, { workerData: this.#data });
    let failure: Error | undefined;
    worker.on('message', (reply: BlobPutReply) => {
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (reply.error === undefined) waiting?.resolve();
      else waiting?.reject(new Error(`could not store the media: ${reply.error}`));
    });
    worker.on('error', (error) => (failure = error)); // 'exit' follows
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      const error = new Error(
        `the media writing thread stopped (${failure?.message ?? `exit code ${code}`})`,
      );
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
    });
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}
