/** The database layer: open it, its schema type, migrations, health. */
export type { Database } from './database.js';
export { openDatabase, describeDatabase } from './open.js';
export type { DatabaseConfig, OpenDatabaseOptions } from './open.js';
export { migrateToLatest, migrationStatus, MIGRATION_TABLE } from './migrate.js';
export type { MigrationStatus } from './migrate.js';
export { checkDatabase } from './health.js';
export type { DatabaseHealth } from './health.js';
export { readSetting, writeSetting } from './settings.js';
export { embeddedOwner } from './pglite/embedded.js';
