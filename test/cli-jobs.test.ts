import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue } from '../src/jobs/index.js';
import { openDatabase } from '../src/store/index.js';
import { seedDataDir } from './support/db.js';
import { testLogger } from './support/jobs.js';
import { CLI, requireBuild, run } from './support/processes.js';
import { makeTempDir } from './support/temp.js';

/** `takedown jobs list|counts|retry` against an embedded data folder. */
describe('takedown jobs', () => {
  let dataDir: string;
  let deadId: number;
  const env = () => ({ TAKEDOWN_DATA: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' });

  beforeAll(async () => {
    requireBuild('src/cli/commands/jobs.ts', 'src/jobs/admin.ts');
    dataDir = await makeTempDir('takedown-cli-jobs-');
    await seedDataDir(dataDir);
    const config = { dataDir, databaseUrl: undefined, dbPoolSize: 1, shutdownGraceMs: 1_000 };
    const db = await openDatabase(config, { logger: testLogger });
    try {
      const queue = createJobQueue<Record<string, { n: number }>>();
      deadId = (await queue.enqueue(db, 'fetch-item', { n: 1 }, { key: 'item:1' })).id;
      await queue.enqueue(db, 'fetch-item', { n: 2 });
      await queue.enqueue(db, 'hash-item', { n: 3 }, { delayMs: 3_600_000 });
      await db
        .updateTable('job')
        .set({
          state: 'dead',
          attempts: 10,
          max_attempts: 10,
          last_error: 'Error: host unreachable',
        })
        .where('id', '=', deadId)
        .execute();
    } finally {
      await db.destroy();
    }
  });
  afterAll(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('lists dead jobs with their last error', async () => {
    const result = await run(CLI, ['jobs', 'list'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`#${deadId} fetch-item dead, attempt 10 of 10, key item:1`);
    expect(result.stdout).toContain('last error: Error: host unreachable');
  });

  it('counts jobs by name and state', async () => {
    const result = await run(CLI, ['jobs', 'counts'], env());
    expect(result.stdout).toBe(
      'fetch-item: 1 (1 due) pending, 0 running, 1 dead\nhash-item: 1 (0 due) pending, 0 running, 0 dead\n',
    );
  });

  it('retries a dead job, and says why it did not retry others', async () => {
    const result = await run(CLI, ['jobs', 'retry', String(deadId), '999999'], env());
    expect(result.stdout).toBe(
      `#${deadId}: queued again, due now.\n#999999: no such job (finished jobs are deleted).\n`,
    );
    expect(result.code).toBe(1);
    const bad = await run(CLI, ['jobs', 'list', '--state', 'gone'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--state must be one of dead, pending, running, all.');
  });
});
