import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Readiness } from '../api/readiness.js';
import { ChangeFeed } from '../changes/feed.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { KeyCache } from '../providers/key-cache.js';
import { keyCacheFor } from '../providers/key-cache.js';
import type { Database } from '../store/database.js';
import type { RemovedEntry } from '../banks/queries.js';
import { removeEntry } from '../banks/queries.js';
import type { SignalType } from '../hash/signal.js';
import { MatchRecorder } from './match-recorder.js';
import { MatcherService } from './matcher.js';
import { TokenBuckets } from './rate-limit.js';
import { SearchThreads } from './search-threads.js';

export interface HashCheckInput {
  readonly db: Kysely<Database>;
  readonly config: Config;
  readonly logger: Logger;
  readonly readiness: Readiness;
  /** Override: keep no snapshot (tests), or put it elsewhere. Default per TAKEDOWN_MATCHER_SNAPSHOT. */
  readonly snapshotDir?: string | null;
  /** Worker threads for large PDQ batches (per PDQ index); 0: none. Default: one per core. */
  readonly matcherThreads?: number;
}

/**
 * The hash-check service of one server process: the matcher (loaded in the
 * background; /readyz waits for it), the change feed that keeps it and the
 * key cache current, the match recorder and the rate limits. `takedown
 * serve` starts it before creating the app and stops it after the last
 * request; the routes find it by the database handle (`hashCheckFor`).
 */
export class HashCheck {
  readonly matcher: MatcherService;
  readonly keys: KeyCache;
  readonly recorder: MatchRecorder;
  readonly hashLimits = new TokenBuckets();
  readonly imageLimits = new TokenBuckets();
  /** Worker threads for large PDQ batches. */
  readonly threads: SearchThreads;
  readonly feed: ChangeFeed;
  readonly config: Config;
  /** Resolves once the matcher is loaded and following changes. */
  readonly ready: Promise<void>;
  readonly #logger: Logger;
  readonly #db: Kysely<Database>;
  #stopped = false;
  #wake: () => void = () => undefined;

  constructor(input: HashCheckInput) {
    const { db, config, logger } = input;
    this.config = config;
    this.#logger = logger;
    this.#db = db;
    const snapshotDir =
      input.snapshotDir === null
        ? undefined
        : (input.snapshotDir ??
          (config.matcherSnapshot ? path.join(config.dataDir, 'matcher') : undefined));
    this.matcher = new MatcherService({ db, logger, snapshotDir });
    this.keys = keyCacheFor(db);
    this.recorder = new MatchRecorder({ db, logger });
    this.threads = new SearchThreads({ logger, threads: input.matcherThreads });
    this.feed = new ChangeFeed({ db, logger, intervalMs: config.changesPollMs }, 0);
    this.feed.subscribe((changes) => this.matcher.apply(changes));
    input.readiness.add('matcher', () => this.matcher.readiness());
    registry.set(db, this);
    this.ready = this.#start();
  }

  async #start(): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        const report = await this.matcher.load();
        this.#logger.info(report, 'banks loaded into the matcher');
        break;
      } catch (error) {
        this.#logger.error({ err: error }, 'could not load the banks; trying again in 5 s');
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, 5_000).unref();
        });
      }
    }
    if (this.#stopped) return;
    // Revocations before this point are in the database; from here they come as changes.
    this.feed.subscribe(this.keys.followChanges());
    this.feed.start(this.matcher.seq);
  }

  /**
   * Removes a bank entry (a false positive) and stops it matching in this
   * process at once; other processes follow within a poll interval.
   */
  async removeEntry(
    bank: string,
    entry: { readonly type?: SignalType; readonly value: string },
    reason?: string,
  ): Promise<RemovedEntry> {
    const removed = await removeEntry(this.#db, bank, entry, reason);
    this.matcher.removeEntryNow(removed.id);
    return removed;
  }

  /** Stops following changes, writes pending match records and the snapshot. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake();
    await this.ready;
    await this.feed.stop();
    await this.threads.close();
    await this.recorder.flush();
    await this.matcher.writeSnapshot();
    if (registry.get(this.#db) === this) registry.delete(this.#db);
  }
}

const registry = new WeakMap<Kysely<Database>, HashCheck>();

/** Starts the service for this process's database handle (loading runs in the background). */
export function startHashCheck(input: HashCheckInput): HashCheck {
  return new HashCheck(input);
}

/** The running service of a database handle, if `startHashCheck` was called for it. */
export function hashCheckFor(db: Kysely<Database>): HashCheck | undefined {
  return registry.get(db);
}
