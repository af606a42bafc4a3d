import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Durable background jobs (src/jobs). A row lives while its job is pending,
 * running (leased to one worker until `locked_until`) or dead (gave up; kept
 * for an admin to look at and retry). A job that succeeds is deleted: what it
 * did is recorded by its stage's own tables, not here. `max_attempts` null
 * means "as the job's definition says"; the first claim fills it in.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('job')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('state', 'text', (col) =>
      col
        .notNull()
        .defaultTo('pending')
        .check(sql`state in ('pending', 'running', 'dead')`),
    )
    .addColumn('key', 'text', (col) => col.check(sql`length(key) between 1 and 512`))
    .addColumn('priority', 'smallint', (col) => col.notNull().defaultTo(0))
    .addColumn('run_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (col) => col.check(sql`max_attempts >= 1`))
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // The claim query's order, over the rows it may take: small however many
  // dead or running rows pile up.
  await sql`create index job_claim on job (priority desc, run_at, id) where state = 'pending'`.execute(
    db,
  );
  // Leases to look at for expiry.
  await sql`create index job_lease on job (locked_until) where state = 'running'`.execute(db);
  // One live job per key: enqueueing the same key again while it is pending or
  // running adds nothing. A dead job keeps its key without blocking new work.
  await sql`create unique index job_live_key on job (key) where state <> 'dead'`.execute(db);
  await sql`create index job_dead on job (updated_at desc) where state = 'dead'`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job').execute();
}
