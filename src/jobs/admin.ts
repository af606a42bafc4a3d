import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import type { JobState } from './tables.js';

/** What admins see of the job table, and the one repair they make: retry a dead job. */

export interface JobSummary {
  readonly id: number;
  readonly name: string;
  readonly state: JobState;
  readonly key: string | null;
  readonly priority: number;
  readonly attempts: number;
  readonly maxAttempts: number | null;
  readonly runAt: Date;
  readonly lockedBy: string | null;
  readonly lockedUntil: Date | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly payload: unknown;
}

export interface ListJobsFilter {
  /** Default: dead, the ones that need a person. */
  readonly state?: JobState | 'all';
  readonly name?: string;
  /** Default 50, at most 1000. */
  readonly limit?: number;
}

export async function listJobs(
  db: Kysely<Database>,
  filter: ListJobsFilter = {},
): Promise<JobSummary[]> {
  const state = filter.state ?? 'dead';
  let query = db.selectFrom('job').selectAll();
  if (state !== 'all') query = query.where('state', '=', state);
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  const rows = await query
    // Dead: most recent failures first. Otherwise: in the order they will run.
    .orderBy(state === 'dead' ? sql`updated_at desc` : sql`priority desc, run_at, id`)
    .limit(Math.min(Math.max(filter.limit ?? 50, 1), 1000))
    .execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    state: row.state,
    key: row.key,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAt: row.run_at,
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    payload: row.payload,
  }));
}

export interface JobCount {
  readonly name: string;
  readonly state: JobState;
  readonly count: number;
  /** Pending only: how many are due now (the rest wait for run_at). */
  readonly due: number;
}

/** Jobs by name and state: the backlog at a glance. */
export async function countJobs(db: Kysely<Database>): Promise<JobCount[]> {
  const rows = await db
    .selectFrom('job')
    .select((eb) => [
      'name',
      'state',
      eb.fn.countAll<number>().as('count'),
      sql<number>`count(*) filter (where state = 'pending' and run_at <= now())`.as('due'),
    ])
    .groupBy(['name', 'state'])
    .orderBy('name')
    .orderBy('state')
    .execute();
  return rows;
}

export type RetryResult =
  | { readonly kind: 'retried'; readonly id: number }
  | { readonly kind: 'not-found'; readonly id: number }
  | { readonly kind: 'not-dead'; readonly id: number; readonly state: JobState }
  /** A live job with the same key exists: retrying would run the same work twice. */
  | { readonly kind: 'key-taken'; readonly id: number; readonly liveJobId: number };

/**
 * Gives a dead job a fresh set of attempts, due now. Its last error stays
 * for reference until the next run replaces it.
 */
export async function retryDeadJob(db: Kysely<Database>, id: number): Promise<RetryResult> {
  return db.transaction().execute(async (trx) => {
    const job = await trx
      .selectFrom('job')
      .select(['state', 'key'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (job === undefined) return { kind: 'not-found', id };
    if (job.state !== 'dead') return { kind: 'not-dead', id, state: job.state };
    if (job.key !== null) {
      const live = await trx
        .selectFrom('job')
        .select('id')
        .where('key', '=', job.key)
        .where('state', '<>', 'dead')
        .executeTakeFirst();
      if (live !== undefined) return { kind: 'key-taken', id, liveJobId: live.id };
    }
    await trx
      .updateTable('job')
      .set({ state: 'pending', attempts: 0, run_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', id)
      .execute();
    return { kind: 'retried', id };
  });
}
