import type { Kysely, Transaction } from 'kysely';
import type { z } from 'zod';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';

/**
 * Every job's name and payload type. Empty here: each stage adds its own
 * jobs beside its code, by declaration merging, so that the API can enqueue
 * a stage's job without importing the stage's handler:
 *
 *   // src/fetch/fetch.job.ts
 *   declare module '../jobs/types.js' {
 *     interface JobPayloads {
 *       'fetch-item': { itemId: number };
 *     }
 *   }
 *
 * Payloads are stored as JSON: plain objects, arrays, strings, numbers,
 * booleans and null (no Date, bigint or Buffer).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface JobPayloads {}

/** A map from job name to payload type: JobPayloads, or a test's own map. */
export type PayloadMap = object;
export type JobName<P extends PayloadMap = JobPayloads> = keyof P & string;

/** Where a job is written: the database, or a transaction so it commits with a state change. */
export type JobDb = Kysely<Database> | Transaction<Database>;

export interface EnqueueOptions {
  /**
   * At most one pending or running job per key. Enqueueing a key that is
   * already pending or running adds nothing and returns that job's id (its
   * payload and run time stay as they were). Use it to make enqueueing
   * idempotent, e.g. `fetch-item:${itemId}`.
   */
  readonly key?: string;
  /** Not before this time (the database server's clock decides). */
  readonly runAt?: Date;
  /** Not before this many milliseconds from now (the database server's clock). */
  readonly delayMs?: number;
  /** Higher runs first among due jobs (default 0; -32768..32767). */
  readonly priority?: number;
  /** Runs before the job is dead-lettered (default: the definition's, else 10). */
  readonly maxAttempts?: number;
}

export interface EnqueueResult {
  readonly id: number;
  /** False when a live job with the same key already existed (its id is returned). */
  readonly created: boolean;
}

/** What a handler is told about the run in progress. */
export interface JobInfo {
  readonly id: number;
  readonly name: string;
  readonly key: string | null;
  /** 1 on the first run; a job whose worker died mid-run counts that run too. */
  readonly attempt: number;
  readonly maxAttempts: number;
}

/** Jobs added by `enqueueHere`, leased to this worker until `start` runs them. */
export interface JobsHere {
  /** The jobs added (a key already live adds none). */
  readonly ids: readonly number[];
  /** Runs them in this worker; call it once the transaction has committed. */
  start(): void;
}

export interface JobHelpers<P extends PayloadMap = JobPayloads> {
  readonly job: JobInfo;
  /**
   * True when this run was started by the worker that inserted the job
   * (`enqueueHere`), right after the insert committed: no run of it can
   * have come before, so what the enqueuing job knew still holds.
   */
  readonly adopted: boolean;
  /** Carries the job's id, name and attempt. */
  readonly logger: Logger;
  readonly db: Kysely<Database>;
  /**
   * Adds a follow-up job. Pass `{ trx }` to write it in that transaction, so
   * that a state change and the job that continues from it commit together.
   */
  enqueue<N extends JobName<P>>(
    name: N,
    payload: P[N],
    options?: EnqueueOptions & { readonly trx?: Transaction<Database> },
  ): Promise<EnqueueResult>;
  /**
   * Adds follow-up jobs of one name in `trx`, in one statement, already
   * leased to this worker: `start()` after the commit runs them here at
   * once, without a claim or a wait for one. Durable as any claimed job: if
   * the worker dies or `start` is never called, their leases run out and any
   * worker runs them. A job this worker's runner does not take is enqueued
   * as usual. With a key, a job whose key is live already is not added.
   */
  enqueueHere<N extends JobName<P>>(
    trx: Transaction<Database>,
    name: N,
    jobs: ReadonlyArray<{ readonly payload: P[N]; readonly key?: string }>,
  ): Promise<JobsHere>;
  /**
   * Aborted when the run should stop: the worker is shutting down, the job
   * ran past its timeout, or its lease was lost to another worker. Pass it
   * to fetches and long loops; the runner cannot stop a handler by force.
   */
  readonly signal: AbortSignal;
}

export type JobHandler<Payload, P extends PayloadMap = JobPayloads> = (
  payload: Payload,
  helpers: JobHelpers<P>,
) => Promise<void>;

export interface RetryPolicy {
  /** Runs before the job is dead-lettered (default 10). */
  readonly maxAttempts?: number;
  /** Delay before the 2nd run; doubles each time, with jitter (default 1000). */
  readonly baseDelayMs?: number;
  /** Longest delay between runs (default one hour). */
  readonly maxDelayMs?: number;
}

/** One kind of job: its name, how to run it and how to retry it. */
export interface JobDefinition<
  P extends PayloadMap = JobPayloads,
  N extends JobName<P> = JobName<P>,
> {
  readonly name: N;
  /**
   * Validates the stored payload before each run. A payload that fails is
   * dead-lettered at once: running it again would not make it valid.
   */
  readonly schema?: z.ZodType<P[N]>;
  /** May throw: the runner records the error and retries with backoff. */
  readonly handler: JobHandler<P[N], P>;
  readonly retry?: RetryPolicy;
  /** A run longer than this is aborted and counted as failed (default 5 minutes). */
  readonly timeoutMs?: number;
  /** Most runs of this job at once in one worker process (default: the runner's concurrency). */
  readonly concurrency?: number;
}

/** Infers a definition's payload type from its name. */
export function defineJob<P extends PayloadMap = JobPayloads, N extends JobName<P> = JobName<P>>(
  definition: JobDefinition<P, N>,
): JobDefinition<P, N> {
  return definition;
}

/**
 * Thrown by a handler when retrying cannot help (the item it works on is
 * gone, the input is malformed): the job is dead-lettered at once.
 */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}
