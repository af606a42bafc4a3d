import type { Kysely, Transaction } from 'kysely';
import type { Principal } from '../access/principal.js';
import { recordAudit } from '../audit/record.js';
import type { AuditActor, AuditRequest } from '../audit/record.js';
import { TakedownError } from '../errors.js';
import type { Database } from '../store/database.js';
import type { PasswordHasher } from './passwords.js';
import { hashRecoveryCode } from './recovery-codes.js';
import { advanceSession, createSession, revokeSession } from './sessions.js';
import type { NewSession, SessionPolicy } from './sessions.js';
import type { SessionStage } from './tables.js';
import { beginAttempts, settleSuccess, signInKeys } from './throttle-store.js';
import { checkTotp } from './totp.js';

/**
 * Signing in: password, then the second factor (or enrolling one), then a
 * new password when the current one was handed out by an administrator.
 * Each step is throttled, audited, and moves the session on under a new
 * token. Enrolment and password changes are in two-factor.ts and
 * own-password.ts.
 */

export interface SignInDeps {
  readonly db: Kysely<Database>;
  readonly hasher: PasswordHasher;
  readonly policy: SessionPolicy;
}

/** The request's origin and time, for throttling and the audit trail. */
export interface Attempt {
  readonly request: AuditRequest;
  readonly now: Date;
}

export type SignInPrincipal = Extract<Principal, { kind: 'signing-in' }>;
export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

export type StepResult =
  | { readonly kind: 'locked'; readonly until: Date }
  /** Wrong password or code; `reason` is for the audit trail, never for the caller. */
  | { readonly kind: 'refused'; readonly sessionEnded: boolean }
  | { readonly kind: 'disabled' }
  | { readonly kind: 'password-expired' }
  | { readonly kind: 'next'; readonly session: NewSession };

/** The step after the one just done (pure). */
export function stageAfter(
  user: { readonly totpEnabled: boolean; readonly mustChangePassword: boolean },
  done: 'password' | 'second-factor' | 'new-password',
): SessionStage {
  switch (done) {
    case 'password':
      return user.totpEnabled ? 'totp' : 'enrol';
    case 'second-factor':
      return user.mustChangePassword ? 'password' : 'active';
    case 'new-password':
      return 'active';
  }
}

/** Wrong second-factor codes one half-finished sign-in may give before it is ended. */
export const MAX_CODES_PER_SIGN_IN = 5;

