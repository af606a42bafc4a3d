import { availableParallelism } from 'node:os';
import type { Logger } from '../log.js';
import type { PdqIndex, PdqMatch } from '../match/index.js';
import { PdqSearchPool } from '../match/node/index.js';
import type { PdqBatchSearch } from './bank-matcher.js';

export interface SearchThreadsOptions {
  readonly logger: Logger;
  /** Worker threads per PDQ index; 0 searches in the calling thread only. Default: one per core. */
  readonly threads?: number;
  /**
   * Batches with fewer PDQ queries are searched in the calling thread,
   * unless the bank holds `minEntries` PDQ hashes or more.
   */
  readonly minBatch?: number;
  /**
   * From this many PDQ hashes in the bank, every PDQ search goes to the
   * threads: small batches, a single hash included, are gathered for one
   * turn of the event loop and sent together. Default 100,000.
   */
  readonly minEntries?: number;
  /** The compiled worker script (tests). */
  readonly workerUrl?: URL;
}

/**
 * Large PDQ batches searched on worker threads (`PdqSearchPool`), one pool
 * per PDQ index of the matcher, started the first time a large batch meets
 * that index and closed when the index is replaced (a bulk import builds a
 * new one). The calling thread stays free for HTTP meanwhile, and a batch is
 * split over every core. Until a pool is up, or if its threads fail, the
 * search runs in the calling thread: same answers, only slower.
 *
 * On a small bank a single hash is not worth the trip: posting it to a
 * thread and back costs about what searching it here does. On a large one
 * (a 1M-hash query costs ~80 us) the trip pays, and more so when the
 * requests that arrive in one turn of the event loop travel together: the
 * event loop is left with HTTP, the threads search on every core.
 */
export class SearchThreads {
  readonly threads: number;
  readonly minBatch: number;
  readonly minEntries: number;
  readonly #logger: Logger;
  readonly #workerUrl: URL | undefined;
  readonly #pools = new Map<PdqIndex, PdqSearchPool | 'starting' | 'failed'>();
  /** Batches sent to the threads, and the queries in them (gathered ones count once per batch). */
  readonly sent = { batches: 0, queries: 0 };
  /** Small batches waiting for the next turn of the event loop, per pool and radius. */
  #waiting = new Map<PdqSearchPool, Map<number, Gathered>>();
  /** Large batches sent and not answered yet. */
  #largeInFlight = 0;
  #closed = false;

  constructor(options: SearchThreadsOptions) {
    this.#logger = options.logger;
    this.threads = Math.max(0, options.threads ?? availableParallelism());
    this.minBatch = options.minBatch ?? 64;
    this.minEntries = options.minEntries ?? 100_000;
    this.#workerUrl = options.workerUrl;
  }

  /** Pools up and running. */
  get running(): number {
    let n = 0;
    for (const pool of this.#pools.values()) if (pool instanceof PdqSearchPool) n++;
    return n;
  }

  /**
   * Whether a batch of `pdqQueries` PDQ hashes, against a bank of
   * `pdqEntries`, should go through `search`.
   */
  wants(pdqQueries: number, pdqEntries = 0): boolean {
    if (this.threads === 0 || this.#closed || pdqQueries === 0) return false;
    return pdqQueries >= this.minBatch || pdqEntries >= this.minEntries;
  }

  /**
   * Forgets pools of indexes the matcher no longer holds; call with the
   * current indexes (cheap: one or two of them).
   */
  prune(current: Iterable<PdqIndex>): void {
    if (this.#pools.size === 0) return;
    const keep = new Set(current);
    for (const [index, pool] of this.#pools) {
      if (keep.has(index)) continue;
      this.#pools.delete(index);
      if (pool instanceof PdqSearchPool) void pool.close();
    }
  }

  readonly search: PdqBatchSearch = (index, queries, radius) => {
    const pool = this.#poolFor(index);
    if (pool === undefined) return inline(index, queries, radius);
    let answer: Promise<PdqMatch[][]>;
    if (queries.length >= this.minBatch) {
      this.#largeInFlight++;
      answer = this.#send(pool, queries, radius).finally(() => this.#largeInFlight--);
    } else if (this.#largeInFlight > 0) {
      // Behind a large batch a single hash would wait for all of it (a
      // second or more on a 10M bank): searched here it waits for nothing.
      return inline(index, queries, radius);
    } else {
      answer = this.#gather(pool, queries, radius);
    }
    return answer.catch((error: unknown) => {
      // A thread died (it is being replaced): answer from this thread.
      this.#logger.warn({ err: error }, 'a matcher thread failed; searching in the main thread');
      return inline(index, queries, radius);
    });
  };

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => (p instanceof PdqSearchPool ? p.close() : undefined)));
  }

