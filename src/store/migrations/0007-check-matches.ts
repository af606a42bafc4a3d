import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Matches found by the hash-check API (src/check), for the hotline's
 * statistics: who checked, which hash, which bank and entry, how close.
 * Hashes that match nothing are never stored. Rows arrive in batches.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('check_match')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('checked_at', 'timestamptz', (col) => col.notNull())
    // "key:7" or "user:3": who asked.
    .addColumn('principal', 'text', (col) => col.notNull())
    .addColumn('key_id', 'integer')
    .addColumn('provider_id', 'integer')
    .addColumn('via', 'text', (col) => col.notNull().check(sql`via in ('hashes', 'image')`))
    .addColumn('signal_type', 'text', (col) => col.notNull())
    .addColumn('value', 'bytea', (col) => col.notNull())
    .addColumn('bank_id', 'integer', (col) => col.notNull())
    .addColumn('entry_id', 'integer', (col) => col.notNull())
    .addColumn('distance', 'smallint', (col) => col.notNull())
    .execute();
  // Statistics are read by period (and then grouped by provider or bank).
  await db.schema.createIndex('check_match_time').on('check_match').column('checked_at').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('check_match').execute();
}
