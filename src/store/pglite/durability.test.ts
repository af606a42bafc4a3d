import { PGlite } from '@electric-sql/pglite';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDataDir } from '../../../test/support/db.js';
import { durableStartParams, enableFsync } from './durability.js';

/**
 * The embedded database must not acknowledge a commit before the disk has
 * it. Checks that the hook into PGlite still exists in the pinned version and
 * that every commit goes through it.
 */
describe('durable commits on the embedded database', () => {
  let dir: string;
  let pglite: PGlite;
  let syncs = 0;
  beforeAll(async () => {
    // On a real disk, not /dev/shm: this is about reaching one.
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'takedown-fsync-'));
    await seedDataDir(dir);
    pglite = await PGlite.create({
      dataDir: path.join(dir, 'pglite'),
      startParams: durableStartParams(),
    });
    expect(enableFsync(pglite, () => (syncs += 1))).toBe(true);
    await pglite.exec('create table t (id int primary key)');
  });
  afterAll(async () => {
    await pglite?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs PostgreSQL with fsync on, syncing the WAL with fsync()', async () => {
    const { rows } = await pglite.query<{ name: string; setting: string }>(
      "select name, setting from pg_settings where name in ('fsync', 'wal_sync_method') order by name",
    );
    expect(rows).toEqual([
      { name: 'fsync', setting: 'on' },
      { name: 'wal_sync_method', setting: 'fsync' },
    ]);
  });

  it('syncs once per committed transaction, and not for reads', async () => {
    let before = syncs;
    for (let i = 0; i < 5; i += 1) await pglite.query('insert into t values ($1)', [i]);
    expect(syncs - before).toBe(5);
    before = syncs;
    await pglite.query('select count(*) from t');
    expect(syncs - before).toBe(0);
    before = syncs;
    await pglite.transaction(async (tx) => {
      for (let i = 5; i < 50; i += 1) await tx.query('insert into t values ($1)', [i]);
    });
    expect(syncs - before).toBe(1);
  });

  it('syncs the data files at a checkpoint', async () => {
    const before = syncs;
    await pglite.exec('checkpoint');
    expect(syncs - before).toBeGreaterThan(1);
  });
});
