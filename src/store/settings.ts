import { sql } from 'kysely';
import type { Generated, Kysely } from 'kysely';
import type { Database } from './database.js';

/**
 * Instance-wide settings: a small key/value table for facts that belong to
 * this installation rather than to any feature (for example the instance id
 * a notice is signed with). Values are JSON.
 */
export interface SettingTable {
  key: string;
  value: unknown;
  updated_at: Generated<Date>;
}

export interface SettingTables {
  setting: SettingTable;
}

/** The stored value, or undefined when the key was never set. */
export async function readSetting(
  // The whole schema: Kysely<Database> is not assignable to Kysely<SettingTables>.
  db: Kysely<Database>,
  key: string,
): Promise<unknown | undefined> {
  const row = await db
    .selectFrom('setting')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.value;
}

export async function writeSetting(
  db: Kysely<Database>,
  key: string,
  value: unknown,
): Promise<void> {
  // pg would send a JS array as a PostgreSQL array literal, not JSON: stringify ourselves.
  const json = JSON.stringify(value);
  await db
    .insertInto('setting')
    .values({ key, value: json })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: json, updated_at: sql`now()` }))
    .execute();
}
