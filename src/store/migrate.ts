import { Migrator } from 'kysely';
import type { Kysely, MigrationProvider, MigrationResultSet, Migration } from 'kysely';
import { TakedownError } from '../errors.js';
import type { Logger } from '../log.js';
import { MIGRATIONS } from './migrations/index.js';

/** Kysely's bookkeeping tables, named after us so they sort with our own. */
export const MIGRATION_TABLE = 'takedown_migration';
const MIGRATION_LOCK_TABLE = 'takedown_migration_lock';

export interface MigrationStatus {
  /** Known migrations already applied, oldest first, with when. */
  readonly applied: ReadonlyArray<{ readonly name: string; readonly executedAt: Date }>;
  /** Known migrations not yet applied. */
  readonly pending: readonly string[];
  /** Applied migrations this version does not know: the database is newer than the code. */
  readonly unknown: readonly string[];
}

function staticProvider(migrations: Readonly<Record<string, Migration>>): MigrationProvider {
  return { getMigrations: () => Promise.resolve({ ...migrations }) };
}

// The migrator only needs the database, not its table types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>;

function migratorFor(db: AnyKysely, migrations: Readonly<Record<string, Migration>>): Migrator {
  return new Migrator({
    db,
    provider: staticProvider(migrations),
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

/**
 * Applies every pending migration in one transaction. Safe when several
 * processes start at once against one PostgreSQL: Kysely's migrator holds a
 * transaction-scoped advisory lock, so the others wait and then find nothing
 * left to do. Returns the names applied (empty when up to date).
 */
export async function migrateToLatest(
  db: AnyKysely,
  logger?: Logger,
  migrations: Readonly<Record<string, Migration>> = MIGRATIONS,
): Promise<string[]> {
  const resultSet: MigrationResultSet = await migratorFor(db, migrations).migrateToLatest();
  const applied: string[] = [];
  for (const result of resultSet.results ?? []) {
    if (result.status === 'Success') {
      applied.push(result.migrationName);
      logger?.info({ migration: result.migrationName }, 'applied migration');
    } else if (result.status === 'Error') {
      logger?.error({ migration: result.migrationName }, 'migration failed');
    }
  }
  if (resultSet.error !== undefined) throw migrationError(resultSet.error);
  return applied;
}

function migrationError(error: unknown): TakedownError {
  const reason = error instanceof Error ? error.message : String(error);
  // Kysely's wording for "the database has a migration this code lacks".
  if (/corrupted migrations: previously executed migration .* is missing/i.test(reason)) {
    return new TakedownError(
      'database-newer-than-code',
      `The database was migrated by a newer version of Takedown (${reason.replace(/^.*migration /i, 'migration ')}); run that version or newer.`,
      { kind: 'unavailable', cause: error },
    );
  }
  return new TakedownError('migration-failed', `Migrating the database failed: ${reason}`, {
    kind: 'internal',
    cause: error,
  });
}

/** Which migrations are applied, pending and unknown; reads only. */
export async function migrationStatus(
  db: AnyKysely,
  migrations: Readonly<Record<string, Migration>> = MIGRATIONS,
): Promise<MigrationStatus> {
  const executed = await executedMigrations(db);
  const byName = new Map(executed.map((row) => [row.name, row.timestamp]));
  const names = Object.keys(migrations).sort();
  return {
    applied: names
      .filter((name) => byName.has(name))
      .map((name) => ({ name, executedAt: new Date(byName.get(name) as string) })),
    pending: names.filter((name) => !byName.has(name)),
    unknown: executed.map((row) => row.name).filter((name) => !(name in migrations)),
  };
}

/**
 * The migration table's rows; none when it does not exist yet. Reads the
 * table directly (one cheap query) because /readyz calls this on every probe.
 */
async function executedMigrations(
  db: AnyKysely,
): Promise<Array<{ name: string; timestamp: string }>> {
  const exists = await db
    .selectNoFrom((eb) => eb.fn<string | null>('to_regclass', [eb.val(MIGRATION_TABLE)]).as('t'))
    .executeTakeFirstOrThrow();
  if (exists.t === null) return [];
  return (await db
    .selectFrom(MIGRATION_TABLE)
    .select(['name', 'timestamp'])
    .orderBy('name')
    .execute()) as Array<{ name: string; timestamp: string }>;
}
