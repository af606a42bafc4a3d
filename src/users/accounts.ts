import type { Kysely, Transaction } from 'kysely';
import { isRole } from '../access/principal.js';
import type { Principal, Role } from '../access/principal.js';
import { recordAudit } from '../audit/record.js';
import type { AuditActor, AuditRequest } from '../audit/record.js';
import { TakedownError } from '../errors.js';
import type { Database } from '../store/database.js';
import { ONE_TIME_PASSWORD_DAYS, newOneTimePassword } from './passwords.js';
import type { PasswordHasher } from './passwords.js';
import { revokeUserSessions } from './sessions.js';

/**
 * Staff accounts as administrators manage them, from the API or the CLI.
 * Every change is written to the audit trail in the same transaction.
 */

/** Who does it, from where, when: every audited operation takes one. */
export interface Acting {
  readonly actor: AuditActor | Principal;
  readonly request?: AuditRequest;
  readonly now: Date;
}

export interface UserSummary {
  readonly id: number;
  readonly email: string;
  readonly role: Role;
  readonly providerId: number | null;
  readonly disabled: boolean;
  readonly twoFactor: boolean;
  /** Still on the one-time password an administrator handed out. */
  readonly mustChangePassword: boolean;
  readonly createdAt: Date;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** Lower case, no surrounding space; refuses what cannot be an address (pure). */
export function normalizeEmail(input: string): string {
  const email = input.trim().toLowerCase();
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (!EMAIL.test(email) || email.length > 254 || /[\u0000-\u001f]/.test(email)) {
    throw new TakedownError('invalid-email', `"${input.slice(0, 80)}" is not an e-mail address.`);
  }
  return email;
}

function checkRoleAndProvider(role: string, providerId: number | null | undefined): number | null {
  if (!isRole(role)) {
    throw new TakedownError(
      'invalid-role',
      `There is no role "${role}"; use admin, supervisor, analyst, provider or auditor.`,
    );
  }
  if (role === 'provider' && (providerId === null || providerId === undefined)) {
    throw new TakedownError(
      'provider-required',
      "A provider's staff account needs the provider it belongs to.",
    );
  }
  if (role !== 'provider' && providerId !== null && providerId !== undefined) {
    throw new TakedownError('provider-not-allowed', 'Only provider accounts belong to a provider.');
  }
  return role === 'provider' ? (providerId as number) : null;
}

const summaryColumns = [
  'id',
  'email',
  'role',
  'provider_id',
  'disabled_at',
  'totp_enabled_at',
  'must_change_password',
  'created_at',
] as const;

type SummaryRow = {
  id: number;
  email: string;
  role: Role;
  provider_id: number | null;
  disabled_at: Date | null;
  totp_enabled_at: Date | null;
  must_change_password: boolean;
  created_at: Date;
};

function summary(row: SummaryRow): UserSummary {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    providerId: row.provider_id,
    disabled: row.disabled_at !== null,
    twoFactor: row.totp_enabled_at !== null,
    mustChangePassword: row.must_change_password,
    createdAt: row.created_at,
  };
}

/** A provider by id or by name (any case); staff accounts must name one that exists. */
export async function findProviderId(
  db: Kysely<Database> | Transaction<Database>,
  nameOrId: string | number,
): Promise<number> {
  const query = db.selectFrom('provider').select('id');
  const row = await (
    typeof nameOrId === 'number' || /^\d{1,9}$/.test(nameOrId)
      ? query.where('id', '=', Number(nameOrId))
      : query.where((eb) => eb.fn('lower', ['name']), '=', nameOrId.trim().toLowerCase())
  ).executeTakeFirst();
  if (row === undefined) {
    throw new TakedownError(
      'provider-not-found',
      `There is no provider ${JSON.stringify(String(nameOrId))}.`,
    );
  }
  return row.id;
}

