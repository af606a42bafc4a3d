import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Hash banks (src/banks) and the change log every matcher follows
 * (src/changes).
 *
 * - `bank`: a named list of known material with its provenance.
 * - `bank_entry`: one hash in one bank; unique per bank, type and value, so
 *   importing the same list twice adds nothing. A removed entry (a false
 *   positive) keeps its row with `removed_at`, so re-importing the list it
 *   came from does not bring it back.
 * - `bank_import` / `bank_import_row`: an import's record and its staging
 *   rows (unlogged: scratch data, rebuilt by running the import again).
 * - `change_log`: a monotonic sequence of changes (entries added or removed,
 *   banks enabled, disabled or changed, keys revoked) that server processes
 *   poll to keep their in-memory index and caches current.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('bank')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) =>
      col
        .notNull()
        .unique()
        .check(sql`name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'`),
    )
    .addColumn('description', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('source', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('category', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('enabled', 'boolean', (col) => col.notNull().defaultTo(true))
    .addColumn('pdq_threshold', 'integer', (col) =>
      col
        .notNull()
        .defaultTo(31)
        .check(sql`pdq_threshold between 0 and 52`),
    )
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('change_log')
    .addColumn('seq', 'bigserial', (col) => col.primaryKey())
    .addColumn('kind', 'text', (col) =>
      col
        .notNull()
        .check(
          sql`kind in ('bank-created', 'bank-updated', 'bank-enabled', 'bank-disabled', 'entries-added', 'entry-removed', 'key-revoked')`,
        ),
    )
    .addColumn('bank_id', 'integer')
    // entry-removed: the entry. entries-added: the first and last id added
    // (entries are only inserted under the change-log lock, so one import's
    // ids form a range no other insert interleaves with).
    .addColumn('entry_id', 'integer')
    .addColumn('last_entry_id', 'integer')
    .addColumn('key_id', 'integer')
    .addColumn('changed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('bank_entry')
    // integer: the matcher numbers entries with uint32 ids.
    .addColumn('id', 'serial', (col) => col.primaryKey())
    // No foreign key: its trigger fires per row and doubled the time of a
    // million-row import; entries are only added for a bank the importer
    // just looked up, and banks are never deleted.
    .addColumn('bank_id', 'integer', (col) => col.notNull())
    .addColumn('signal_type', 'text', (col) =>
      col.notNull().check(sql`signal_type in ('pdq', 'md5', 'sha1', 'sha256')`),
    )
    // The hash's bytes: half the size of hex text, compared with memcmp.
    .addColumn('value', 'bytea', (col) => col.notNull())
    .addColumn('added_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('source_ref', 'text')
    .addColumn('note', 'text')
    .addColumn('removed_at', 'timestamptz')
    .addColumn('removed_reason', 'text')
    // Value before type: an import inserts rows sorted this way, so the index
    // grows in order; and sorting by a bytea first is ~4x cheaper on the
    // embedded database than by a text column first (measured).
    .addUniqueConstraint('bank_entry_unique', ['bank_id', 'value', 'signal_type'])
    .execute();

  await db.schema
    .createTable('bank_import')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('bank_id', 'integer', (col) => col.notNull().references('bank.id'))
    .addColumn('file', 'text')
    .addColumn('format', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .defaultTo('staging')
        .check(sql`status in ('staging', 'done', 'failed')`),
    )
    .addColumn('lines', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('added', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('already_present', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('duplicate_lines', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('kept_removed', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('invalid', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('started_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();

  await sql`
    create unlogged table bank_import_row (
      import_id integer not null,
      ord integer not null,
      signal_type text not null,
      value bytea not null,
      added_at timestamptz,
      source_ref text,
      note text
    )`.execute(db);
  // No index: rows are written in bulk and read once, by import, in one scan.
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['bank_import_row', 'bank_import', 'bank_entry', 'change_log', 'bank']) {
    await db.schema.dropTable(table).execute();
  }
}
