import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Staff accounts, their sign-in sessions, two-factor recovery codes and the
 * counters that throttle password guessing (src/users/).
 *
 * Accounts are never deleted, only disabled: audit entries name them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('app_user')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('email', 'text', (col) => col.notNull().unique())
    .addColumn('role', 'text', (col) => col.notNull())
    // A provider's staff belong to one provider (the provider table of src/providers).
    .addColumn('provider_id', 'integer')
    .addColumn('password_hash', 'text')
    // Set for a one-time password handed out by an administrator: it must be replaced before use.
    .addColumn('must_change_password', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('password_expires_at', 'timestamptz')
    .addColumn('totp_secret', 'text')
    .addColumn('totp_pending_secret', 'text')
    .addColumn('totp_enabled_at', 'timestamptz')
    // The last accepted TOTP time step: a code is accepted once (RFC 6238 section 5.2).
    .addColumn('totp_last_step', 'bigint')
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('app_user_email_lower', sql`email = lower(email)`)
    .addCheckConstraint(
      'app_user_role',
      sql`role in ('admin', 'supervisor', 'analyst', 'provider', 'auditor')`,
    )
    .addCheckConstraint(
      'app_user_provider_staff',
      sql`(role = 'provider') = (provider_id is not null)`,
    )
    .execute();

  await db.schema
    .createTable('user_session')
    // SHA-256 of the cookie's token: a copy of this table does not let anyone in.
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('user_id', 'integer', (col) => col.notNull().references('app_user.id'))
    .addColumn('stage', 'text', (col) => col.notNull())
    .addColumn('csrf_token', 'text', (col) => col.notNull())
    .addColumn('second_factor_failures', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('last_seen_at', 'timestamptz', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_reason', 'text')
    .addCheckConstraint('user_session_stage', sql`stage in ('totp', 'enrol', 'password', 'active')`)
    .execute();
  await db.schema
    .createIndex('user_session_user')
    .on('user_session')
    .columns(['user_id', 'revoked_at'])
    .execute();

  await db.schema
    .createTable('recovery_code')
    .addColumn('id', 'serial', (col) => col.primaryKey())
    .addColumn('user_id', 'integer', (col) => col.notNull().references('app_user.id'))
    .addColumn('code_hash', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('used_at', 'timestamptz')
    .addUniqueConstraint('recovery_code_unique', ['user_id', 'code_hash'])
    .execute();

  await db.schema
    .createTable('login_throttle')
    // "account:<email>" or "address:<ip>"; accounts that do not exist are counted the same way.
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('failures', 'integer', (col) => col.notNull())
    .addColumn('lockouts', 'integer', (col) => col.notNull())
    .addColumn('last_attempt_at', 'timestamptz', (col) => col.notNull())
    .addColumn('locked_until', 'timestamptz')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['login_throttle', 'recovery_code', 'user_session', 'app_user']) {
    await db.schema.dropTable(table).execute();
  }
}
