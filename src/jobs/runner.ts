import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import { inBackground } from '../store/priority.js';
import { Batcher } from './batcher.js';
import { withDbRetry } from './db-retry.js';
import { Wakeup } from './wakeup.js';
import {
  claimJobs,
  completeJobs,
  expireLeases,
  failJob,
  insertLeasedJobs,
  releaseJobs,
  renewLeases,
} from './queries.js';
import type { ClaimedJob, RunRef } from './queries.js';
import type { JobQueue } from './queue.js';
import {
  DEFAULT_RETRY,
  describeError,
  isTransientDatabaseError,
  retryDelayMs,
} from './retry-policy.js';
import { runHandler } from './run-job.js';
import type { AnyJobDefinition, RunResult } from './run-job.js';
import type { JobPayloads, JobsHere, PayloadMap } from './types.js';

export interface RunnerOptions<P extends PayloadMap = JobPayloads> {
  readonly db: Kysely<Database>;
  readonly queue: JobQueue<P>;
  /** The jobs this runner takes; jobs of other names are left to other runners. */
  readonly jobs: ReadonlyArray<AnyJobDefinition<P>>;
  readonly logger: Logger;
  /** Runs at once (config TAKEDOWN_JOBS_CONCURRENCY). Start two runners for two pools, e.g. CPU- and network-bound jobs. */
  readonly concurrency: number;
  /** Longest idle pause between polls (config TAKEDOWN_JOBS_POLL_MS). */
  readonly pollMs: number;
  /** Lease length (config TAKEDOWN_JOBS_LEASE_MS); renewed every third of it. */
  readonly leaseMs: number;
  /** Names this worker in `locked_by` (default host:pid:random). */
  readonly workerId?: string;
  /** For backoff jitter (tests make it deterministic). */
  readonly random?: () => number;
}

export interface RunnerStats {
  readonly completed: number;
  readonly failed: number;
  readonly dead: number;
  /** Runs whose lease passed to another worker before they finished (their result was dropped). */
  readonly lost: number;
}

export interface JobRunner {
  readonly workerId: string;
  /** Runs in progress. */
  readonly running: number;
  readonly stats: RunnerStats;
  /** Resolves when a poll found nothing due and nothing is running (tests, benchmarks). */
  whenIdle(): Promise<void>;
  /**
   * Stops taking jobs and waits up to `graceMs` for the runs in progress;
   * then aborts the rest (helpers.signal) and gives them back to the queue
   * at once, without counting the interrupted run as an attempt.
   */
  stop(graceMs?: number): Promise<{ finished: number; released: number }>;
}

/** The shortest pause between polls: right after work was found, or after a poke. */
const MIN_PAUSE_MS = 10;
/** How long a finished job waits for others to be completed with it. */
const COMPLETION_LINGER_MS = 20;

interface ActiveRun extends RunRef {
  readonly name: string;
  readonly controller: AbortController;
  /** Why the result is not ours to record any more: the lease went (or may have gone) elsewhere, or was given back. */
  lost: 'lease' | 'released' | undefined;
}