export async function signInWithPassword(
  deps: SignInDeps,
  input: { email: string; password: string },
  attempt: Attempt,
): Promise<StepResult> {
  const email = input.email.trim().toLowerCase().slice(0, 254);
  const keys = signInKeys(email, attempt.request.ip);
  const user = await deps.db
    .selectFrom('app_user')
    .select([
      'id',
      'email',
      'role',
      'provider_id',
      'password_hash',
      'password_expires_at',
      'must_change_password',
      'totp_enabled_at',
      'disabled_at',
    ])
    .where('email', '=', email)
    .executeTakeFirst();
  const actor: AuditActor =
    user === undefined
      ? // Only what looks like an address is kept: people type passwords into the wrong field.
        {
          kind: 'anonymous',
          id: null,
          label: /^[^\s@]+@[^\s@]+$/.test(email) ? email : null,
          role: null,
          providerId: null,
        }
      : {
          kind: 'user',
          id: user.id,
          label: user.email,
          role: user.role,
          providerId: user.provider_id,
        };
  const log = (outcome: 'allowed' | 'denied' | 'failed', details: Record<string, unknown>) =>
    recordAudit(deps.db, {
      actor,
      request: attempt.request,
      action: 'session.password',
      object: { type: 'user', id: user?.id ?? null },
      outcome,
      details,
      at: attempt.now,
    });

  const gate = await beginAttempts(deps.db, keys, attempt.now);
  // The attempt that starts a lock-out is recorded; the refusals while it
  // lasts are not (they would let anyone fill the trail at no cost).
  if (gate.kind === 'locked') {
    if (gate.started) await log('denied', { reason: 'locked', until: gate.until.toISOString() });
    return gate;
  }
  // An unknown account costs the same time as a wrong password.
  const matches =
    user?.password_hash === null || user === undefined
      ? (await deps.hasher.verifyNothing(input.password), false)
      : await deps.hasher.verify(user.password_hash, input.password);
  if (!matches || user === undefined) {
    await log('failed', { reason: user === undefined ? 'unknown-account' : 'wrong-password' });
    return { kind: 'refused', sessionEnded: false };
  }
  await settleSuccess(deps.db, keys);
  if (user.disabled_at !== null) {
    await log('denied', { reason: 'disabled' });
    return { kind: 'disabled' };
  }
  if (
    user.must_change_password &&
    user.password_expires_at !== null &&
    user.password_expires_at <= attempt.now
  ) {
    await log('denied', { reason: 'one-time-password-expired' });
    return { kind: 'password-expired' };
  }
  if (user.password_hash !== null && deps.hasher.needsRehash(user.password_hash)) {
    const rehashed = await deps.hasher.hash(input.password);
    await deps.db
      .updateTable('app_user')
      .set({ password_hash: rehashed })
      .where('id', '=', user.id)
      .execute();
  }
  const stage = stageAfter(
    { totpEnabled: user.totp_enabled_at !== null, mustChangePassword: user.must_change_password },
    'password',
  );
  const session = await createSession(deps.db, {
    userId: user.id,
    stage,
    now: attempt.now,
    policy: deps.policy,
    ip: attempt.request.ip,
    userAgent: attempt.request.userAgent,
  });
  await log('allowed', { next: stage });
  return { kind: 'next', session };
}

/** The TOTP code from the app, or a recovery code instead. */
export async function signInSecondFactor(
  deps: SignInDeps,
  principal: SignInPrincipal,
  input: { code?: string | undefined; recoveryCode?: string | undefined },
  attempt: Attempt,
): Promise<StepResult> {
  requireStep(principal, 'totp');
  const factor = input.recoveryCode !== undefined ? 'recovery-code' : 'totp';
  const step = { action: 'session.second-factor', details: { factor } };
  return codeStep(deps, principal, attempt, step, async (trx) => {
    const user = await trx
      .selectFrom('app_user')
      .select(['totp_secret', 'totp_last_step', 'must_change_password'])
      .where('id', '=', principal.userId)
      .executeTakeFirstOrThrow();
    let accepted: boolean;
    let reason = 'wrong-code';
    if (input.recoveryCode !== undefined) {
      const used = await trx
        .updateTable('recovery_code')
        .set({ used_at: attempt.now })
        .where('user_id', '=', principal.userId)
        .where('code_hash', '=', hashRecoveryCode(input.recoveryCode))
        .where('used_at', 'is', null)
        .executeTakeFirst();
      accepted = used.numUpdatedRows > 0n;
    } else {
      const check = checkTotp(
        user.totp_secret ?? '',
        input.code ?? '',
        attempt.now,
        user.totp_last_step,
      );
      accepted = check.kind === 'ok' && (await useStep(trx, principal.userId, check.step));
      if (check.kind === 'replayed') reason = 'code-already-used';
    }
    return {
      accepted,
      reason,
      next: stageAfter(
        { totpEnabled: true, mustChangePassword: user.must_change_password },
        'second-factor',
      ),
    };
  });
}

