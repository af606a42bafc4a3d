// The SIGKILL test's idempotent job effect, shared by the test and its worker
// process: one row per payload, whoever runs it and however often.
import { sql } from 'kysely';

export async function performEffect(db, payload, job, by) {
  const value = JSON.stringify({ by, attempt: job.attempt });
  await sql`insert into setting (key, value) values (${`effect:${payload.n}`}, ${value}::jsonb)
            on conflict (key) do nothing`.execute(db);
  await sql`insert into setting (key, value) values (${`run:${payload.n}:${job.attempt}`}, ${value}::jsonb)`.execute(
    db,
  );
}