  /** Joins the batch leaving for `pool` at the end of this turn of the event loop. */
  #gather(
    pool: PdqSearchPool,
    queries: readonly (readonly Uint32Array[])[],
    radius: number,
  ): Promise<PdqMatch[][]> {
    if (this.#waiting.size === 0) setImmediate(() => this.#flush());
    let byRadius = this.#waiting.get(pool);
    if (byRadius === undefined) this.#waiting.set(pool, (byRadius = new Map()));
    let gathered = byRadius.get(radius);
    if (gathered === undefined) byRadius.set(radius, (gathered = { queries: [], waiters: [] }));
    const { queries: all, waiters } = gathered;
    return new Promise((resolve, reject) => {
      waiters.push({ from: all.length, to: all.length + queries.length, resolve, reject });
      for (const query of queries) all.push(query);
    });
  }

  #flush(): void {
    const waiting = this.#waiting;
    this.#waiting = new Map();
    for (const [pool, byRadius] of waiting) {
      for (const [radius, { queries, waiters }] of byRadius) {
        // One share per thread: a pool sends a batch this small to a single
        // thread, and the requests would wait for each other's searches.
        const size = Math.ceil(queries.length / Math.min(pool.threads, queries.length));
        const shares: Promise<PdqMatch[][]>[] = [];
        for (let at = 0; at < queries.length; at += size)
          shares.push(this.#send(pool, queries.slice(at, at + size), radius));
        Promise.all(shares).then(
          (parts) => {
            const results = parts.flat();
            for (const w of waiters) w.resolve(results.slice(w.from, w.to));
          },
          (error: unknown) => {
            for (const w of waiters) w.reject(error);
          },
        );
      }
    }
  }

  #send(
    pool: PdqSearchPool,
    queries: readonly (readonly Uint32Array[])[],
    radius: number,
  ): Promise<PdqMatch[][]> {
    this.sent.batches++;
    this.sent.queries += queries.length;
    return pool.searchMany(queries, { radius });
  }

  #poolFor(index: PdqIndex): PdqSearchPool | undefined {
    const pool = this.#pools.get(index);
    if (pool instanceof PdqSearchPool) return pool;
    if (pool !== undefined || this.#closed || this.threads === 0 || !index.shared) return undefined;
    this.#pools.set(index, 'starting');
    PdqSearchPool.start(index, { threads: this.threads, workerUrl: this.#workerUrl }).then(
      (started) => {
        if (this.#closed || this.#pools.get(index) !== 'starting') {
          void started.close();
          return;
        }
        this.#pools.set(index, started);
        this.#logger.debug({ threads: started.threads }, 'matcher threads started');
      },
      (error: unknown) => {
        if (this.#pools.get(index) === 'starting') this.#pools.set(index, 'failed');
        this.#logger.warn(
          { err: error },
          'could not start matcher threads; large batches are searched in the main thread',
        );
      },
    );
    return undefined;
  }
}

interface Gathered {
  readonly queries: (readonly Uint32Array[])[];
  readonly waiters: {
    readonly from: number;
    readonly to: number;
    readonly resolve: (results: PdqMatch[][]) => void;
    readonly reject: (error: unknown) => void;
  }[];
}

function inline(
  index: PdqIndex,
  queries: readonly (readonly Uint32Array[])[],
  radius: number,
): PdqMatch[][] {
  return queries.map((words) => index.search(words, { radius }));
}
