import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/record.js';
import { TakedownError } from '../errors.js';
import type { Database } from '../store/database.js';
import { passwordProblem } from './passwords.js';
import { advanceSession, revokeUserSessions } from './sessions.js';
import type { NewSession } from './sessions.js';
import { requireStep } from './sign-in.js';
import type { Attempt, SignInDeps, SignInPrincipal, UserPrincipal } from './sign-in.js';
import { beginAttempts, settleSuccess, signInKeys } from './throttle-store.js';

/**
 * A person's own password: replacing the one-time password an administrator
 * handed out (the last step of a first sign-in), and changing it later.
 */

function requireGoodPassword(password: string, email: string): void {
  const problem = passwordProblem(password, email);
  if (problem !== undefined) throw new TakedownError('weak-password', problem);
}

/** The password is the person's own from now on: no longer one-time, no expiry. */
async function storeOwnPassword(
  trx: Transaction<Database>,
  userId: number,
  hash: string,
  now: Date,
): Promise<void> {
  await trx
    .updateTable('app_user')
    .set({
      password_hash: hash,
      must_change_password: false,
      password_expires_at: null,
      updated_at: now,
    })
    .where('id', '=', userId)
    .execute();
}

/** The last step of signing in with a one-time password: choose one's own. */
export async function replaceOneTimePassword(
  deps: SignInDeps,
  principal: SignInPrincipal,
  newPassword: string,
  attempt: Attempt,
): Promise<NewSession> {
  requireStep(principal, 'password');
  requireGoodPassword(newPassword, principal.email);
  const current = await deps.db
    .selectFrom('app_user')
    .select('password_hash')
    .where('id', '=', principal.userId)
    .executeTakeFirstOrThrow();
  if (
    current.password_hash !== null &&
    (await deps.hasher.verify(current.password_hash, newPassword))
  ) {
    throw new TakedownError(
      'same-password',
      'Choose a password of your own, not the one-time password.',
    );
  }
  const hash = await deps.hasher.hash(newPassword);
  return deps.db.transaction().execute(async (trx) => {
    await storeOwnPassword(trx, principal.userId, hash, attempt.now);
    const session = await advanceSession(
      trx,
      principal.sessionId,
      'active',
      attempt.now,
      deps.policy,
    );
    for (const action of ['user.password-change', 'session.login']) {
      await recordAudit(trx, {
        actor: principal,
        request: attempt.request,
        action,
        object: { type: 'user', id: principal.userId },
        outcome: 'allowed',
        details: action === 'session.login' ? {} : { reason: 'one-time-password-replaced' },
        at: attempt.now,
      });
    }
    return session;
  });
}

export type PasswordChange =
  | { readonly kind: 'changed'; readonly sessionsEnded: number }
  | { readonly kind: 'locked'; readonly until: Date }
  | { readonly kind: 'refused' };

/**
 * A signed-in person changes their password. The current one is asked for
 * (and guesses at it are throttled like sign-ins): a session left open on
 * another desk must not be enough. Every other session ends.
 */
export async function changeOwnPassword(
  deps: SignInDeps,
  principal: UserPrincipal,
  input: { currentPassword: string; newPassword: string },
  attempt: Attempt,
): Promise<PasswordChange> {
  requireGoodPassword(input.newPassword, principal.email);
  const keys = signInKeys(principal.email, attempt.request.ip);
  const audit = (
    db: Parameters<typeof recordAudit>[0],
    outcome: 'allowed' | 'denied' | 'failed',
    details: Record<string, unknown>,
  ) =>
    recordAudit(db, {
      actor: principal,
      request: attempt.request,
      action: 'user.password-change',
      object: { type: 'user', id: principal.userId },
      outcome,
      details,
      at: attempt.now,
    });
  const gate = await beginAttempts(deps.db, keys, attempt.now);
  if (gate.kind === 'locked') {
    if (gate.started)
      await audit(deps.db, 'denied', { reason: 'locked', until: gate.until.toISOString() });
    return gate;
  }
  const current = await deps.db
    .selectFrom('app_user')
    .select('password_hash')
    .where('id', '=', principal.userId)
    .executeTakeFirstOrThrow();
  const ok =
    current.password_hash !== null &&
    (await deps.hasher.verify(current.password_hash, input.currentPassword));
  if (!ok) {
    await audit(deps.db, 'failed', { reason: 'wrong-password' });
    return { kind: 'refused' };
  }
  await settleSuccess(deps.db, keys);
  const hash = await deps.hasher.hash(input.newPassword);
  return deps.db.transaction().execute(async (trx) => {
    await storeOwnPassword(trx, principal.userId, hash, attempt.now);
    const ended = await revokeUserSessions(
      trx,
      principal.userId,
      'password-change',
      attempt.now,
      principal.sessionId,
    );
    await audit(trx, 'allowed', { sessionsEnded: ended });
    return { kind: 'changed' as const, sessionsEnded: ended };
  });
}
