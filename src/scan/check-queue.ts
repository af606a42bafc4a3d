import type { QueryOptions } from './queries.js';
import { itemMatches, queriesFor, queryKey } from './queries.js';
import type { HashChecker, HashQuery, ItemMatch, ScannedItem } from './types.js';

export interface CheckQueueOptions extends QueryOptions {
  readonly checker: HashChecker;
  /** Largest PDQ distance that counts as a match; undefined: whatever the checker says matches. */
  readonly threshold: number | undefined;
  /** Called once per item, after its hashes were checked (at once for items without hashes). */
  readonly onChecked: (item: ScannedItem, matches: ItemMatch[]) => void;
  /** A batch waits at most this long for more hashes (slow scans still report as they go). */
  readonly maxWaitMs?: number;
  readonly now?: () => number;
}

interface Pending {
  readonly item: ScannedItem;
  readonly queries: HashQuery[];
}

/**
 * Collects items' hashes into requests of up to `checker.maxBatch` distinct
 * hashes and checks them while hashing goes on: one request in flight, the
 * next batch filling meanwhile; a full batch waits for the one in flight
 * (so memory stays bounded however slow the checker is). The very first
 * item is checked at once, so that a refused key or an unreachable server
 * stops the scan before hours of hashing, not after. A failed request
 * (after the checker's own retries) fails every later `add` and `finish`.
 */
export class CheckQueue {
  readonly #options: CheckQueueOptions;
  readonly #now: () => number;
  #batch: Pending[] = [];
  #unique: HashQuery[] = [];
  #keys = new Map<string, number>();
  #batchStarted = 0;
  #inFlight: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;
  #sentFirst = false;
  #chain: Promise<void> = Promise.resolve();
  /** Distinct hashes sent and requests made, for the summary. */
  hashesSent = 0;
  requests = 0;

  constructor(options: CheckQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Queues an item's hashes; waits when a full batch must wait for the request in flight. */
  add(item: ScannedItem): Promise<void> {
    // Calls run one after another, whoever makes them (a folder scan adds
    // resumed items and hashed ones from two loops).
    const next = this.#chain.then(() => this.#add(item));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #add(item: ScannedItem): Promise<void> {
    this.#throwIfFailed();
    const queries = queriesFor(item.record, this.#options);
    if (queries.length === 0) {
      this.#options.onChecked(item, []);
      return;
    }
    const fresh = queries.filter((q) => !this.#keys.has(queryKey(q))).length;
    if (this.#unique.length > 0 && this.#unique.length + fresh > this.#options.checker.maxBatch) {
      await this.#send();
    }
    if (this.#batch.length === 0) this.#batchStarted = this.#now();
    this.#batch.push({ item, queries });
    for (const query of queries) {
      const key = queryKey(query);
      if (!this.#keys.has(key)) {
        this.#keys.set(key, this.#unique.length);
        this.#unique.push(query);
      }
    }
    const waited = this.#now() - this.#batchStarted;
    if (
      !this.#sentFirst ||
      this.#unique.length >= this.#options.checker.maxBatch ||
      waited >= (this.#options.maxWaitMs ?? 30_000)
    ) {
      await this.#send();
    }
  }

  /** Sends what is left and waits for every answer. */
  async finish(): Promise<void> {
    await this.#chain;
    if (this.#batch.length > 0) await this.#send();
    await this.#inFlight;
    this.#throwIfFailed();
  }

  async #send(): Promise<void> {
    // One request at a time: wait for the previous one (its failure surfaces here).
    await this.#inFlight;
    this.#throwIfFailed();
    const batch = this.#batch;
    const unique = this.#unique;
    const keys = this.#keys;
    this.#batch = [];
    this.#unique = [];
    this.#keys = new Map();
    this.#sentFirst = true;
    this.requests++;
    this.hashesSent += unique.length;
    const request = this.#options.checker.check(unique).then(
      (answers) => {
        for (const { item, queries } of batch) {
          const hits = queries.map((q) => answers[keys.get(queryKey(q)) as number] ?? []);
          this.#options.onChecked(item, itemMatches(queries, hits, this.#options.threshold));
        }
      },
      (error: unknown) => {
        this.#failure = { error };
      },
    );
    this.#inFlight = request;
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
