import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/database.js';

/** Resolves when no job of these names is left to run; throws on a dead one. */
export async function jobsDone(
  db: Kysely<Database>,
  ...names: [string, ...string[]]
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const jobs = await db
      .selectFrom('job')
      .select(['name', 'state', 'last_error'])
      .where('name', 'in', names)
      .execute();
    const dead = jobs.filter((j) => j.state === 'dead');
    if (dead.length > 0) throw new Error(`dead jobs: ${JSON.stringify(dead)}`);
    if (jobs.length === 0) return;
    if (Date.now() > deadline) throw new Error(`jobs still waiting: ${JSON.stringify(jobs)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
