import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TakedownError } from '../../errors.js';
import type { PdqIndex } from '../pdq-index.js';
import type { PdqMatch, PdqQuery, PdqSearchOptions } from '../types.js';
import { checkRadius, queryWords } from '../types.js';
import type { SearchReply, SearchTask } from './search-worker.js';

export interface PdqSearchPoolOptions {
  /** Worker threads; one per core by default. */
  readonly threads?: number;
  /** The compiled worker script; tests point it elsewhere. */
  readonly workerUrl?: URL;
}

interface Pending {
  readonly resolve: (results: PdqMatch[][]) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Layout version this worker holds; -1 before the first. */
  version: number;
  ready: boolean;
  readonly inFlight: Map<number, Pending>;
}

/** Batches larger than this are split so every thread takes a share. */
const SPLIT_AT = 64;

/**
 * Worker threads searching one `PdqIndex` in shared memory: the index is
 * built or loaded once (with `shared: true`), every thread reads the same
 * bytes, and the calling thread stays free (for HTTP). Adds and removes on
 * the index are visible to the threads at once; when its parts change, the
 * pool hands the threads the new layout before their next search.
 */
export class PdqSearchPool {
  readonly threads: number;
  readonly #index: PdqIndex;
  readonly #url: URL;
  readonly #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;

  private constructor(index: PdqIndex, options: PdqSearchPoolOptions) {
    if (!index.shared) {
      throw new TakedownError(
        'index-not-shared',
        'Worker threads can only search an index built with { shared: true }.',
        { kind: 'internal' },
      );
    }
    this.#index = index;
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    this.#url = options.workerUrl ?? new URL('./search-worker.js', import.meta.url);
  }

  /** Starts the threads and waits until each has loaded. */
  static async start(index: PdqIndex, options: PdqSearchPoolOptions = {}): Promise<PdqSearchPool> {
    const pool = new PdqSearchPool(index, options);
    await Promise.all(Array.from({ length: pool.threads }, () => pool.#spawn()));
    return pool;
  }

  async search(query: PdqQuery, options?: PdqSearchOptions): Promise<PdqMatch[]> {
    const [results] = await this.searchMany([query], options);
    return results;
  }

  /** Results in the order of the queries. */
  async searchMany(
    queries: readonly PdqQuery[],
    options?: PdqSearchOptions,
  ): Promise<PdqMatch[][]> {
    const radius = checkRadius(options);
    const parsed = queries.map(queryWords); // bad input fails here, in the caller's thread
    if (parsed.length <= SPLIT_AT) return this.#send(parsed, radius);
    const size = Math.ceil(parsed.length / this.threads);
    const parts: Promise<PdqMatch[][]>[] = [];
    for (let at = 0; at < parsed.length; at += size)
      parts.push(this.#send(parsed.slice(at, at + size), radius));
    return (await Promise.all(parts)).flat();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots)
      this.#fail(slot, new TakedownError('matcher-closed', 'The matcher pool was closed.'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #send(queries: Uint32Array[][], radius: number): Promise<PdqMatch[][]> {
    if (this.#closed)
      return Promise.reject(new TakedownError('matcher-closed', 'The matcher pool was closed.'));
    if (this.#slots.length === 0) {
      return Promise.reject(
        new TakedownError('matcher-failed', 'No matcher thread is running.', {
          kind: 'unavailable',
        }),
      );
    }
    const slot = this.#slots.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
    const version = this.#index.version;
    if (slot.version !== version) {
      slot.worker.postMessage({
        type: 'layout',
        layout: this.#index.layout(),
      } satisfies SearchTask);
      slot.version = version;
    }
    const variants = Uint8Array.from(queries, (q) => q.length);
    const words = new Uint32Array(variants.reduce((n, v) => n + v, 0) * 8);
    let at = 0;
    for (const q of queries) for (const v of q) words.set(v, 8 * at++);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.inFlight.set(id, { resolve, reject });
      const task: SearchTask = { type: 'search', id, words, variants, radius };
      slot.worker.postMessage(task, [words.buffer, variants.buffer]);
    });
  }

  #spawn(): Promise<void> {
    const worker = new Worker(this.#url);
    const slot: Slot = { worker, version: -1, ready: false, inFlight: new Map() };
    this.#slots.push(slot);
    return new Promise((ready, broken) => {
      worker.on('message', (reply: SearchReply) => {
        if (reply.type === 'ready') {
          slot.ready = true;
          return ready();
        }
        const pending = slot.inFlight.get(reply.id);
        if (pending === undefined) return;
        slot.inFlight.delete(reply.id);
        if (reply.type === 'error') {
          pending.reject(new TakedownError(reply.code, reply.message, { kind: 'internal' }));
          return;
        }
        const results: PdqMatch[][] = [];
        for (let q = 0, from = 0; q < reply.ends.length; from = reply.ends[q++]) {
          const matches: PdqMatch[] = [];
          for (let i = from; i < reply.ends[q]; i++)
            matches.push({ id: reply.ids[i], distance: reply.distances[i] });
          results.push(matches);
        }
        pending.resolve(results);
      });
      worker.on('error', (error) => {
        broken(error);
        this.#replace(slot, error);
      });
      worker.on('exit', (code) => {
        if (!this.#closed)
          this.#replace(slot, new Error(`The matcher thread exited with code ${code}.`));
      });
    });
  }

  /** A dead thread fails only its own searches; a fresh one takes its place. */
  #replace(slot: Slot, cause: Error): void {
    const at = this.#slots.indexOf(slot);
    if (at < 0) return;
    this.#slots.splice(at, 1);
    this.#fail(
      slot,
      new TakedownError('matcher-failed', 'A matcher thread stopped; try again.', {
        kind: 'unavailable',
        cause,
      }),
    );
    // A thread that never loaded (a missing or broken script) would fail
    // again: only replace threads that worked.
    if (!this.#closed && slot.ready) this.#spawn().catch(() => undefined);
  }

  #fail(slot: Slot, error: Error): void {
    for (const pending of slot.inFlight.values()) pending.reject(error);
    slot.inFlight.clear();
  }
}
