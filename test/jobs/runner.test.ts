import { sql } from 'kysely';
import type { KyselyPlugin, RootOperationNode } from 'kysely';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, listJobs, PermanentJobError } from '../../src/jobs/index.js';
import type { JobInfo } from '../../src/jobs/index.js';
import { claimJobs } from '../../src/jobs/queries.js';
import { isBackground } from '../../src/store/priority.js';
import { describeEachDatabase } from '../support/db.js';
import {
  eventually,
  jobName,
  stopRunnersAfterEach,
  testQueue,
  testRunner,
} from '../support/jobs.js';
import type { TestJobs } from '../support/jobs.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeEachDatabase('job runner', (t) => {
  stopRunnersAfterEach();
  const queue = testQueue();
  const jobRow = (id: number) =>
    t.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirst();

  it('runs a job with its payload and helpers, then deletes it', async () => {
    const name = jobName('echo');
    const seen: Array<{ n: number; job: JobInfo }> = [];
    const runner = testRunner(t.db, queue, [
      defineJob<TestJobs>({
        name,
        handler: async (payload, helpers) => {
          seen.push({ n: payload.n, job: helpers.job });
        },
      }),
    ]);
    const { id } = await queue.enqueue(t.db, name, { n: 7 }, { key: `echo-${name}` });
    await eventually(() => (seen.length > 0 ? true : undefined));
    expect(seen).toEqual([
      { n: 7, job: { id, name, key: `echo-${name}`, attempt: 1, maxAttempts: 10 } },
    ]);
    await eventually(async () => ((await jobRow(id)) === undefined ? true : undefined));
    expect(runner.stats).toMatchObject({ completed: 1, failed: 0, dead: 0, lost: 0 });
  });

  it('runs handlers as background work, so requests go first on the embedded database', async () => {
    const name = jobName('background');
    const seen: boolean[] = [];
    testRunner(t.db, queue, [
      defineJob<TestJobs>({
        name,
        handler: async () => {
          await sleep(1);
          seen.push(isBackground());
        },
      }),
    ]);
    await queue.enqueue(t.db, name, { n: 1 });
    await eventually(() => (seen.length > 0 ? true : undefined));
    expect(seen).toEqual([true]);
    expect(isBackground()).toBe(false);
  });

  it('enqueues follow-up jobs in the handler transaction: both commit, or neither', async () => {
    const parent = jobName('parent');
    const child = jobName('child');
    const ran: number[] = [];
    testRunner(t.db, queue, [
      defineJob<TestJobs>({
        name: parent,
        handler: async ({ n }, helpers) => {
          await helpers.db.transaction().execute(async (trx) => {
            await sql`insert into setting (key, value) values (${`state-${parent}-${n}`}, '1')`.execute(
              trx,
            );
            await helpers.enqueue(child, { n }, { trx });
            if (n === 2) throw new PermanentJobError('rolled back on purpose');
          });
        },
      }),
      defineJob<TestJobs>({ name: child, handler: async ({ n }) => void ran.push(n) }),
    ]);
    await queue.enqueue(t.db, parent, { n: 1 });
    await queue.enqueue(t.db, parent, { n: 2 });
    await eventually(async () =>
      (await listJobs(t.db, { name: parent })).length === 1 ? true : undefined,
    );
    await sleep(100);
    expect(ran).toEqual([1]);
    const states = await t.db
      .selectFrom('setting')
      .select('key')
      .where('key', 'like', `state-${parent}-%`)
      .execute();
    expect(states.map((s) => s.key)).toEqual([`state-${parent}-1`]);
  });

  it('runs follow-up jobs enqueued here at once, leased to itself; unstarted ones run once their leases expire', async () => {
    const parent = jobName('parent-here');
    const child = jobName('child-here');
    const ran: Array<{ n: number; adopted: boolean; attempt: number; worker: string | null }> = [];
    const runner = testRunner(
      t.db,
      queue,
      [
        defineJob<TestJobs>({
          name: parent,
          handler: async ({ n }, helpers) => {
            const here = await helpers.db.transaction().execute(async (trx) => {
              const jobs = await helpers.enqueueHere(trx, child, [
                { payload: { n: n * 10 + 1 }, key: `${child}-${n}-a` },
                { payload: { n: n * 10 + 2 }, key: `${child}-${n}-b` },
                // A key that is live already adds nothing.
                { payload: { n: n * 10 + 3 }, key: `${child}-held` },
              ]);
              if (n === 2) throw new PermanentJobError('rolled back on purpose');
              return jobs;
            });
            expect(here.ids).toHaveLength(2);
            // Leased to this worker in the same commit, not yet run.
            const rows = await helpers.db
              .selectFrom('job')
              .select(['state', 'attempts', 'locked_by'])
              .where('id', 'in', [...here.ids])
              .execute();
            expect(rows.map((r) => [r.state, r.attempts])).toEqual([
              ['running', 1],
              ['running', 1],
            ]);
            // n = 3 never starts them: the worker "died" after the commit.
            if (n !== 3) here.start();
          },
        }),
        defineJob<TestJobs>({
          name: child,
          handler: async ({ n }, helpers) =>
            void ran.push({
              n,
              adopted: helpers.adopted,
              attempt: helpers.job.attempt,
              worker: (
                await helpers.db
                  .selectFrom('job')
                  .select('locked_by')
                  .where('id', '=', helpers.job.id)
                  .executeTakeFirstOrThrow()
              ).locked_by,
            }),
        }),
      ],
      { leaseMs: 600 },
    );
    await queue.enqueue(t.db, child, { n: 99 }, { key: `${child}-held`, delayMs: 60_000 });
    await queue.enqueue(t.db, parent, { n: 1 });
    await eventually(() => (ran.length === 2 ? true : undefined));
    expect(ran.sort((a, b) => a.n - b.n)).toEqual([
      { n: 11, adopted: true, attempt: 1, worker: runner.workerId },
      { n: 12, adopted: true, attempt: 1, worker: runner.workerId },
    ]);
    await queue.enqueue(t.db, parent, { n: 2 }); // rolled back: no children
    await queue.enqueue(t.db, parent, { n: 3 });
    await eventually(() => (ran.length === 4 ? true : undefined));
    expect(ran.slice(2).sort((a, b) => a.n - b.n)).toMatchObject([
      { n: 31, adopted: false, attempt: 2 },
      { n: 32, adopted: false, attempt: 2 },
    ]);
    await eventually(async () =>
      (await listJobs(t.db, { name: child, state: 'all' })).length === 1 ? true : undefined,
    );
    expect(ran.some((r) => r.n === 21 || r.n === 22)).toBe(false);
  });

  it('starts a new job within about 100 ms on an idle worker', async () => {
    const name = jobName('latency');
    const started: number[] = [];
    const runner = testRunner(
      t.db,
      queue,
      [defineJob<TestJobs>({ name, handler: async () => void started.push(performance.now()) })],
      { pollMs: 100 },
    );
    await runner.whenIdle();
    await sleep(300); // fully idle: the poll pause has grown to its longest
    const local: number[] = [];
    for (let n = 0; n < 5; n += 1) {
      const at = performance.now();
      await queue.enqueue(t.db, name, { n });
      await eventually(() => (started.length > n ? true : undefined));
      local.push(started[n] - at);
      await sleep(150);
    }
    // From another process, only polling can tell: at most one idle pause.
    const otherProcess = testQueue();
    const remote: number[] = [];
    for (let n = 5; n < 10; n += 1) {
      const at = performance.now();
      await otherProcess.enqueue(t.db, name, { n });
      await eventually(() => (started.length > n ? true : undefined));
      remote.push(started[n] - at);
      await sleep(150);
    }
    // Medians: the machine these run on is shared, and a busy moment can
    // delay any single sample; the maximum only guards against polling
    // having stopped altogether.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const seen = `local ${local.map(Math.round).join(', ')} ms; remote ${remote.map(Math.round).join(', ')} ms`;
    // Woken by the queue: a few ms.
    expect(median(local), seen).toBeLessThan(50);
    // Found by polling: within one 100 ms pause plus the claim.
    expect(median(remote), seen).toBeLessThan(150);
    expect(Math.max(...local, ...remote), seen).toBeLessThan(500);
  });

  it('retries a failing job with growing delays, then dead-letters it', async () => {
    const name = jobName('flaky');
    const attempts: number[] = [];
    const runner = testRunner(
      t.db,
      queue,
      [
        defineJob<TestJobs>({
          name,
          retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 10_000 },
          handler: async (_payload, { job }) => {
            attempts.push(job.attempt);
            throw new Error(`failure ${job.attempt}`);
          },
        }),
      ],
      { random: () => 1 }, // no jitter: delays 200, 400
    );
    const { id } = await queue.enqueue(t.db, name, { n: 1 });
    const delays: number[] = [];
    for (const attempt of [1, 2]) {
      const row = await eventually(async () => {
        const r = await jobRow(id);
        return r?.state === 'pending' && r.attempts === attempt ? r : undefined;
      });
      delays.push(row.run_at.getTime() - row.updated_at.getTime());
      expect(row.last_error).toBe(`Error: failure ${attempt}`);
    }
    expect(delays).toEqual([200, 400]);
    const dead = await eventually(async () => {
      const r = await jobRow(id);
      return r?.state === 'dead' ? r : undefined;
    });
    expect(dead).toMatchObject({ attempts: 3, max_attempts: 3, last_error: 'Error: failure 3' });
    expect(dead.locked_by).toBeNull();
    expect(attempts).toEqual([1, 2, 3]);
    expect(runner.stats).toMatchObject({ failed: 2, dead: 1 });
    expect((await listJobs(t.db, { name })).map((j) => j.id)).toEqual([id]);
  });

  it('dead-letters at once on a PermanentJobError or a payload that fails its schema', async () => {
    const permanent = jobName('permanent');
    const typed = jobName('typed');
    const handled: unknown[] = [];
    testRunner(t.db, queue, [
      defineJob<TestJobs>({
        name: permanent,
        handler: async () => {
          throw new PermanentJobError('the item is gone');
        },
      }),
      defineJob<TestJobs>({
        name: typed,
        schema: z.object({ n: z.number().int().positive() }),
        handler: async (payload) => void handled.push(payload),
      }),
    ]);
    const a = await queue.enqueue(t.db, permanent, { n: 1 });
    const b = await queue.enqueue(t.db, typed, { n: -1 });
    const c = await queue.enqueue(t.db, typed, { n: 5 });
    const deadA = await eventually(async () => {
      const r = await jobRow(a.id);
      return r?.state === 'dead' ? r : undefined;
    });
    expect(deadA).toMatchObject({ attempts: 1, last_error: 'PermanentJobError: the item is gone' });
    const deadB = await eventually(async () => {
      const r = await jobRow(b.id);
      return r?.state === 'dead' ? r : undefined;
    });
    expect(deadB.attempts).toBe(1);
    expect(deadB.last_error).toMatch(/stored payload does not fit job .*n: Too small/);
    await eventually(async () => ((await jobRow(c.id)) === undefined ? true : undefined));
    expect(handled).toEqual([{ n: 5 }]);
  });

  it('aborts a run past its timeout and retries it', async () => {
    const name = jobName('slow');
    const reasons: string[] = [];
    testRunner(t.db, queue, [
      defineJob<TestJobs>({
        name,
        timeoutMs: 150,
        retry: { baseDelayMs: 60_000 },
        handler: async (_payload, { signal }) => {
          await new Promise<void>((resolve) =>
            signal.addEventListener('abort', () => {
              reasons.push(String((signal.reason as Error).message));
              resolve();
            }),
          );
        },
      }),
    ]);
    const { id } = await queue.enqueue(t.db, name, { n: 1 });
    const row = await eventually(async () => {
      const r = await jobRow(id);
      return r?.state === 'pending' && r.attempts === 1 ? r : undefined;
    });
    expect(row.last_error).toMatch(/ran longer than its timeout of 150 ms/);
    expect(reasons).toEqual(['timed out after 150 ms']);
  });

  it("runs a job again once a dead worker's lease expires", async () => {
    const name = jobName('orphan');
    const { id } = await queue.enqueue(t.db, name, { n: 1 });
    // A worker claims it and dies: nobody renews or completes the lease.
    const [claimed] = await claimJobs(t.db, 'dead-worker', new Map([[name, 5]]), 1, 300);
    expect(claimed).toMatchObject({ id, attempts: 1, max_attempts: 5 });
    const attempts: number[] = [];
    testRunner(
      t.db,
      queue,
      [
        defineJob<TestJobs>({
          name,
          handler: async (_p, { job }) => void attempts.push(job.attempt),
        }),
      ],
      { leaseMs: 600 },
    );
    await eventually(async () => ((await jobRow(id)) === undefined ? true : undefined));
    expect(attempts).toEqual([2]);
  });

  it('renews leases of long runs, and stops a run whose lease was taken over', async () => {
    const long = jobName('long');
    const stolen = jobName('stolen');
    let aborted: string | undefined;
    const runner = testRunner(
      t.db,
      queue,
      [
        defineJob<TestJobs>({ name: long, handler: () => sleep(1_500) }),
        defineJob<TestJobs>({
          name: stolen,
          handler: async (_p, { signal }) => {
            await new Promise<void>((resolve) =>
              signal.addEventListener('abort', () => {
                aborted = (signal.reason as Error).message;
                resolve();
              }),
            );
          },
        }),
      ],
      { leaseMs: 600 },
    );
    const longJob = await queue.enqueue(t.db, long, { n: 1 });
    const stolenJob = await queue.enqueue(t.db, stolen, { n: 1 });
    await eventually(async () =>
      (await jobRow(stolenJob.id))?.state === 'running' ? true : undefined,
    );
    await t.db
      .updateTable('job')
      .set({ locked_by: 'another-worker', locked_until: sql`now() + interval '1 hour'` })
      .where('id', '=', stolenJob.id)
      .execute();
    await eventually(() => aborted, 3_000, 'the abort');
    expect(aborted).toBe('the job lost its lease');
    // 1.5 s is longer than the 0.6 s lease: only heartbeats kept it ours.
    await eventually(async () => ((await jobRow(longJob.id)) === undefined ? true : undefined));
    await eventually(() => (runner.stats.lost === 1 ? true : undefined));
    expect(runner.stats).toMatchObject({ completed: 1, lost: 1 });
    expect(await jobRow(stolenJob.id)).toMatchObject({
      state: 'running',
      locked_by: 'another-worker',
    });
    await t.db.deleteFrom('job').where('id', '=', stolenJob.id).execute();
  });

  it('shuts down gracefully: finishes short runs, gives long ones back', async () => {
    const quick = jobName('quick');
    const stuck = jobName('stuck');
    const runner = testRunner(t.db, queue, [
      defineJob<TestJobs>({ name: quick, handler: () => sleep(100) }),
      defineJob<TestJobs>({
        name: stuck,
        handler: (_p, { signal }) =>
          new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
      }),
    ]);
    const a = await queue.enqueue(t.db, quick, { n: 1 });
    const b = await queue.enqueue(t.db, stuck, { n: 1 });
    await eventually(() => (runner.running === 2 ? true : undefined));
    expect(await runner.stop(400)).toEqual({ finished: 1, released: 1 });
    expect(await jobRow(a.id)).toBeUndefined();
    expect(await jobRow(b.id)).toMatchObject({ state: 'pending', attempts: 0, locked_by: null });
    await t.db.deleteFrom('job').where('id', '=', b.id).execute();
  });

  it('retries its own statements through transient database errors, without running a job twice', async () => {
    const name = jobName('blip');
    const failures = { claim: 1, complete: 2 };
    const injected: string[] = [];
    // Fails the runner's first claim and first two completions as a dropped
    // connection or a restarting server would.
    const blips: KyselyPlugin = {
      transformQuery({ node }) {
        const text =
          node.kind === 'RawNode'
            ? (node as unknown as { sqlFragments: string[] }).sqlFragments.join('?')
            : '';
        const which = text.includes('with next')
          ? 'claim'
          : text.includes('delete from job')
            ? 'complete'
            : undefined;
        if (which !== undefined && failures[which] > 0) {
          failures[which] -= 1;
          injected.push(which);
          throw Object.assign(
            new Error(
              which === 'claim'
                ? 'terminating connection due to administrator command'
                : 'Connection terminated unexpectedly',
            ),
            {
              code: which === 'claim' ? '57P01' : undefined,
            },
          );
        }
        return node as RootOperationNode;
      },
      transformResult: async ({ result }) => result,
    };
    const runs: number[] = [];
    const runner = testRunner(
      t.db.withPlugin(blips),
      queue,
      [defineJob<TestJobs>({ name, handler: async ({ n }) => void runs.push(n) })],
      { pollMs: 10 },
    );
    const { id } = await queue.enqueue(t.db, name, { n: 1 });
    await eventually(async () => ((await jobRow(id)) === undefined ? true : undefined));
    expect(injected).toEqual(['claim', 'complete', 'complete']);
    expect(runs).toEqual([1]);
    expect(runner.stats).toMatchObject({ completed: 1, lost: 0 });
  });
});
