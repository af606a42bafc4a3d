import type { JobTables } from '../jobs/tables.js';
import type { SettingTables } from './settings.js';

/**
 * Every table in the database, by name, as Kysely sees it.
 *
 * A feature declares its own tables beside its code (`src/<feature>/tables.ts`
 * exporting e.g. `interface BankTables { bank: BankTable; bank_entry: ... }`),
 * creates them in a migration (`src/store/migrations/`), and adds them here
 * with one `&`. Column names are the SQL names (snake_case): no renaming
 * plugin, so raw SQL and typed queries read the same.
 */
export type Database = SettingTables & JobTables;
