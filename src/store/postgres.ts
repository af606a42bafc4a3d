import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../log.js';
import type { Database } from './database.js';
import { PG_TYPES } from './pg-types.js';
import { kyselyLog } from './query-log.js';

/**
 * Kysely over one `pg.Pool`: a PostgreSQL server (DATABASE_URL), or the
 * embedded database through its owner's socket.
 */
export function connectPostgres(config: pg.PoolConfig, logger: Logger): Kysely<Database> {
  return kyselyOverPool(createPool(config, logger), logger);
}

/** A pool with our type parsers. */
export function createPool(config: pg.PoolConfig, logger: Logger): pg.Pool {
  const pool = new pg.Pool({ ...config, types: PG_TYPES });
  // An idle connection that breaks (server restart) must not crash the process;
  // the pool replaces it and the next query reports any lasting problem.
  pool.on('error', (error) => logger.warn({ err: error }, 'database connection lost'));
  // The pool listens only to idle clients. A client checked out between two
  // statements (inside a transaction, while a job hashes) that loses its
  // connection emits 'error' with nobody listening, which would crash the
  // process with an uncaught exception. The statement in progress or the
  // next one fails with the error anyway, and the pool drops the broken
  // client when it is released (test/pipeline/database-gone.test.ts).
  pool.on('connect', (client) =>
    client.on('error', (error) =>
      logger.debug({ err: error }, 'database connection lost while in use'),
    ),
  );
  return pool;
}

export function kyselyOverPool(pool: pg.Pool, logger: Logger): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: kyselyLog(logger) });
}

/** Where a DATABASE_URL points, without its password, for messages. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const database = parsed.pathname.replace(/^\//, '') || parsed.username || 'postgres';
    return `PostgreSQL at ${parsed.hostname || 'localhost'}:${parsed.port || '5432'}/${database}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}
