import type { Context } from 'hono';
import { TakedownError } from '../errors.js';
import { isTransientDatabaseError } from '../jobs/index.js';
import type { AppEnv } from './types.js';

/** Seconds a client is asked to wait when the database is away. */
export const DATABASE_RETRY_AFTER_SECONDS = 30;

/**
 * Runs a route's database work; if the database is unreachable (stopped,
 * restarting, connections refused or cut) the answer is 503 with
 * Retry-After instead of 500: the client did nothing wrong, nothing was
 * stored, and sending the same request again later is the right thing.
 */
export async function storing<T>(c: Context<AppEnv>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    c.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
    throw new TakedownError(
      'database-unavailable',
      `This could not be done just now because the database is unavailable; nothing was stored. Please send it again in ${DATABASE_RETRY_AFTER_SECONDS} seconds.`,
      { kind: 'unavailable', cause: error },
    );
  }
}

/** A transient database error, also inside the AggregateError of a connection tried on several addresses. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (isTransientDatabaseError(error)) return true;
  return error instanceof AggregateError && error.errors.some((e) => isTransientDatabaseError(e));
}
