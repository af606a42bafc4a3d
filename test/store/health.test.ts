import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import {
  checkDatabase,
  migrateToLatest,
  migrationStatus,
  openDatabase,
} from '../../src/store/index.js';
import { MIGRATION_TABLE } from '../../src/store/migrate.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { connectPostgres } from '../../src/store/postgres.js';
import {
  describeEachDatabase,
  openEmptyPostgresDatabase,
  postgresSkipReason,
} from '../support/db.js';
import { freePort } from '../support/processes.js';

const logger = createLogger('silent');

describeEachDatabase('database health', (t) => {
  it('is not ready while a migration is pending, and says which', async () => {
    await t.db
      .deleteFrom(MIGRATION_TABLE as never)
      .where('name' as never, '=', '0001-settings' as never)
      .execute();
    try {
      expect(await checkDatabase(t.db)).toEqual({
        ok: false,
        reason: 'migrations pending: 0001-settings',
      });
      expect((await migrationStatus(t.db)).pending).toEqual(['0001-settings']);
    } finally {
      await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values ('0001-settings', ${new Date().toISOString()})`.execute(
        t.db,
      );
    }
    expect(await checkDatabase(t.db)).toEqual({ ok: true });
  });

  it('refuses to run on a database migrated by a newer version', async () => {
    await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values ('9999-future', ${new Date().toISOString()})`.execute(
      t.db,
    );
    try {
      expect(await checkDatabase(t.db)).toEqual({
        ok: false,
        reason: 'migrated by a newer version: 9999-future',
      });
      expect((await migrationStatus(t.db)).unknown).toEqual(['9999-future']);
      await expect(migrateToLatest(t.db)).rejects.toMatchObject({
        code: 'database-newer-than-code',
        kind: 'unavailable',
      });
    } finally {
      await sql`delete from ${sql.table(MIGRATION_TABLE)} where name = '9999-future'`.execute(t.db);
    }
  });
});

describe('migrating a PostgreSQL database', () => {
  it('applies each migration once when several processes start at once', async ({ skip }) => {
    if (postgresSkipReason()) return skip(postgresSkipReason());
    const empty = await openEmptyPostgresDatabase();
    const servers = Array.from({ length: 4 }, () =>
      connectPostgres({ connectionString: empty.url, max: 2 }, logger),
    );
    try {
      const applied = await Promise.all(servers.map((db) => migrateToLatest(db)));
      expect(applied.flat()).toEqual(Object.keys(MIGRATIONS));
      expect(await checkDatabase(empty.db)).toEqual({ ok: true });
    } finally {
      await Promise.all(servers.map((db) => db.destroy()));
      await empty.close();
    }
  });
});

describe('opening a PostgreSQL server', () => {
  it('names the server it cannot reach, without the password', async ({ skip }) => {
    if (postgresSkipReason()) skip(postgresSkipReason());
    const port = await freePort();
    const error = await openDatabase(
      {
        dataDir: '/nonexistent',
        databaseUrl: `postgres://u:hunter2@127.0.0.1:${port}/takedown`,
        dbPoolSize: 1,
        shutdownGraceMs: 0,
      },
      { logger },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'database-unavailable', kind: 'unavailable' });
    expect((error as Error).message).toContain(
      `PostgreSQL at 127.0.0.1:${port}/takedown (DATABASE_URL)`,
    );
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('a database that cannot be reached', () => {
  it('is reported as not ready rather than throwing', async () => {
    const port = await freePort();
    const unreachable = connectPostgres(
      { connectionString: `postgres://x@127.0.0.1:${port}/x`, max: 1 },
      logger,
    );
    const result = await checkDatabase(unreachable);
    await unreachable.destroy();
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ reason: expect.stringMatching(/^unreachable: .*ECONNREFUSED/) });
  });
});
