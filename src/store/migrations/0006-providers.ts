import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Hosting-provider accounts and API keys (src/providers).
 *
 * A key is stored only as the SHA-256 of its secret, with a short prefix of
 * the key itself to recognise it in lists; revoked keys keep their row, so
 * match records and the audit trail can still name them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('provider')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) =>
      col.notNull().check(sql`length(name) between 1 and 100 and name = btrim(name)`),
    )
    .addColumn('contact_email', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  // Names are compared without regard to case: "Acme" and "acme" are one provider.
  await sql`create unique index provider_name on provider (lower(name))`.execute(db);

  await db.schema
    .createTable('api_key')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('provider_id', 'integer', (col) => col.notNull().references('provider.id'))
    .addColumn('role', 'text', (col) =>
      col
        .notNull()
        .defaultTo('provider')
        .check(sql`role in ('admin', 'supervisor', 'analyst', 'provider', 'auditor')`),
    )
    .addColumn('prefix', 'text', (col) => col.notNull().unique())
    .addColumn('secret_hash', 'bytea', (col) => col.notNull())
    .addColumn('label', 'text')
    // Per-key rate limits; null = the defaults from the environment.
    .addColumn('hashes_per_second', 'integer', (col) => col.check(sql`hashes_per_second > 0`))
    .addColumn('images_per_second', 'integer', (col) => col.check(sql`images_per_second > 0`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_key_provider').on('api_key').column('provider_id').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('api_key').execute();
  await db.schema.dropTable('provider').execute();
}
