import type { ColumnType, Generated } from 'kysely';

/** pending: waits for run_at. running: leased to `locked_by` until `locked_until`. dead: gave up. */
export type JobState = 'pending' | 'running' | 'dead';

export interface JobTable {
  id: Generated<number>;
  name: string;
  /** JSON written by `enqueue` (typed by JobPayloads) and read back as `unknown`. */
  payload: ColumnType<unknown, string, string>;
  state: ColumnType<JobState, JobState | undefined, JobState>;
  /** At most one pending or running job per key (idempotent enqueueing). */
  key: string | null;
  /** Higher runs first among due jobs. */
  priority: ColumnType<number, number | undefined, number>;
  run_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Runs started, including the one in progress. */
  attempts: ColumnType<number, number | undefined, number>;
  /** Null until first claimed when enqueued without one: the job's definition decides. */
  max_attempts: number | null;
  /** The worker and attempt holding the lease (`<worker id>`), while running. */
  locked_by: string | null;
  locked_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_error: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface JobTables {
  job: JobTable;
}
