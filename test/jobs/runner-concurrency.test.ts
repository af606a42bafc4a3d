import type { Kysely } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { defineJob } from '../../src/jobs/index.js';
import type { Database } from '../../src/store/database.js';
import { createPool, kyselyOverPool } from '../../src/store/postgres.js';
import { describeEachDatabase } from '../support/db.js';
import {
  jobName,
  stopRunnersAfterEach,
  testLogger,
  testQueue,
  testRunner,
} from '../support/jobs.js';
import type { TestJobs } from '../support/jobs.js';

/**
 * Two runners claim from one table at once: on PostgreSQL each has its own
 * connection pool, as two machines would; PGlite has one backend, shared.
 */
describeEachDatabase('two job runners on one database', (t) => {
  stopRunnersAfterEach();
  const others: Array<Kysely<Database>> = [];
  afterAll(async () => {
    for (const db of others) await db.destroy();
  });

  /** A second "machine": its own pool to the same PostgreSQL database. */
  function secondConnection(): Kysely<Database> {
    if (t.url === undefined) return t.db;
    const db = kyselyOverPool(
      createPool({ connectionString: t.url, max: 4 }, testLogger),
      testLogger,
    );
    others.push(db);
    return db;
  }

  it('never runs a job twice at once, and runs every job exactly once', async () => {
    const name = jobName('shared');
    const total = 400;
    const running = new Set<number>();
    const runs = new Map<number, string[]>();
    const overlaps: number[] = [];
    const handler = (worker: string) =>
      defineJob<TestJobs>({
        name,
        handler: async ({ n }) => {
          if (running.has(n)) overlaps.push(n);
          running.add(n);
          runs.set(n, [...(runs.get(n) ?? []), worker]);
          await new Promise((resolve) => setTimeout(resolve, n % 3));
          running.delete(n);
        },
      });
    const queue = testQueue();
    await t.db
      .insertInto('job')
      .values(Array.from({ length: total }, (_, n) => ({ name, payload: JSON.stringify({ n }) })))
      .execute();
    const a = testRunner(t.db, queue, [handler('a')], { concurrency: 8, pollMs: 10 });
    const b = testRunner(secondConnection(), queue, [handler('b')], { concurrency: 8, pollMs: 10 });
    const deadline = Date.now() + 30_000;
    while (a.stats.completed + b.stats.completed < total && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(overlaps).toEqual([]);
    expect(runs.size).toBe(total);
    expect([...runs.values()].filter((workers) => workers.length !== 1)).toEqual([]);
    expect(a.stats.completed + b.stats.completed).toBe(total);
    // Both took a share (not one runner doing all while the other waited).
    expect(a.stats.completed).toBeGreaterThan(total / 10);
    expect(b.stats.completed).toBeGreaterThan(total / 10);
    const left = await t.db.selectFrom('job').select('id').where('name', '=', name).execute();
    expect(left).toEqual([]);
  });
});