export async function listUsers(db: Kysely<Database>): Promise<UserSummary[]> {
  const rows = await db.selectFrom('app_user').select(summaryColumns).orderBy('id').execute();
  return rows.map(summary);
}

export async function findUser(
  db: Kysely<Database> | Transaction<Database>,
  idOrEmail: number | string,
): Promise<UserSummary> {
  let query = db.selectFrom('app_user').select(summaryColumns);
  query =
    typeof idOrEmail === 'number'
      ? query.where('id', '=', idOrEmail)
      : query.where('email', '=', idOrEmail.trim().toLowerCase());
  const row = await query.executeTakeFirst();
  if (row === undefined) {
    throw new TakedownError('user-not-found', `There is no account ${String(idOrEmail)}.`, {
      kind: 'not-found',
    });
  }
  return summary(row);
}

export interface CreatedUser {
  readonly user: UserSummary;
  /** Shown once to whoever created the account; only its hash is kept. */
  readonly oneTimePassword: string;
  readonly expiresAt: Date;
}

export async function createUser(
  db: Kysely<Database>,
  hasher: PasswordHasher,
  input: { email: string; role: string; providerId?: number | null },
  acting: Acting,
): Promise<CreatedUser> {
  const email = normalizeEmail(input.email);
  const providerId = checkRoleAndProvider(input.role, input.providerId);
  const oneTimePassword = newOneTimePassword();
  const passwordHash = await hasher.hash(oneTimePassword);
  const expiresAt = new Date(acting.now.getTime() + ONE_TIME_PASSWORD_DAYS * 86_400_000);
  return db.transaction().execute(async (trx) => {
    if (providerId !== null) await findProviderId(trx, providerId);
    const existing = await trx
      .selectFrom('app_user')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirst();
    if (existing !== undefined) {
      throw new TakedownError('user-exists', `There is already an account for ${email}.`, {
        kind: 'conflict',
      });
    }
    const row = await trx
      .insertInto('app_user')
      .values({
        email,
        role: input.role as Role,
        provider_id: providerId,
        password_hash: passwordHash,
        must_change_password: true,
        password_expires_at: expiresAt,
        totp_secret: null,
        totp_pending_secret: null,
        totp_enabled_at: null,
        totp_last_step: null,
        disabled_at: null,
      })
      .returning(summaryColumns)
      .executeTakeFirstOrThrow();
    await audit(trx, acting, 'user.create', row.id, {
      email,
      role: row.role,
      providerId,
    });
    return { user: summary(row), oneTimePassword, expiresAt };
  });
}

export interface UserChange {
  readonly role?: string;
  readonly providerId?: number | null;
  readonly disabled?: boolean;
}

/**
 * Changes role, provider or the disabled flag. Disabling, or a new role or
 * provider, ends the account's sessions: they carry the old permissions.
 * The last enabled administrator can be neither disabled nor demoted, so an
 * installation cannot lock itself out.
 */
