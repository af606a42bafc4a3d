import type { Kysely } from 'kysely';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/jobs/index.js';
import { openDatabase } from '../../src/store/index.js';
import type { Database } from '../../src/store/database.js';
import { openTestDatabase, postgresSkipReason, seedDataDir } from '../support/db.js';
import type { DatabaseKind } from '../support/db.js';
import { performEffect } from '../support/job-effect.mjs';
import {
  eventually,
  jobName,
  stopRunnersAfterEach,
  testLogger,
  testQueue,
  testRunner,
} from '../support/jobs.js';
import type { TestJobs } from '../support/jobs.js';
import { ROOT, requireBuild, start } from '../support/processes.js';
import type { Child } from '../support/processes.js';
import { makeTempDir } from '../support/temp.js';

/**
 * A worker process is killed with SIGKILL in the middle of a job, after the
 * job's effect and before its completion. The job must run again once the
 * lease expires, and the idempotent effect must exist exactly once.
 */
const WORKER = path.join(ROOT, 'test/support/job-worker-process.mjs');
const LEASE_MS = 1_000;

beforeAll(() => requireBuild('src/jobs/runner.ts', 'src/jobs/queries.ts', 'src/jobs/index.ts'));

interface Setup {
  readonly db: Kysely<Database>;
  /** The worker process's environment: how it reaches the same database. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/** PostgreSQL: the worker connects to this file's database. */
async function postgresSetup(): Promise<Setup> {
  const opened = await openTestDatabase('postgres');
  return {
    db: opened.db,
    env: { DATABASE_URL: opened.url as string },
    close: () => opened.close(),
  };
}

/** PGlite: this process owns a data folder; the worker goes through it, as a second process does. */
async function pgliteSetup(): Promise<Setup> {
  const dataDir = await makeTempDir('takedown-jobs-kill-');
  await seedDataDir(dataDir);
  const db = await openDatabase(
    { dataDir, databaseUrl: undefined, dbPoolSize: 1, shutdownGraceMs: 2_000 },
    { logger: testLogger, role: 'server' },
  );
  return {
    db,
    env: { TAKEDOWN_DATA: dataDir, DATABASE_URL: '' },
    async close() {
      await db.destroy();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

const kinds: DatabaseKind[] =
  postgresSkipReason() === undefined ? ['pglite', 'postgres'] : ['pglite'];

describe.each(kinds)('a worker killed mid-job [%s]', (kind) => {
  stopRunnersAfterEach();
  let setup: Setup;
  const children: Child[] = [];
  beforeAll(async () => {
    setup = kind === 'postgres' ? await postgresSetup() : await pgliteSetup();
  });
  afterAll(async () => {
    for (const child of children)
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await setup?.close();
  });

  it('has its job run again after the lease, with exactly one effect', async () => {
    const { db } = setup;
    const name = jobName('kill');
    const n = Math.floor(Math.random() * 1e9);
    const queue = testQueue();
    const { id } = await queue.enqueue(db, name, { n });

    const child = start(WORKER, [name], {
      ...setup.env,
      TAKEDOWN_JOBS_LEASE_MS: String(LEASE_MS),
      LOG_LEVEL: 'warn',
    });
    children.push(child);
    await child.waitFor(new RegExp(`effect-done job ${id}`), 60_000);
    child.process.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    const killedAt = Date.now();

    const row = await db
      .selectFrom('job')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'running', attempts: 1 });
    expect(row.locked_by).toContain(`:${child.process.pid}:`);

    const survivorRuns: number[] = [];
    testRunner(db, queue, [
      defineJob<TestJobs>({
        name,
        handler: async (payload, helpers) => {
          survivorRuns.push(helpers.job.attempt);
          await performEffect(helpers.db, payload, helpers.job, 'survivor');
        },
      }),
    ]);
    await eventually(
      async () =>
        (await db.selectFrom('job').select('id').where('id', '=', id).executeTakeFirst()) ===
        undefined
          ? true
          : undefined,
      15_000,
      'the job to run again',
    );
    // Not before the dead worker's lease ran out.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(LEASE_MS - 300);
    expect(survivorRuns).toEqual([2]);
    const rows = await db
      .selectFrom('setting')
      .select(['key', 'value'])
      .where('key', 'like', `%:${n}%`)
      .orderBy('key')
      .execute();
    expect(rows).toEqual([
      { key: `effect:${n}`, value: { by: `pid ${child.process.pid}`, attempt: 1 } },
      { key: `run:${n}:1`, value: { by: `pid ${child.process.pid}`, attempt: 1 } },
      { key: `run:${n}:2`, value: { by: 'survivor', attempt: 2 } },
    ]);
  });
});
