// sharp's shared libraries must be loaded by the main thread before a worker
// loads them (see src/hash/file/pool.ts).
import 'sharp';
import { Worker } from 'node:worker_threads';
import type { ContentRecord, HashOptions } from '../hash/file/hash-file.js';
import type { MediaHasher } from './deps.js';

/**
 * Hashes fetched media on worker threads, so that decoding and PDQ (most of
 * an item's CPU) run beside the event loop instead of on it: the loop keeps
 * answering the API, the database and the fetches while a picture is
 * hashed. The worker gets its own copy of the bytes, moved rather than
 * copied again on the way.
 */

export interface HashRequest {
  readonly id: number;
  readonly buffer: ArrayBuffer;
}

export type HashReply =
  { readonly id: number; readonly record: ContentRecord } | { readonly ready: true };

interface Task {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  resolve(record: ContentRecord): void;
  reject(error: Error): void;
}

export class MediaHashPool {
  readonly #options: HashOptions;
  readonly #url: URL;
  readonly #workers: Array<{ worker: Worker; busy: Map<number, Task> }> = [];
  readonly #queue: Task[] = [];
  readonly #perWorker = 2;
  #next = 0;
  #closed = false;
  /** A thread that died before it was ready: its script is missing or broken (not built?). */
  #broken: Error | undefined;

  constructor(
    threads: number,
    options: HashOptions,
    url = new URL('./hash-worker.js', import.meta.url),
  ) {
    this.#options = options;
    this.#url = url;
    for (let i = 0; i < Math.max(1, threads); i++) this.#spawn();
  }

  /** This pool as the pipeline's MediaHasher. */
  hasher(): MediaHasher {
    return (bytes) => this.hash(bytes);
  }

  /** The caller keeps `bytes`: the worker gets a copy (moved, not copied again). */
  hash(bytes: Uint8Array): Promise<ContentRecord> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    if (this.#closed) return Promise.reject(new Error('the media hash pool is closed'));
    const buffer = bytes.buffer.slice(
      bytes.byteOffset,
      bytes.byteOffset + bytes.byteLength,
    ) as ArrayBuffer;
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#next++, buffer, resolve, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const task of this.#queue.splice(0))
      task.reject(new Error('the media hash pool was closed'));
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const free = this.#workers
        .filter((w) => w.busy.size < this.#perWorker)
        .sort((a, b) => a.busy.size - b.busy.size)[0];
      if (free === undefined) return;
      const task = this.#queue.shift() as Task;
      free.busy.set(task.id, task);
      free.worker.postMessage({ id: task.id, buffer: task.buffer, options: this.#options }, [
        task.buffer,
      ]);
    }
  }

  #spawn(): void {
    const entry = { worker: new Worker(this.#url), busy: new Map<number, Task>(), ready: false };
    let failure: Error | undefined;
    entry.worker.on('message', (reply: HashReply) => {
      if ('ready' in reply) {
        entry.ready = true;
        return;
      }
      const task = entry.busy.get(reply.id);
      entry.busy.delete(reply.id);
      task?.resolve(reply.record);
      this.#pump();
    });
    entry.worker.on('error', (error) => (failure = error)); // 'exit' follows and settles its tasks
    entry.worker.on('exit', (code) => {
      this.#workers.splice(this.#workers.indexOf(entry), 1);
      if (!entry.ready && !this.#closed) {
        this.#broken = new Error(
          `the hashing thread could not start (${failure?.message ?? `exit code ${code}`}); run "npm run build"`,
        );
        for (const task of [...entry.busy.values(), ...this.#queue.splice(0)])
          task.reject(this.#broken);
        return;
      }
      // The job that sent it fails and is retried; the pool carries on.
      for (const task of entry.busy.values())
        task.reject(new Error(`the hashing thread stopped (exit code ${code})`));
      if (!this.#closed) {
        this.#spawn();
        this.#pump();
      }
    });
    entry.worker.unref();
    this.#workers.push(entry);
  }
}
