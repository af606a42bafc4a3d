// sharp's shared libraries must be loaded by the main thread before any worker
// loads them, or glibc may unload them under a running worker (sharp's docs).
import 'sharp';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TakedownError } from '../../errors.js';
import { hashError } from './errors.js';
import type { HashOptions, HashRecord } from './hash-file.js';
import { hashFile } from './hash-file.js';
import type { HashReply, HashTask } from './hash-worker.js';

/** Something that hashes files by path, several at a time. */
export interface FileHasher {
  /** How many files it works on at once; callers queue about this many ahead. */
  readonly concurrency: number;
  /** Resolves with a record for every file problem; rejects only if the hasher itself broke. */
  hash(path: string, options?: HashOptions): Promise<HashRecord>;
  close(): Promise<void>;
}

export interface PoolOptions {
  /** Worker threads; `os.availableParallelism()` by default. */
  readonly jobs?: number;
  /** Files each worker works on at once, so decoding overlaps hashing. */
  readonly filesPerWorker?: number;
  /** The compiled worker script; tests point it elsewhere. */
  readonly workerUrl?: URL;
}

const DEFAULT_FILES_PER_WORKER = 2;

interface Task extends HashTask {
  readonly resolve: (record: HashRecord) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly inFlight: Map<number, Task>;
  ready: boolean;
  error?: Error;
}

/**
 * Worker threads that read, decode and hash files (all CPU work off the
 * caller's thread). Tasks go to the least busy worker. A worker that dies
 * takes only its in-flight files with it (reported as `hash-failed`) and is
 * replaced; a worker that dies before it is ready (its script is missing
 * or broken) breaks the pool, which then rejects: no file would ever be
 * hashed.
 */
export class HashWorkerPool implements FileHasher {
  readonly size: number;
  readonly concurrency: number;
  readonly #perWorker: number;
  readonly #url: URL;
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  #nextId = 0;
  #closed = false;
  #broken: Error | undefined;

  constructor(options: PoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.jobs ?? availableParallelism()));
    this.#perWorker = Math.max(1, options.filesPerWorker ?? DEFAULT_FILES_PER_WORKER);
    this.concurrency = this.size * this.#perWorker;
    this.#url = options.workerUrl ?? new URL('./hash-worker.js', import.meta.url);
    for (let i = 0; i < this.size; i++) this.#spawn();
  }

  hash(path: string, options: HashOptions = {}): Promise<HashRecord> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#closed) return Promise.reject(new Error('The hash worker pool is closed.'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, path, options, resolve, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const closed = new Error('The hash worker pool was closed before this file was hashed.');
    for (const task of this.#queue.splice(0)) task.reject(closed);
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let best: Slot | undefined;
      for (const slot of this.#slots) {
        if (
          slot.inFlight.size < this.#perWorker &&
          (!best || slot.inFlight.size < best.inFlight.size)
        ) {
          best = slot;
        }
      }
      if (best === undefined) return;
      const task = this.#queue.shift() as Task;
      best.inFlight.set(task.id, task);
      best.worker.postMessage({
        id: task.id,
        path: task.path,
        options: task.options,
      } satisfies HashTask);
    }
  }

  #spawn(): void {
    const worker = new Worker(this.#url);
    const slot: Slot = { worker, inFlight: new Map(), ready: false };
    worker.on('message', (reply: HashReply) => {
      if ('ready' in reply) {
        slot.ready = true;
        return;
      }
      const task = slot.inFlight.get(reply.id);
      slot.inFlight.delete(reply.id);
      task?.resolve(reply.record);
      this.#pump();
    });
    worker.on('error', (error) => {
      slot.error = error;
    });
    worker.on('exit', (code) => this.#lost(slot, code));
    this.#slots.push(slot);
  }

  #lost(slot: Slot, code: number): void {
    this.#slots.splice(this.#slots.indexOf(slot), 1);
    const tasks = [...slot.inFlight.values()];
    if (this.#closed) {
      const closed = new Error('The hash worker pool was closed before this file was hashed.');
      for (const task of tasks) task.reject(closed);
      return;
    }
    const reason = slot.error?.message ?? `exit code ${code}`;
    if (!slot.ready) {
      this.#broken = new TakedownError(
        'hash-worker-failed',
        `The hashing worker could not start (${reason}). Run "npm run build" and try again.`,
        { kind: 'internal', cause: slot.error },
      );
      for (const task of [...tasks, ...this.#queue.splice(0)]) task.reject(this.#broken);
      void this.close();
      return;
    }
    for (const task of tasks) {
      task.resolve({
        path: task.path,
        error: hashError('hash-failed', `the hashing worker stopped: ${reason}`),
      });
    }
    this.#spawn();
    this.#pump();
  }
}

/** Hashes on the calling thread, a few files at a time: for callers that cannot use workers. */
export function inThreadHasher(concurrency = 2): FileHasher {
  return {
    concurrency,
    hash: (path, options) => hashFile(path, options),
    close: async () => undefined,
  };
}
