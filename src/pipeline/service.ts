import { availableParallelism } from 'node:os';
import type { Kysely } from 'kysely';
import { RuleCache } from '../classify/rule-cache.js';
import { ownBankFeedJob } from '../assess/own-bank.job.js';
import type { Config } from '../config.js';
import { createFetcher, fetcherOptionsFromConfig } from '../fetch/index.js';
import type { Fetcher } from '../fetch/index.js';
import { hashBytes } from '../hash/file/hash-file.js';
import { startJobRunner } from '../jobs/index.js';
import type { AnyJobDefinition, JobPayloads, JobQueue, JobRunner } from '../jobs/index.js';
import type { Logger } from '../log.js';
import { openMediaStore, requireMediaKey } from '../store/blob-store.js';
import type { BlobStore } from '../store/blob-store.js';
import type { Database } from '../store/database.js';
import { bankSourceFor } from './bank-source.js';
import { ThreadedBlobStore } from './blob-thread.js';
import type { BankSource } from './bank-source.js';
import type { MediaHasher, PipelineDeps } from './deps.js';
import { fetchCaseJob } from './fetch-case.job.js';
import { MediaHashPool } from './hash-pool.js';
import { processMediaJob } from './process-media.job.js';
import { mediaRetentionJob, scheduleRetention } from './retention.job.js';

/**
 * The report pipeline's workers in one process: the job runner for
 * fetch-case, process-media, media-retention and own-bank-feed (the
 * analyst queue's feed of illegal decisions to the own bank, which has to
 * run wherever the pipeline runs), with what they need (the
 * fetcher, the encrypted media store, the banks in memory). `takedown
 * serve` starts one beside the API (unless TAKEDOWN_PIPELINE=off), and
 * `takedown worker` runs one alone; any number of them share the work
 * through the job table.
 */

export interface PipelineOptions {
  readonly db: Kysely<Database>;
  readonly config: Config;
  readonly logger: Logger;
  readonly queue: JobQueue;
  /** Defaults from the configuration; tests pass their own. */
  readonly fetcher?: Fetcher;
  readonly blobs?: BlobStore;
  readonly banks?: BankSource;
  readonly hash?: MediaHasher;
  readonly concurrency?: number;
  readonly pollMs?: number;
  readonly leaseMs?: number;
  readonly workerId?: string;
}

export interface Pipeline {
  /** Resolves when the banks are loaded and jobs are being taken. */
  readonly ready: Promise<void>;
  /** The runner, once started (tests wait on `whenIdle`). */
  readonly runner: JobRunner | undefined;
  /** Stops taking jobs, lets running ones finish within `graceMs`, gives the rest back. */
  stop(graceMs?: number): Promise<void>;
}

export function pipelineDeps(
  options: Pick<PipelineOptions, 'db' | 'config' | 'fetcher' | 'blobs' | 'hash'> & {
    readonly banks: PipelineDeps['banks'];
  },
): PipelineDeps {
  const { config } = options;
  return {
    fetcher: options.fetcher ?? createFetcher(fetcherOptionsFromConfig(config)),
    rules: new RuleCache(options.db),
    // Throws, naming TAKEDOWN_MEDIA_KEY, when it is not set: refuse to start.
    blobs: options.blobs ?? openMediaStore(config, 'the report pipeline'),
    banks: options.banks,
    hash: options.hash ?? ((bytes) => hashBytes(bytes, hashOptions(config))),
    settings: config,
  };
}

function hashOptions(config: Config) {
  return {
    variants: config.pdqVariants,
    maxPixels: config.maxPixels,
    maxImageBytes: config.maxImageBytes,
  };
}

/**
 * Threads for hashing: TAKEDOWN_HASH_THREADS, or one per core. The event
 * loop's share of a report is small and mostly waiting (database, fetches),
 * so a thread per core keeps every core busy; with one core fewer, a
 * 2-core machine hashed on one.
 */
function hashThreads(config: Config): number {
  return config.hashThreads ?? Math.max(1, availableParallelism());
}

/** Every job of the pipeline, bound to `deps`, and the analyst side's own-bank feed. */
export function pipelineJobs(deps: PipelineDeps): Array<AnyJobDefinition<JobPayloads>> {
  return [fetchCaseJob(deps), processMediaJob(deps), mediaRetentionJob(deps), ownBankFeedJob];
}

export function startPipeline(options: PipelineOptions): Pipeline {
  const { db, config, logger, queue } = options;
  const banks = options.banks ?? bankSourceFor(db, config, logger);
  const threads = options.hash === undefined ? hashThreads(config) : 0;
  let pool: MediaHashPool | undefined;
  let blobs: ThreadedBlobStore | undefined;
  let deps: PipelineDeps;
  try {
    pool = threads > 0 ? new MediaHashPool(threads, hashOptions(config)) : undefined;
    // The configured store writes on a thread of its own, as media is hashed
    // on threads (tests give their own store, or hash on the event loop).
    if (options.blobs === undefined && threads > 0)
      blobs = new ThreadedBlobStore(
        // Throws, naming TAKEDOWN_MEDIA_KEY, when it is not set: refuse to start.
        openMediaStore(config, 'the report pipeline'),
        config.mediaDir,
        requireMediaKey(config, 'the report pipeline'),
      );
    deps = pipelineDeps({
      ...options,
      banks,
      hash: options.hash ?? pool?.hasher(),
      blobs: options.blobs ?? blobs,
    });
  } catch (error) {
    void pool?.close();
    void banks.stop();
    throw error;
  }
  let runner: JobRunner | undefined;
  let stopped = false;
  const ready = (async () => {
    await banks.ready;
    if (stopped) return;
    await scheduleRetention(db, queue).catch((error: unknown) =>
      logger.warn(
        { err: error },
        'could not schedule the media retention job; the next worker will',
      ),
    );
    runner = startJobRunner({
      db,
      queue,
      jobs: pipelineJobs(deps),
      logger,
      concurrency: options.concurrency ?? config.jobsConcurrency,
      pollMs: options.pollMs ?? config.jobsPollMs,
      leaseMs: options.leaseMs ?? config.jobsLeaseMs,
      ...(options.workerId === undefined ? {} : { workerId: options.workerId }),
    });
    logger.info('the report pipeline is taking jobs');
  })();
  return {
    ready,
    get runner() {
      return runner;
    },
    async stop(graceMs = config.shutdownGraceMs) {
      stopped = true;
      await banks.stop();
      await ready.catch(() => undefined);
      await runner?.stop(graceMs);
      await pool?.close();
      await blobs?.close();
    },
  };
}
