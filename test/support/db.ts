import { PGlite } from '@electric-sql/pglite';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { Database } from '../../src/store/database.js';
import { openInProcess } from '../../src/store/pglite/in-process.js';
import { SessionLock } from '../../src/store/pglite/session-lock.js';
import { createPool, kyselyOverPool } from '../../src/store/postgres.js';
import { TEMPLATE_DATABASE } from './db-state.js';
import type { DatabaseState } from './db-state.js';

/**
 * Database tests run the same cases on PGlite and on a real PostgreSQL
 * server. Each test file gets its own database of each kind, cloned from a
 * template migrated once per run (db-global-setup.ts), and a file that leaves
 * a connection or transaction open fails.
 *
 *   describeEachDatabase('settings', (t) => {
 *     it('round-trips', async () => {
 *       await writeSetting(t.db, 'k', 1);
 *       expect(await readSetting(t.db, 'k')).toBe(1);
 *     });
 *   });
 *
 * Tests within a file share its database: use distinct keys, or clean up.
 */

export type DatabaseKind = 'pglite' | 'postgres';
export const DATABASE_KINDS: readonly DatabaseKind[] = ['pglite', 'postgres'];

export interface TestDatabase {
  readonly kind: DatabaseKind;
  /** This file's database, migrated. Use inside tests and hooks. */
  readonly db: Kysely<Database>;
  /** PostgreSQL only: the URL of this file's database, e.g. for a child process's DATABASE_URL. */
  readonly url: string | undefined;
}

export interface OpenedTestDatabase extends TestDatabase {
  /** Closes the database; throws if a connection or transaction was left open. */
  close(): Promise<void>;
}

const run = promisify(execFile);
const logger = createLogger(process.env.TAKEDOWN_TEST_LOG ?? 'error', 'test');

/** Why the PostgreSQL half is skipped, or undefined when it runs. */
export function postgresSkipReason(): string | undefined {
  return process.env.TAKEDOWN_TEST_POSTGRES === 'skip'
    ? 'TAKEDOWN_TEST_POSTGRES=skip is set'
    : undefined;
}

export function describeEachDatabase(
  name: string,
  body: (t: TestDatabase) => void,
  options: { kinds?: readonly DatabaseKind[] } = {},
): void {
  for (const kind of options.kinds ?? DATABASE_KINDS) {
    const skipped = kind === 'postgres' ? postgresSkipReason() : undefined;
    if (skipped !== undefined) {
      describe.skip(`${name} [${kind}] (skipped: ${skipped})`, () => body(notOpen(kind)));
      continue;
    }
    describe(`${name} [${kind}]`, () => {
      let opened: OpenedTestDatabase | undefined;
      beforeAll(async () => {
        opened = await openTestDatabase(kind);
      });
      afterAll(async () => {
        await opened?.close();
      });
      body({
        kind,
        get db() {
          if (opened === undefined)
            throw new Error('t.db is available inside tests and hooks only');
          return opened.db;
        },
        get url() {
          return opened?.url;
        },
      });
    });
  }
}

function notOpen(kind: DatabaseKind): TestDatabase {
  return {
    kind,
    get db(): Kysely<Database> {
      throw new Error(`the ${kind} database is skipped`);
    },
    url: undefined,
  };
}

/** A fresh migrated database of `kind` for this file; for tests that need more control than describeEachDatabase. */
export async function openTestDatabase(kind: DatabaseKind): Promise<OpenedTestDatabase> {
  return kind === 'pglite' ? openTestPglite() : openTestPostgres(TEMPLATE_DATABASE);
}

/** An empty PostgreSQL database (no migrations applied), e.g. to test migrating. */
export function openEmptyPostgresDatabase(): Promise<OpenedTestDatabase> {
  return openTestPostgres('template0');
}

async function readyState(kind: DatabaseKind): Promise<DatabaseState & { status: 'ready' }> {
  const file = path.join(inject('takedownDbStateDir'), `${kind}.json`);
  const deadline = Date.now() + 180_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline)
      throw new Error(`the ${kind} test template was not ready after 180 s`);
    await sleep(50);
  }
  const state = JSON.parse(await fs.readFile(file, 'utf8')) as DatabaseState;
  if (state.status !== 'ready') throw new Error(state.reason);
  return state;
}

async function openTestPglite(): Promise<OpenedTestDatabase> {
  const { tarball } = await readyState('pglite');
  const pglite = await PGlite.create({
    loadDataDir: new Blob([await fs.readFile(tarball as string)]),
  });
  const lock = new SessionLock();
  const { db } = openInProcess(pglite, lock, { logger, afterClose: () => pglite.close() });
  return {
    kind: 'pglite',
    db,
    url: undefined,
    async close() {
      if (lock.holder !== undefined || lock.waiting > 0) {
        await pglite.close().catch(() => undefined);
        throw new Error(
          `a PGlite connection was left open (held by ${lock.holder}, ${lock.waiting} waiting): a transaction or connection was never finished`,
        );
      }
      await db.destroy();
    },
  };
}

/**
 * Puts a migrated embedded database into `<dataDir>/pglite`, as a first start
 * would, in a fraction of the time (PGlite's initdb takes seconds): for tests
 * of processes that share a data folder.
 */
export async function seedDataDir(dataDir: string): Promise<void> {
  const { tarball } = await readyState('pglite');
  const target = path.join(dataDir, 'pglite');
  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  await run('tar', ['-xf', tarball as string, '-C', target]);
}

let counter = 0;

async function openTestPostgres(template: string): Promise<OpenedTestDatabase> {
  const { port } = await readyState('postgres');
  const name = `test_${process.pid}_${(counter += 1)}`;
  const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const admin = new pg.Client({ connectionString: url('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  const pool = createPool({ connectionString: url(name), max: 10 }, logger);
  const db = kyselyOverPool(pool, logger);
  return {
    kind: 'postgres',
    db,
    url: url(name),
    async close() {
      try {
        const inUse = pool.totalCount - pool.idleCount;
        if (inUse > 0 || pool.waitingCount > 0) {
          // DROP … WITH (FORCE) below ends the leaked sessions; their clients
          // would report that as uncaught errors and bury the real failure.
          for (const client of (pool as unknown as { _clients: pg.PoolClient[] })._clients) {
            client.on('error', () => undefined);
          }
          void pool.end().catch(() => undefined);
          throw new Error(
            `${inUse} PostgreSQL connection(s) were never released (and ${pool.waitingCount} waiting)`,
          );
        }
        await db.destroy();
        const others = await sessionsOn(admin, name);
        if (others > 0)
          throw new Error(`${others} connection(s) to the test database are still open`);
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      }
    },
  };
}

/** Sessions connected to `name`; a closing backend may linger for a moment. */
async function sessionsOn(admin: pg.Client, name: string): Promise<number> {
  let count = 0;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const result = await admin.query<{ n: string }>(
      'select count(*) as n from pg_stat_activity where datname = $1',
      [name],
    );
    count = Number(result.rows[0].n);
    if (count === 0) return 0;
    await sleep(50);
  }
  return count;
}