export async function updateUser(
  db: Kysely<Database>,
  id: number,
  change: UserChange,
  acting: Acting,
): Promise<UserSummary> {
  return db.transaction().execute(async (trx) => {
    // Lock the administrators first: two concurrent demotions must not both see "another admin remains".
    await trx.selectFrom('app_user').select('id').where('role', '=', 'admin').forUpdate().execute();
    const before = await findUser(trx, id);
    const role = change.role ?? before.role;
    const providerId = checkRoleAndProvider(
      role,
      change.providerId !== undefined
        ? change.providerId
        : role === before.role
          ? before.providerId
          : null,
    );
    if (providerId !== null && providerId !== before.providerId)
      await findProviderId(trx, providerId);
    const disabled = change.disabled ?? before.disabled;
    const losesAdmin =
      before.role === 'admin' && !before.disabled && (role !== 'admin' || disabled);
    if (losesAdmin) {
      const others = await trx
        .selectFrom('app_user')
        .select('id')
        .where('role', '=', 'admin')
        .where('disabled_at', 'is', null)
        .where('id', '!=', id)
        .execute();
      if (others.length === 0) {
        throw new TakedownError(
          'last-admin',
          'This is the last enabled administrator; create or enable another one first.',
          { kind: 'conflict' },
        );
      }
    }
    const row = await trx
      .updateTable('app_user')
      .set({
        role: role as Role,
        provider_id: providerId,
        updated_at: acting.now,
        ...(disabled === before.disabled ? {} : { disabled_at: disabled ? acting.now : null }),
      })
      .where('id', '=', id)
      .returning(summaryColumns)
      .executeTakeFirstOrThrow();
    const after = summary(row);
    const scopeChanged = after.role !== before.role || after.providerId !== before.providerId;
    if (scopeChanged) {
      await audit(trx, acting, 'user.role-change', id, {
        email: after.email,
        from: { role: before.role, providerId: before.providerId },
        to: { role: after.role, providerId: after.providerId },
      });
    }
    if (after.disabled !== before.disabled) {
      await audit(trx, acting, after.disabled ? 'user.disable' : 'user.enable', id, {
        email: after.email,
      });
    }
    if (scopeChanged || (after.disabled && !before.disabled)) {
      await revokeUserSessions(trx, id, after.disabled ? 'disabled' : 'role-change', acting.now);
    }
    return after;
  });
}

/** Removes two-factor sign-in (a lost phone): the next sign-in enrols again. Ends all sessions. */
export async function resetTwoFactor(
  db: Kysely<Database>,
  id: number,
  acting: Acting,
): Promise<UserSummary> {
  return db.transaction().execute(async (trx) => {
    const user = await findUser(trx, id);
    await trx
      .updateTable('app_user')
      .set({
        totp_secret: null,
        totp_pending_secret: null,
        totp_enabled_at: null,
        totp_last_step: null,
        updated_at: acting.now,
      })
      .where('id', '=', id)
      .execute();
    await trx.deleteFrom('recovery_code').where('user_id', '=', id).execute();
    const ended = await revokeUserSessions(trx, id, 'reset-2fa', acting.now);
    await audit(trx, acting, 'user.reset-2fa', id, { email: user.email, sessionsEnded: ended });
    return { ...user, twoFactor: false };
  });
}

/** A new one-time password (a forgotten password). Ends all sessions. */
export async function resetPassword(
  db: Kysely<Database>,
  hasher: PasswordHasher,
  id: number,
  acting: Acting,
): Promise<CreatedUser> {
  const oneTimePassword = newOneTimePassword();
  const passwordHash = await hasher.hash(oneTimePassword);
  const expiresAt = new Date(acting.now.getTime() + ONE_TIME_PASSWORD_DAYS * 86_400_000);
  return db.transaction().execute(async (trx) => {
    const user = await findUser(trx, id);
    await trx
      .updateTable('app_user')
      .set({
        password_hash: passwordHash,
        must_change_password: true,
        password_expires_at: expiresAt,
        updated_at: acting.now,
      })
      .where('id', '=', id)
      .execute();
    const ended = await revokeUserSessions(trx, id, 'reset-password', acting.now);
    await audit(trx, acting, 'user.reset-password', id, {
      email: user.email,
      sessionsEnded: ended,
    });
    return { user: { ...user, mustChangePassword: true }, oneTimePassword, expiresAt };
  });
}

/** Whether any enabled administrator exists (a fresh install has none). */
export async function hasAdmin(db: Kysely<Database>): Promise<boolean> {
  const row = await db
    .selectFrom('app_user')
    .select('id')
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

function audit(
  trx: Transaction<Database>,
  acting: Acting,
  action: string,
  userId: number,
  details: Record<string, unknown>,
): Promise<unknown> {
  return recordAudit(trx, {
    actor: acting.actor,
    ...(acting.request === undefined ? {} : { request: acting.request }),
    action,
    object: { type: 'user', id: userId },
    outcome: 'allowed',
    details,
    at: acting.now,
  });
}
