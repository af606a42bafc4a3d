import { insertJob } from './queries.js';
import type {
  EnqueueOptions,
  EnqueueResult,
  JobDb,
  JobName,
  JobPayloads,
  PayloadMap,
} from './types.js';

/**
 * The way into the job system: `queue.enqueue(db or trx, name, payload)`.
 * One per process, made where the process is put together and handed to
 * whatever enqueues (routes, handlers) and to the runners, which it wakes
 * when a job is added in this process so that the job starts at once.
 * Runners in other processes find it by polling (TAKEDOWN_JOBS_POLL_MS).
 */
export interface JobQueue<P extends PayloadMap = JobPayloads> {
  /**
   * Writes a job. Given a transaction, the job commits (or rolls back) with
   * it. With `options.key`, a job whose key is already pending or running is
   * not added twice.
   */
  enqueue<N extends JobName<P>>(
    db: JobDb,
    name: N,
    payload: P[N],
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  /** Runners listen here; returns the function that stops listening. */
  onEnqueue(listener: (name: string) => void): () => void;
}

export function createJobQueue<P extends PayloadMap = JobPayloads>(): JobQueue<P> {
  const listeners = new Set<(name: string) => void>();
  return {
    async enqueue(db, name, payload, enqueueOptions = {}) {
      validateOptions(name, enqueueOptions);
      const result = await insertJob(db, name, payload, enqueueOptions);
      // Inside a transaction the job is not visible yet; a runner that looks
      // now finds nothing and looks again within its shortest idle pause.
      if (result.created) for (const listener of listeners) listener(name);
      return result;
    },
    onEnqueue(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function validateOptions(name: string, options: EnqueueOptions): void {
  const problems: string[] = [];
  if (name.length === 0 || name.length > 128)
    problems.push('the name must have 1 to 128 characters');
  if (options.key !== undefined && (options.key.length === 0 || options.key.length > 512))
    problems.push('a key must have 1 to 512 characters');
  if (options.runAt !== undefined && options.delayMs !== undefined)
    problems.push('give runAt or delayMs, not both');
  if (options.runAt !== undefined && Number.isNaN(options.runAt.getTime()))
    problems.push('runAt is not a valid date');
  if (options.delayMs !== undefined && !(options.delayMs >= 0))
    problems.push('delayMs must be >= 0');
  if (
    options.priority !== undefined &&
    !(Number.isInteger(options.priority) && Math.abs(options.priority) <= 32767)
  )
    problems.push('priority must be an integer between -32767 and 32767');
  if (
    options.maxAttempts !== undefined &&
    !(Number.isInteger(options.maxAttempts) && options.maxAttempts >= 1)
  )
    problems.push('maxAttempts must be a positive integer');
  // A programming error, not a user's: a plain Error with every problem named.
  if (problems.length > 0) throw new Error(`cannot enqueue job "${name}": ${problems.join('; ')}`);
}