/** Records the step as used, unless another request used it (or a later one) first. */
export async function useStep(
  trx: Transaction<Database>,
  userId: number,
  step: number,
): Promise<boolean> {
  const result = await trx
    .updateTable('app_user')
    .set({ totp_last_step: step })
    .where('id', '=', userId)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export function requireStep(principal: SignInPrincipal, step: SignInPrincipal['step']): void {
  if (principal.step !== step) {
    throw new TakedownError(
      'wrong-sign-in-step',
      `This sign-in is not at that step; it needs ${STEP_NAMES[principal.step]} next.`,
      { kind: 'conflict', details: { step: principal.step } },
    );
  }
}

const STEP_NAMES: Readonly<Record<SignInPrincipal['step'], string>> = {
  totp: 'a code from the authenticator app (or a recovery code)',
  enrol: 'setting up two-factor sign-in',
  password: 'a new password',
};

export interface CodeCheck {
  readonly accepted: boolean;
  /** Why not, for the audit trail. */
  readonly reason: string;
  /** The stage the session moves to when accepted. */
  readonly next: SessionStage;
  /** Further writes when accepted, in the same transaction; returns facts for the audit entry. */
  readonly onAccepted?: (trx: Transaction<Database>) => Promise<Record<string, unknown>>;
}

/**
 * A throttled code check for a half-finished sign-in: wrong codes count
 * against the account like wrong passwords do, and end this sign-in after
 * MAX_CODES_PER_SIGN_IN. `check` runs in a transaction; when it accepts, the
 * session moves on under a new token in the same transaction, and reaching
 * 'active' is recorded as `session.login`.
 */
export async function codeStep(
  deps: SignInDeps,
  principal: SignInPrincipal,
  attempt: Attempt,
  step: { readonly action: string; readonly details: Record<string, unknown> },
  check: (trx: Transaction<Database>) => Promise<CodeCheck>,
): Promise<StepResult> {
  const keys = signInKeys(principal.email, attempt.request.ip);
  const audit = (
    db: Kysely<Database> | Transaction<Database>,
    action: string,
    outcome: 'allowed' | 'denied' | 'failed',
    details: Record<string, unknown>,
  ) =>
    recordAudit(db, {
      actor: principal,
      request: attempt.request,
      action,
      object: { type: 'user', id: principal.userId },
      outcome,
      details: { ...step.details, ...details },
      at: attempt.now,
    });
  const gate = await beginAttempts(deps.db, keys, attempt.now);
  if (gate.kind === 'locked') {
    if (!gate.started) return gate;
    await audit(deps.db, step.action, 'denied', {
      reason: 'locked',
      until: gate.until.toISOString(),
    });
    return gate;
  }
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const result = await check(trx);
    if (!result.accepted) return { result, session: undefined };
    const facts = (await result.onAccepted?.(trx)) ?? {};
    const session = await advanceSession(
      trx,
      principal.sessionId,
      result.next,
      attempt.now,
      deps.policy,
    );
    await audit(trx, step.action, 'allowed', { ...facts, next: result.next });
    if (result.next === 'active') await audit(trx, 'session.login', 'allowed', {});
    return { result, session };
  });
  if (outcome.session !== undefined) {
    await settleSuccess(deps.db, keys);
    return { kind: 'next', session: outcome.session };
  }
  const failures = await deps.db
    .updateTable('user_session')
    .set((eb) => ({ second_factor_failures: eb('second_factor_failures', '+', 1) }))
    .where('id', '=', principal.sessionId)
    .returning('second_factor_failures')
    .executeTakeFirst();
  const ended =
    (failures?.second_factor_failures ?? MAX_CODES_PER_SIGN_IN) >= MAX_CODES_PER_SIGN_IN;
  if (ended) await revokeSession(deps.db, principal.sessionId, 'too-many-wrong-codes', attempt.now);
  await audit(deps.db, step.action, 'failed', {
    reason: outcome.result.reason,
    sessionEnded: ended,
  });
  return { kind: 'refused', sessionEnded: ended };
}

/** Signing out ends the session on the server: the cookie is worthless from now on, wherever it was copied. */
export async function signOut(
  db: Kysely<Database>,
  principal: Principal,
  attempt: Attempt,
): Promise<void> {
  if (principal.kind !== 'user' && principal.kind !== 'signing-in') return;
  await db.transaction().execute(async (trx) => {
    await revokeSession(trx, principal.sessionId, 'signed-out', attempt.now);
    await recordAudit(trx, {
      actor: principal,
      request: attempt.request,
      action: 'session.logout',
      object: { type: 'user', id: principal.userId },
      outcome: 'allowed',
      at: attempt.now,
    });
  });
}
