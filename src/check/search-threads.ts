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
 * (a 1M-hash query costs ~40 us) the trip pays, and more so when the
 * requests that arrive in one turn of the event loop travel together: the
 * event loop is left with HTTP, the threads search on every core (single
 * hashes on a 1M bank searched in the event loop instead: 4,000-5,000
 * requests/s against 7,200-8,700, same minutes).
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
        // Shares of whole requests, at most SHARE_MAX queries each, spread
        // over the threads, and each request answered as soon as its own
        // share is back: with one share per thread the requests of a turn
        // all waited for the slowest one, and the event loop sat idle
        // meanwhile (a fifth of its time at 64 connections).
        const size = Math.min(SHARE_MAX, Math.ceil(queries.length / pool.threads));
        for (let first = 0; first < waiters.length;) {
          let last = first;
          while (last + 1 < waiters.length && waiters[last + 1].to - waiters[first].from <= size)
            last++;
          const mine = waiters.slice(first, last + 1);
          const from = mine[0].from;
          this.#send(pool, queries.slice(from, mine[mine.length - 1].to), radius).then(
            (results) => {
              for (const w of mine) w.resolve(results.slice(w.from - from, w.to - from));
            },
            (error: unknown) => {
              for (const w of mine) w.reject(error);
            },
          );
          first = last + 1;
        }
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

/** Most queries in one message of gathered small batches. */
const SHARE_MAX = 8;

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
