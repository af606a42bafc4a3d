import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  checkDatabase,
  migrateToLatest,
  migrationStatus,
  readSetting,
  writeSetting,
} from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { describeEachDatabase } from '../support/db.js';

/**
 * The contract every database we run on keeps: same values, same errors,
 * same transaction behaviour. Features rely on exactly these.
 */
describeEachDatabase('database contract', (t) => {
  it('is migrated: every migration applied, none unknown', async () => {
    const status = await migrationStatus(t.db);
    expect(status.applied.map((m) => m.name)).toEqual(Object.keys(MIGRATIONS).sort());
    expect(status.pending).toEqual([]);
    expect(status.unknown).toEqual([]);
    expect(await checkDatabase(t.db)).toEqual({ ok: true });
    expect(await migrateToLatest(t.db)).toEqual([]);
  });

  it('returns the same JavaScript values for each column type', async () => {
    const { rows } = await sql<Record<string, unknown>>`
      select 42::int4 as int4, 9007199254740991::int8 as int8, count(*) as count,
             2.50::numeric as numeric, 1.5::float8 as float8, true as bool,
             'x'::text as text, null::text as nothing,
             '2024-02-29'::date as date,
             '2024-02-29T12:34:56.789Z'::timestamptz as timestamptz,
             '{"a":[1,"b",null]}'::jsonb as jsonb,
             '\\x00ff10'::bytea as bytea,
             array['a','b']::text[] as texts, array[1,2]::int8[] as int8s,
             '5b2a3c1e-0000-4000-8000-000000000000'::uuid as uuid
      from (values (1), (2)) as v(x)`.execute(t.db);
    const row = rows[0];
    expect(row).toMatchObject({
      int4: 42,
      int8: 9007199254740991,
      count: 2,
      numeric: '2.50',
      float8: 1.5,
      bool: true,
      text: 'x',
      nothing: null,
      date: '2024-02-29',
      jsonb: { a: [1, 'b', null] },
      texts: ['a', 'b'],
      int8s: [1, 2],
      uuid: '5b2a3c1e-0000-4000-8000-000000000000',
    });
    expect(row.timestamptz).toEqual(new Date('2024-02-29T12:34:56.789Z'));
    expect(Buffer.from(row.bytea as Uint8Array).toString('hex')).toBe('00ff10');
  });

  it('refuses a bigint that a JavaScript number cannot hold, instead of rounding it', async () => {
    await expect(sql`select 9007199254740993::int8 as big`.execute(t.db)).rejects.toThrow(
      /does not fit/,
    );
    const { rows } = await sql<{ big: string }>`select 9007199254740993::int8::text as big`.execute(
      t.db,
    );
    expect(rows[0].big).toBe('9007199254740993');
    // The connection is still usable afterwards.
    expect((await sql<{ one: number }>`select 1 as one`.execute(t.db)).rows[0].one).toBe(1);
  });

  it('reports constraint violations with the PostgreSQL error code', async () => {
    await writeSetting(t.db, 'contract-unique', 1);
    const error = await t.db
      .insertInto('setting')
      .values({ key: 'contract-unique', value: '2' })
      .execute()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '23505', constraint: 'setting_pkey' });
  });

  it('commits a transaction as a whole and rolls it back as a whole', async () => {
    await t.db.transaction().execute(async (trx) => {
      await writeSetting(trx, 'tx-a', 1);
      await writeSetting(trx, 'tx-b', 2);
    });
    expect([await readSetting(t.db, 'tx-a'), await readSetting(t.db, 'tx-b')]).toEqual([1, 2]);
    await expect(
      t.db.transaction().execute(async (trx) => {
        await writeSetting(trx, 'tx-c', 3);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await readSetting(t.db, 'tx-c')).toBeUndefined();
  });

  it('keeps a failed statement inside a transaction from committing the rest', async () => {
    await expect(
      t.db.transaction().execute(async (trx) => {
        await writeSetting(trx, 'tx-d', 4);
        await sql`select 1/0`.execute(trx);
      }),
    ).rejects.toMatchObject({ code: '22012' });
    expect(await readSetting(t.db, 'tx-d')).toBeUndefined();
  });

  it('runs concurrent transactions without losing an increment', async () => {
    await writeSetting(t.db, 'counter', 0);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        t.db.transaction().execute(async (trx) => {
          const row = await trx
            .selectFrom('setting')
            .select('value')
            .where('key', '=', 'counter')
            .forUpdate()
            .executeTakeFirstOrThrow();
          await writeSetting(trx, 'counter', (row.value as number) + 1);
        }),
      ),
    );
    expect(await readSetting(t.db, 'counter')).toBe(20);
  });

  it('lets concurrent claimers take distinct rows with SKIP LOCKED (the job queue pattern)', async () => {
    await t.db
      .insertInto('setting')
      .values(Array.from({ length: 10 }, (_, i) => ({ key: `job-${i}`, value: '"todo"' })))
      .execute();
    const claimed = await Promise.all(
      Array.from({ length: 5 }, () =>
        t.db.transaction().execute(async (trx) => {
          const rows = await trx
            .selectFrom('setting')
            .select('key')
            .where('key', 'like', 'job-%')
            .where('value', '=', sql<unknown>`'"todo"'::jsonb`)
            .orderBy('key')
            .limit(2)
            .forUpdate()
            .skipLocked()
            .execute();
          await trx
            .updateTable('setting')
            .set({ value: '"done"' })
            .where(
              'key',
              'in',
              rows.map((r) => r.key),
            )
            .execute();
          return rows.map((r) => r.key);
        }),
      ),
    );
    const all = claimed.flat().sort();
    expect(all).toHaveLength(10);
    expect(new Set(all).size).toBe(10);
  });

  it('stores settings as JSON, arrays included', async () => {
    await writeSetting(t.db, 'list', ['a', 1]);
    await writeSetting(t.db, 'list', ['b', 2]);
    expect(await readSetting(t.db, 'list')).toEqual(['b', 2]);
    expect(await readSetting(t.db, 'never-set')).toBeUndefined();
  });
});

describe('migrations', () => {
  it('are listed in order, each with an up function', () => {
    const names = Object.keys(MIGRATIONS);
    expect(names).toEqual([...names].sort());
    for (const name of names) {
      expect(name).toMatch(/^\d{4}-[a-z0-9-]+$/);
      expect(typeof MIGRATIONS[name].up).toBe('function');
    }
  });
});