/** Starts polling at once; see DEVELOPERS.md "Jobs". */
export function startJobRunner<P extends PayloadMap = JobPayloads>(
  options: RunnerOptions<P>,
): JobRunner {
  const { db, queue, logger: baseLogger, concurrency, leaseMs } = options;
  const workerId =
    options.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const logger = baseLogger.child({ worker: workerId });
  const random = options.random ?? Math.random;
  const definitions = new Map(options.jobs.map((d) => [d.name as string, d]));
  const maxAttempts = new Map(
    options.jobs.map((d) => [d.name as string, d.retry?.maxAttempts ?? DEFAULT_RETRY.maxAttempts]),
  );
  const active = new Map<number, ActiveRun>();
  const stats = { completed: 0, failed: 0, dead: 0, lost: 0 };
  const shutdown = new AbortController();
  const idleWaiters: Array<() => void> = [];
  let lastRenewal = performance.now();

  // A finished job's slot is free at once; its row is deleted a little
  // later, with those of the others finished meanwhile (one statement for
  // many jobs instead of one each). Its lease covers the wait.
  const completions = new Batcher<RunRef, boolean>(
    async (runs) => {
      const done = new Set(
        await withDbRetry(() => completeJobs(db, workerId, runs), {
          logger,
          what: 'completing jobs',
        }),
      );
      return runs.map((run) => done.has(run.id));
    },
    500,
    COMPLETION_LINGER_MS,
  );
  /** Results being written after their runs left `active`. */
  const recording = new Set<Promise<void>>();

  const wakeup = new Wakeup();

  const stopListening = queue.onEnqueue((name) => {
    if (definitions.has(name)) wakeup.wake();
  });

  async function record(run: ActiveRun, result: RunResult, job: ClaimedJob): Promise<void> {
    if (run.lost === 'released') return;
    if (run.lost === 'lease') {
      stats.lost += 1;
      logger.warn(
        { job: { id: job.id, name: job.name, attempt: run.attempt } },
        'the job lost its lease before it finished; its result is dropped and another run takes over',
      );
      return;
    }
    if (result.kind === 'done') {
      const held = await completions.add(run);
      if (held) stats.completed += 1;
      else {
        stats.lost += 1;
        logger.warn({ job: { id: job.id, name: job.name } }, 'job finished after losing its lease');
      }
      return;
    }
    const definition = definitions.get(job.name);
    const delay = retryDelayMs(run.attempt, definition?.retry, random);
    const error = describeError(result.error);
    const state = await withDbRetry(
      () => failJob(db, workerId, run, error, delay, result.permanent),
      { logger, what: 'recording a failed job' },
    );
    const facts = { job: { id: job.id, name: job.name, attempt: run.attempt }, err: result.error };
    if (state === 'dead') {
      stats.dead += 1;
      logger.error(facts, 'job failed for the last time; it is dead-lettered (takedown jobs list)');
    } else if (state === 'pending') {
      stats.failed += 1;
      logger.warn({ ...facts, retryInMs: delay }, 'job failed; it will be retried');
    } else stats.lost += 1;
  }

  /** helpers.enqueueHere: the jobs leased to us in the caller's transaction, run by `start`. */
  async function enqueueHere(
    trx: Transaction<Database>,
    name: string,
    jobs: ReadonlyArray<{ readonly payload: unknown; readonly key?: string }>,
  ): Promise<JobsHere> {
    const ours = maxAttempts.get(name);
    if (ours === undefined || shutdown.signal.aborted) {
      // Not ours to run (or we are stopping): into the queue for whoever takes them.
      const ids: number[] = [];
      for (const job of jobs) {
        const result = await queue.enqueue(
          trx,
          name as never,
          job.payload as never,
          job.key === undefined ? {} : { key: job.key },
        );
        if (result.created) ids.push(result.id);
      }
      return { ids, start: () => undefined };
    }
    const rows = await insertLeasedJobs(trx, workerId, name, jobs, ours, leaseMs);
    let started = false;
    return {
      ids: rows.map((row) => row.id),
      start() {
        if (started) return;
        started = true;
        if (!shutdown.signal.aborted) {
          for (const row of rows) void execute(row, true);
          return;
        }
        // Stopping: give them back (pending, the attempt not counted) for the next worker.
        void withDbRetry(
          () =>
            releaseJobs(
              db,
              workerId,
              rows.map((row) => ({ id: row.id, attempt: row.attempts })),
            ),
          { logger, what: 'releasing jobs at shutdown', tries: 3 },
        ).catch((error: unknown) =>
          logger.warn(
            { err: error },
            'could not release jobs; they run again once their leases expire',
          ),
        );
      },
    };
  }

  async function execute(job: ClaimedJob, adopted = false): Promise<void> {
    const run: ActiveRun = {
      id: job.id,
      attempt: job.attempts,
      name: job.name,
      controller: new AbortController(),
      lost: undefined,
    };
    active.set(job.id, run);
    const jobLogger = logger.child({ job: { id: job.id, name: job.name, attempt: job.attempts } });
    let result: RunResult;
    try {
      const definition = definitions.get(job.name) as AnyJobDefinition<P>;
      result = await runHandler(
        job,
        definition,
        { db, queue, logger: jobLogger, signal: run.controller.signal, enqueueHere },
        (reason) => run.controller.abort(new Error(reason)),
        adopted,
      );
    } finally {
      // The handler is done: its slot is free while its result is written.
      active.delete(job.id);
      if (active.size === concurrency - 1) wakeup.wake();
    }
    const recorded = record(run, result, job).catch((error: unknown) => {
      // Recording failed even after retries: the lease expires and the job runs again.
      jobLogger.error({ err: error }, 'could not record the outcome of a job; it will run again');
    });
    recording.add(recorded);
    await recorded;
    recording.delete(recorded);
    if (recording.size === 0 && active.size === 0) wakeup.wake();
  }

  async function heartbeat(): Promise<void> {
    if (active.size === 0) {
      lastRenewal = performance.now();
      return;
    }
    const runs = [...active.values()].filter((run) => run.lost === undefined);
    const started = performance.now();
    try {
      const held = new Set(await renewLeases(db, workerId, runs, leaseMs));
      lastRenewal = started;
      for (const run of runs) if (!held.has(run.id) && active.has(run.id)) loseLease(run);
    } catch (error) {
      logger.warn({ err: error }, 'could not renew job leases');
      // Past the lease another worker may have taken our jobs: stop them.
      if (performance.now() - lastRenewal > leaseMs) for (const run of runs) loseLease(run);
    }
  }

  function loseLease(run: ActiveRun): void {
    if (run.lost !== undefined) return;
    run.lost = 'lease';
    run.controller.abort(new Error('the job lost its lease'));
  }

  async function expire(): Promise<void> {
    try {
      for (const row of await expireLeases(db)) {
        logger.warn(
          { job: { id: row.id, name: row.name }, state: row.state, lockedBy: row.locked_by },
          row.state === 'dead'
            ? 'a job whose worker stopped was on its last attempt; it is dead-lettered'
            : 'a job whose worker stopped runs again',
        );
      }
    } catch (error) {
      logger.warn({ err: error }, 'could not look for expired job leases');
    }
  }

  // Everything the runner starts is background work: on the embedded
  // database, requests' queries go first (store/priority.ts).
  const timers = inBackground(() => [
    setInterval(() => void heartbeat(), Math.max(100, Math.floor(leaseMs / 3))),
    setInterval(() => void expire(), Math.max(250, Math.floor(leaseMs / 2))),
  ]);

  async function loop(): Promise<void> {
    let pause = MIN_PAUSE_MS;
    await expire();
    while (!shutdown.signal.aborted) {
      const free = concurrency - active.size;
      let claimed: ClaimedJob[] = [];
      if (free > 0 && definitions.size > 0) {
        try {
          claimed = await claimJobs(db, workerId, maxAttempts, free, leaseMs);
        } catch (error) {
          const transient = isTransientDatabaseError(error);
          logger[transient ? 'warn' : 'error'](
            { err: error },
            'could not claim jobs; trying again shortly',
          );
          await wakeup.pause(transient ? options.pollMs * 5 : options.pollMs * 20);
          continue;
        }
        if (shutdown.signal.aborted) {
          // Claimed while stopping: give them straight back.
          await releaseJobs(
            db,
            workerId,
            claimed.map((j) => ({ id: j.id, attempt: j.attempts })),
          );
          break;
        }
        for (const job of claimed) void execute(job);
      }
      if (claimed.length === 0 && active.size === 0 && recording.size === 0)
        for (const resolve of idleWaiters.splice(0)) resolve();
      // Work found: look again soon. Idle: back off up to pollMs.
      pause = claimed.length > 0 ? MIN_PAUSE_MS : Math.min(options.pollMs, pause * 2);
      if (active.size >= concurrency) {
        await wakeup.pause(2 ** 31 - 1);
        // Woken by a free slot: let the other runs that finished in the same
        // turn free theirs too, and claim for all of them at once.
        await new Promise((resolve) => setImmediate(resolve));
      } else await wakeup.pause(pause);
    }
  }

  const looping = inBackground(loop).catch((error: unknown) => {
    logger.fatal({ err: error }, 'the job runner stopped unexpectedly');
  });

  return {
    workerId,
    get running() {
      return active.size;
    },
    get stats() {
      return { ...stats };
    },
    whenIdle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        wakeup.wake();
      });
    },
    async stop(graceMs = 10_000) {
      shutdown.abort();
      stopListening();
      wakeup.wake();
      await looping;
      const before = active.size;
      const deadline = performance.now() + graceMs;
      while (active.size > 0 && performance.now() < deadline) await sleepFor(20);
      const left = [...active.values()];
      for (const run of left) {
        run.lost = 'released';
        run.controller.abort(new Error('the worker is shutting down'));
      }
      let released = 0;
      if (left.length > 0) {
        released = (
          await withDbRetry(() => releaseJobs(db, workerId, left), {
            logger,
            what: 'releasing jobs at shutdown',
            tries: 3,
          }).catch((error: unknown) => {
            logger.error(
              { err: error },
              'could not release running jobs; they run again once their leases expire',
            );
            return [];
          })
        ).length;
      }
      await Promise.all([...recording]);
      await completions.drain();
      for (const timer of timers) clearInterval(timer);
      logger.info({ finished: before - left.length, released }, 'job runner stopped');
      return { finished: before - left.length, released };
    },
  };
}

const sleepFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
