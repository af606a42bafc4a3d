import type { AuditTables } from '../audit/tables.js';
import type { UserTables } from '../users/tables.js';
import type { SettingTables } from './settings.js';
import type { JobTables } from '../jobs/tables.js';
import type { BankTables } from '../banks/tables.js';
import type { ChangeTables } from '../changes/tables.js';
import type { ProviderTables } from '../providers/tables.js';
import type { CheckTables } from '../check/tables.js';
import type { IntakeTables } from '../intake/tables.js';
import type { PipelineTables } from '../pipeline/tables.js';
import type { ClassifyTables } from '../classify/tables.js';
import type { AssessTables } from '../assess/tables.js';

/**
 * Every table in the database, by name, as Kysely sees it.
 *
 * A feature declares its own tables beside its code (`src/<feature>/tables.ts`
 * exporting e.g. `interface BankTables { bank: BankTable; bank_entry: ... }`),
 * creates them in a migration (`src/store/migrations/`), and adds them here
 * with one `&`. Column names are the SQL names (snake_case): no renaming
 * plugin, so raw SQL and typed queries read the same.
 */
export type Database = SettingTables &
  UserTables &
  AuditTables &
  JobTables &
  BankTables &
  ChangeTables &
  ProviderTables &
  CheckTables &
  IntakeTables &
  PipelineTables &
  ClassifyTables &
  AssessTables;
