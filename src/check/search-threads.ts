import { availableParallelism } from 'node:os';
import type { Logger } from '../log.js';
import type { PdqIndex, PdqMatch } from '../match/index.js';
import { PdqSearchPool } from '../match/node/index.js';
import type { PdqBatchSearch } from './bank-matcher.js';

export interface SearchThreadsOptions {
  readonly logger: Logger;
  /** Worker threads per PDQ index; 0 searches in the calling thread only. Default: one per core. */
  readonly threads?: number;
  /** Batches with fewer PDQ queries are searched in the calling thread. */
  readonly minBatch?: number;
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
 * A single hash is not worth the trip: posting it to a thread and back
 * costs about what searching it here does.
 */
export class SearchThreads {
  readonly threads: number;
  readonly minBatch: number;
  readonly #logger: Logger;
  readonly #workerUrl: URL | undefined;
  readonly #pools = new Map<PdqIndex, PdqSearchPool | 'starting' | 'failed'>();
  #closed = false;

  constructor(options: SearchThreadsOptions) {
    this.#logger = options.logger;
    this.threads = Math.max(0, options.threads ?? availableParallelism());
    this.minBatch = options.minBatch ?? 64;
    this.#workerUrl = options.workerUrl;
  }

  /** Pools up and running. */
  get running(): number {
    let n = 0;
    for (const pool of this.#pools.values()) if (pool instanceof PdqSearchPool) n++;
    return n;
  }

  /** Whether a batch of `pdqQueries` PDQ hashes should go through `search`. */
  wants(pdqQueries: number): boolean {
    return this.threads > 0 && !this.#closed && pdqQueries >= this.minBatch;
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
    if (pool === undefined || queries.length < this.minBatch) return inline(index, queries, radius);
    return pool.searchMany(queries, { radius }).catch((error: unknown) => {
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

function inline(
  index: PdqIndex,
  queries: readonly (readonly Uint32Array[])[],
  radius: number,
): PdqMatch[][] {
  return queries.map((words) => index.search(words, { radius }));
}
