import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import type { EnqueueOptions, EnqueueResult, JobDb } from './types.js';

/**
 * Every statement the job system runs. Times come from the database server's
 * clock (`now()`), never from a worker's, so workers on several machines
 * agree on leases and schedules however their clocks drift.
 */

/** A claimed job as the runner sees it. */
export interface ClaimedJob {
  readonly id: number;
  readonly name: string;
  readonly payload: unknown;
  readonly key: string | null;
  readonly attempts: number;
  readonly max_attempts: number;
}

/** What identifies one run: a job whose lease passed to someone else is no longer ours to finish. */
export interface RunRef {
  readonly id: number;
  readonly attempt: number;
}

const interval = (ms: number) => sql<string>`make_interval(secs => ${ms / 1000})`;

export async function insertJob(
  db: JobDb,
  name: string,
  payload: unknown,
  options: EnqueueOptions,
): Promise<EnqueueResult> {
  const runAt =
    options.runAt !== undefined
      ? sql<Date>`${options.runAt}::timestamptz`
      : options.delayMs !== undefined
        ? sql<Date>`now() + ${interval(options.delayMs)}`
        : sql<Date>`now()`;
  // JSON.stringify ourselves: node-postgres would turn a top-level array
  // into a PostgreSQL array literal instead of JSON.
  const json = JSON.stringify(payload ?? null);
  for (;;) {
    const inserted = await db
      .insertInto('job')
      .values({
        name,
        payload: json,
        key: options.key ?? null,
        priority: options.priority ?? 0,
        run_at: runAt,
        max_attempts: options.maxAttempts ?? null,
      })
      .onConflict((oc) => oc.column('key').where('state', '<>', 'dead').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted !== undefined) return { id: inserted.id, created: true };
    // A live job holds the key. It may finish (and be deleted) between the
    // insert and this select; then the insert is tried again.
    const existing = await db
      .selectFrom('job')
      .select('id')
      .where('key', '=', options.key as string)
      .where('state', '<>', 'dead')
      .executeTakeFirst();
    if (existing !== undefined) return { id: existing.id, created: false };
  }
}

/**
 * Leases up to `limit` due jobs of the given names to `worker`. SKIP LOCKED
 * makes concurrent claimers on any number of connections and machines take
 * disjoint rows without waiting for each other; the CTE runs once, so each
 * row is locked and updated by exactly one claimer. A job enqueued without
 * max_attempts gets its definition's (`maxAttempts`, by name) here.
 */
export async function claimJobs(
  db: Kysely<Database>,
  worker: string,
  maxAttempts: ReadonlyMap<string, number>,
  limit: number,
  leaseMs: number,
): Promise<ClaimedJob[]> {
  const names = [...maxAttempts.keys()];
  const { rows } = await sql<ClaimedJob>`
    with next as (
      select id from job
      where state = 'pending' and run_at <= now() and name = any(${names}::text[])
      order by priority desc, run_at, id
      limit ${limit}
      for update skip locked
    )
    update job
    set state = 'running', locked_by = ${worker}, locked_until = now() + ${interval(leaseMs)},
        attempts = job.attempts + 1, updated_at = now(),
        max_attempts = coalesce(job.max_attempts, policy.max_attempts)
    from next, unnest(${names}::text[], ${[...maxAttempts.values()]}::int4[]) as policy(name, max_attempts)
    where job.id = next.id and policy.name = job.name
    returning job.id, job.name, job.payload, job.key, job.attempts, job.max_attempts`.execute(db);
  return rows;
}

/** Deletes finished jobs still leased by this run; returns the ids that were (the others were lost). */
export async function completeJobs(
  db: Kysely<Database>,
  worker: string,
  runs: readonly RunRef[],
): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`
    delete from job
    using unnest(${runs.map((r) => r.id)}::int8[], ${runs.map((r) => r.attempt)}::int4[]) as done(id, attempt)
    where job.id = done.id and job.attempts = done.attempt
      and job.locked_by = ${worker} and job.state = 'running'
    returning job.id`.execute(db);
  return rows.map((row) => row.id);
}

/**
 * Records a failed run: pending again after `delayMs`, or dead when the
 * attempts are used up or `permanent`. Returns the new state, or undefined
 * when the run no longer held the lease.
 */
