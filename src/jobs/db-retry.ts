import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import { isTransientDatabaseError } from './retry-policy.js';

export interface DbRetryOptions {
  readonly logger: Logger;
  /** What the statement does, for the log. */
  readonly what: string;
  /** Tries in all (default 6: about 6 s of waiting). */
  readonly tries?: number;
  /** Stops retrying early (shutdown). */
  readonly signal?: AbortSignal;
}

/**
 * Runs one of the runner's own statements, retrying it while the error is
 * transient (a connection dropped, the server restarting, a deadlock). A
 * blip must neither crash the worker nor lose the result of a job that
 * already ran. When it keeps failing the error is thrown; for a lease that
 * means the job runs again once the lease expires (at least once).
 */
export async function withDbRetry<T>(run: () => Promise<T>, options: DbRetryOptions): Promise<T> {
  const tries = options.tries ?? 6;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= tries || !isTransientDatabaseError(error) || options.signal?.aborted)
        throw error;
      const delay = Math.min(3_000, 100 * 2 ** (attempt - 1));
      options.logger.warn(
        { err: error, attempt, retryInMs: delay },
        `${options.what} failed with a transient database error; retrying`,
      );
      await sleep(delay);
    }
  }
}
