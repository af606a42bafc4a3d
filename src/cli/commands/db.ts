import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import {
  describeDatabase,
  embeddedOwner,
  migrateToLatest,
  migrationStatus,
  openDatabase,
} from '../../store/index.js';
import type { MigrationStatus } from '../../store/index.js';

export function registerDb(program: Command): void {
  const db = program
    .command('db')
    .description('Database maintenance: the embedded database in TAKEDOWN_DATA, or DATABASE_URL.');
  db.command('migrate')
    .description('Apply pending migrations (the server also does this when it starts).')
    .action(migrate);
  db.command('status')
    .description(
      'Show which migrations are applied and which are pending, without changing anything.',
    )
    .option('--json', 'print the status as JSON')
    .action(status);
}

async function migrate(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const db = await openDatabase(config, { logger, migrate: false });
  try {
    const applied = await migrateToLatest(db, logger);
    const all = await migrationStatus(db);
    process.stdout.write(
      applied.length === 0
        ? `The database is up to date (${all.applied.length} migrations applied).\n`
        : applied.map((name) => `applied ${name}\n`).join(''),
    );
  } finally {
    await db.destroy();
  }
}

async function status(flags: { json?: boolean }): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const db = await openDatabase(config, { logger, migrate: false });
  let result: MigrationStatus;
  try {
    result = await migrationStatus(db);
  } finally {
    await db.destroy();
  }
  const owner = config.databaseUrl === undefined ? await embeddedOwner(config.dataDir) : undefined;
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ database: describeDatabase(config), ...result }, null, 2)}\n`,
    );
    return;
  }
  const lines = [
    `Database: ${describeDatabase(config)}`,
    ...(owner !== undefined && owner.pid !== process.pid
      ? [`Open in process ${owner.pid} (${owner.command}); reached through it.`]
      : []),
    `Migrations: ${result.applied.length} applied, ${result.pending.length} pending${result.unknown.length > 0 ? `, ${result.unknown.length} unknown to this version` : ''}`,
    ...result.applied.map((m) => `  applied  ${m.name}  ${m.executedAt.toISOString()}`),
    ...result.pending.map((name) => `  pending  ${name}`),
    ...result.unknown.map((name) => `  unknown  ${name} (applied by a newer version of Takedown)`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
