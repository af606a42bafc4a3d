import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { countJobs, listJobs, retryDeadJob } from '../../src/jobs/index.js';
import { describeEachDatabase } from '../support/db.js';
import { jobName, testQueue } from '../support/jobs.js';

/** Enqueueing and the admin view, without a runner. */
describeEachDatabase('job queue', (t) => {
  const queue = testQueue();

  const row = (id: number) =>
    t.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('stores the payload as JSON, arrays and nested values included', async () => {
    const name = jobName('store');
    const payload = { n: 1, list: [1, 'two', null], nested: { deep: [{ a: true }] } };
    const { id, created } = await queue.enqueue(t.db, name, payload);
    expect(created).toBe(true);
    const stored = await row(id);
    expect(stored).toMatchObject({
      name,
      state: 'pending',
      attempts: 0,
      max_attempts: null,
      key: null,
      priority: 0,
    });
    expect(stored.payload).toEqual(payload);
  });

  it('adds one live job per key, and a new one once the first is gone', async () => {
    const name = jobName('keyed');
    const key = `item:${name}`;
    const first = await queue.enqueue(t.db, name, { n: 1 }, { key });
    const second = await queue.enqueue(t.db, name, { n: 2 }, { key });
    expect(first.created).toBe(true);
    expect(second).toEqual({ id: first.id, created: false });
    expect((await row(first.id)).payload).toEqual({ n: 1 }); // the first payload stays
    // Running still counts as live.
    await t.db.updateTable('job').set({ state: 'running' }).where('id', '=', first.id).execute();
    expect((await queue.enqueue(t.db, name, { n: 3 }, { key })).created).toBe(false);
    // Dead does not: new work with the same key may be queued.
    await t.db.updateTable('job').set({ state: 'dead' }).where('id', '=', first.id).execute();
    const third = await queue.enqueue(t.db, name, { n: 4 }, { key });
    expect(third.created).toBe(true);
    expect(third.id).not.toBe(first.id);
  });

  it('keeps keys unique when two connections enqueue the same key at once', async () => {
    const name = jobName('race');
    const key = `race:${name}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, n) => queue.enqueue(t.db, name, { n }, { key })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
  });

  it('commits a job with its transaction and drops it with a rollback', async () => {
    const kept = jobName('trx-kept');
    const dropped = jobName('trx-dropped');
    await t.db.transaction().execute(async (trx) => {
      await queue.enqueue(trx, kept, { n: 1 });
    });
    await t.db
      .transaction()
      .execute(async (trx) => {
        await queue.enqueue(trx, dropped, { n: 1 });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const names = (await t.db.selectFrom('job').select('name').execute()).map((r) => r.name);
    expect(names).toContain(kept);
    expect(names).not.toContain(dropped);
  });

  it('schedules by runAt and delayMs on the database clock', async () => {
    const name = jobName('later');
    const at = new Date(Date.now() + 3_600_000);
    const byDate = await queue.enqueue(t.db, name, { n: 1 }, { runAt: at });
    expect((await row(byDate.id)).run_at.getTime()).toBe(at.getTime());
    const byDelay = await queue.enqueue(t.db, name, { n: 2 }, { delayMs: 90_000 });
    const { run_at, created_at } = await row(byDelay.id);
    expect(run_at.getTime() - created_at.getTime()).toBeGreaterThanOrEqual(90_000);
    expect(run_at.getTime() - created_at.getTime()).toBeLessThan(91_000);
  });

  it('refuses bad options with every problem named', async () => {
    await expect(
      queue.enqueue(t.db, jobName('bad'), { n: 1 }, { key: '', runAt: new Date(), delayMs: 5 }),
    ).rejects.toThrow(/key must have 1 to 512 characters; give runAt or delayMs, not both/);
    await expect(
      queue.enqueue(t.db, jobName('bad'), { n: 1 }, { priority: 1.5, maxAttempts: 0 }),
    ).rejects.toThrow(/priority must be an integer.*maxAttempts must be a positive integer/);
  });

  it('lists and counts jobs for admins, and retries a dead one', async () => {
    const name = jobName('admin');
    const dead = await queue.enqueue(t.db, name, { n: 1 }, { key: `k-${name}` });
    const pending = await queue.enqueue(t.db, name, { n: 2 }, { delayMs: 60_000 });
    await t.db
      .updateTable('job')
      .set({ state: 'dead', attempts: 3, max_attempts: 3, last_error: 'Error: boom' })
      .where('id', '=', dead.id)
      .execute();

    const deadList = await listJobs(t.db, { name });
    expect(deadList.map((j) => j.id)).toEqual([dead.id]);
    expect(deadList[0]).toMatchObject({ state: 'dead', attempts: 3, lastError: 'Error: boom' });
    expect((await listJobs(t.db, { name, state: 'all' })).map((j) => j.id).sort()).toEqual(
      [dead.id, pending.id].sort(),
    );
    expect((await countJobs(t.db)).filter((c) => c.name === name)).toEqual([
      { name, state: 'dead', count: 1, due: 0 },
      { name, state: 'pending', count: 1, due: 0 },
    ]);

    expect(await retryDeadJob(t.db, pending.id)).toEqual({
      kind: 'not-dead',
      id: pending.id,
      state: 'pending',
    });
    expect(await retryDeadJob(t.db, 987654321)).toEqual({ kind: 'not-found', id: 987654321 });
    // A live job with the same key blocks the retry: the work is queued already.
    const live = await queue.enqueue(t.db, name, { n: 3 }, { key: `k-${name}` });
    expect(await retryDeadJob(t.db, dead.id)).toEqual({
      kind: 'key-taken',
      id: dead.id,
      liveJobId: live.id,
    });
    await t.db.deleteFrom('job').where('id', '=', live.id).execute();
    expect(await retryDeadJob(t.db, dead.id)).toEqual({ kind: 'retried', id: dead.id });
    const retried = await row(dead.id);
    expect(retried).toMatchObject({ state: 'pending', attempts: 0, last_error: 'Error: boom' });
    const { rows } = await sql<{
      due: boolean;
    }>`select run_at <= now() as due from job where id = ${dead.id}`.execute(t.db);
    expect(rows[0].due).toBe(true);
  });
});
