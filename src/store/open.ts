import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { TakedownError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Database } from './database.js';
import { migrateToLatest } from './migrate.js';
import { embeddedPaths, openEmbedded } from './pglite/embedded.js';
import type { OwnerRole } from './pglite/owner-lock.js';
import { connectPostgres, describePostgresUrl } from './postgres.js';

export type DatabaseConfig = Pick<
  Config,
  'dataDir' | 'databaseUrl' | 'dbPoolSize' | 'shutdownGraceMs'
>;

export interface OpenDatabaseOptions {
  readonly logger: Logger;
  /**
   * Only matters for the embedded database. 'server' (`takedown serve`) owns
   * the data folder, waiting for a command that has it open to finish. A
   * 'command' (the default) opens the folder when nobody has it, and
   * otherwise goes through the process that has.
   */
  readonly role?: OwnerRole;
  /** Apply pending migrations first (default true; `takedown db status` looks without changing). */
  readonly migrate?: boolean;
  /** What this process runs, shown to others that wait for it (default: its command line). */
  readonly command?: string;
  /** Stops waiting for the embedded data folder (a server told to stop while it waits). */
  readonly signal?: AbortSignal;
}

/**
 * The database: PostgreSQL when DATABASE_URL is set, else the embedded
 * PGlite in `<TAKEDOWN_DATA>/pglite`, created and migrated on first use.
 * `await db.destroy()` when done: it closes the pool, and for the embedded
 * database's owner, lets connected commands finish, flushes and closes it.
 *
 * Inside `db.transaction().execute(async (trx) => ...)` use `trx`, never `db`:
 * the embedded database has one connection, so a query on `db` there waits
 * for the transaction that waits for it.
 */
export async function openDatabase(
  config: DatabaseConfig,
  options: OpenDatabaseOptions,
): Promise<Kysely<Database>> {
  const migrate = options.migrate ?? true;
  if (config.databaseUrl !== undefined) {
    return openPostgres(config.databaseUrl, config.dbPoolSize, options.logger, migrate);
  }
  return openEmbedded({
    dataDir: config.dataDir,
    logger: options.logger,
    role: options.role ?? 'command',
    command: options.command ?? currentCommand(),
    migrate,
    shutdownGraceMs: config.shutdownGraceMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

async function openPostgres(
  url: string,
  poolSize: number,
  logger: Logger,
  migrate: boolean,
): Promise<Kysely<Database>> {
  const db = connectPostgres(
    { connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 },
    logger,
  );
  try {
    await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
  } catch (error) {
    await db.destroy();
    throw new TakedownError(
      'database-unavailable',
      `Cannot reach ${describePostgresUrl(url)} (DATABASE_URL): ${error instanceof Error ? error.message : String(error)}.`,
      { kind: 'unavailable', cause: error },
    );
  }
  try {
    if (migrate) await migrateToLatest(db, logger);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  logger.debug({ database: describePostgresUrl(url) }, 'connected to the database');
  return db;
}

/** Where the data lives, in words, for start-up messages; never includes a password. */
export function describeDatabase(config: Pick<Config, 'dataDir' | 'databaseUrl'>): string {
  return config.databaseUrl === undefined
    ? `embedded PostgreSQL (PGlite) in ${embeddedPaths(config.dataDir).database}`
    : describePostgresUrl(config.databaseUrl);
}

function currentCommand(): string {
  const args = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  return ['takedown', ...args.slice(0, 3)].join(' ');
}
