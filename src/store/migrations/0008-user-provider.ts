import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * A provider's staff account points at its provider (0006-providers came
 * after the accounts table, so the reference is added here). Providers are
 * never deleted while accounts name them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table app_user add constraint app_user_provider
            foreign key (provider_id) references provider (id)`.execute(db);
  await db.schema
    .createIndex('app_user_provider_id')
    .on('app_user')
    .column('provider_id')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('app_user_provider_id').execute();
  await sql`alter table app_user drop constraint app_user_provider`.execute(db);
}