export async function failJob(
  db: Kysely<Database>,
  worker: string,
  run: RunRef,
  error: string,
  delayMs: number,
  permanent: boolean,
): Promise<'pending' | 'dead' | undefined> {
  const row = await db
    .updateTable('job')
    .set({
      state: sql`case when ${permanent} or attempts >= max_attempts then 'dead' else 'pending' end`,
      run_at: sql`now() + ${interval(delayMs)}`,
      last_error: error,
      locked_by: null,
      locked_until: null,
      updated_at: sql`now()`,
    })
    .where('id', '=', run.id)
    .where('attempts', '=', run.attempt)
    .where('locked_by', '=', worker)
    .where('state', '=', 'running')
    .returning('state')
    .executeTakeFirst();
  return row?.state as 'pending' | 'dead' | undefined;
}

/**
 * Gives runs back unfinished (shutdown): pending now, and the interrupted
 * run does not count against the job's attempts.
 */
export async function releaseJobs(
  db: Kysely<Database>,
  worker: string,
  runs: readonly RunRef[],
): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`
    update job
    set state = 'pending', attempts = job.attempts - 1, run_at = now(),
        locked_by = null, locked_until = null, updated_at = now()
    from unnest(${runs.map((r) => r.id)}::int8[], ${runs.map((r) => r.attempt)}::int4[]) as run(id, attempt)
    where job.id = run.id and job.attempts = run.attempt
      and job.locked_by = ${worker} and job.state = 'running'
    returning job.id`.execute(db);
  return rows.map((row) => row.id);
}

/** Extends the leases of runs in progress; returns the ids still held (missing ones were lost). */
export async function renewLeases(
  db: Kysely<Database>,
  worker: string,
  runs: readonly RunRef[],
  leaseMs: number,
): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`
    update job
    set locked_until = now() + ${interval(leaseMs)}
    from unnest(${runs.map((r) => r.id)}::int8[], ${runs.map((r) => r.attempt)}::int4[]) as run(id, attempt)
    where job.id = run.id and job.attempts = run.attempt
      and job.locked_by = ${worker} and job.state = 'running'
    returning job.id`.execute(db);
  return rows.map((row) => row.id);
}

/**
 * Jobs whose worker stopped renewing the lease (killed, frozen, cut off from
 * the database) become pending again, or dead when that was their last
 * attempt: a job that kills its worker every time stops after max_attempts
 * instead of taking down workers forever.
 */
export async function expireLeases(
  db: Kysely<Database>,
): Promise<Array<{ id: number; name: string; state: string; locked_by: string }>> {
  const { rows } = await sql<{ id: number; name: string; state: string; locked_by: string }>`
    with expired as (
      select id, locked_by from job
      where state = 'running' and locked_until < now()
      for update skip locked
    )
    update job
    set state = case when job.attempts >= job.max_attempts then 'dead' else 'pending' end,
        last_error = 'run ' || job.attempts || ' ended without a result: its worker ('
          || expired.locked_by || ') stopped renewing the lease (killed, stuck or cut off)',
        run_at = now(), locked_by = null, locked_until = null, updated_at = now()
    from expired
    where job.id = expired.id
    returning job.id, job.name, job.state, expired.locked_by`.execute(db);
  return rows;
}

/**
 * Inserts jobs of one name already leased to `worker` (running, attempt 1),
 * for the worker to run at once without claiming them: see
 * `JobHelpers.enqueueHere`. A key that a live job holds already is skipped
 * (as `insertJob` does); the rows inserted are returned as claimed jobs.
 */
export async function insertLeasedJobs(
  db: JobDb,
  worker: string,
  name: string,
  jobs: ReadonlyArray<{ readonly payload: unknown; readonly key?: string }>,
  maxAttempts: number,
  leaseMs: number,
): Promise<ClaimedJob[]> {
  if (jobs.length === 0) return [];
  const { rows } = await sql<ClaimedJob>`
    insert into job (name, payload, key, state, attempts, max_attempts, locked_by, locked_until)
    select ${name}, j.payload::jsonb, j.key, 'running', 1, ${maxAttempts}, ${worker},
           now() + ${interval(leaseMs)}
    from unnest(${jobs.map((job) => JSON.stringify(job.payload ?? null))}::text[],
                ${jobs.map((job) => job.key ?? null)}::text[]) with ordinality as j(payload, key, n)
    order by j.n
    on conflict (key) where state <> 'dead' do nothing
    returning id, name, payload, key, attempts, max_attempts`.execute(db);
  return rows;
}
