import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/record.js';
import type { Database } from '../store/database.js';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { codeStep, requireStep, stageAfter, useStep } from './sign-in.js';
import type { Attempt, SignInDeps, SignInPrincipal, StepResult, UserPrincipal } from './sign-in.js';
import { beginAttempts, settleSuccess, signInKeys } from './throttle-store.js';
import { checkTotp, newTotpSecret, otpauthUri } from './totp.js';

/**
 * Enrolling the second factor: the server makes a secret, the person adds it
 * to an authenticator app (QR code of the otpauth URI, or the secret typed
 * in), and the first code from the app confirms it. Then, and only then, it
 * protects the account, and ten recovery codes are shown once.
 */

export interface Enrolment {
  readonly secret: string;
  readonly otpauthUri: string;
}

export async function startEnrolment(
  deps: SignInDeps,
  principal: SignInPrincipal,
): Promise<Enrolment> {
  requireStep(principal, 'enrol');
  const secret = newTotpSecret();
  await deps.db
    .updateTable('app_user')
    .set({ totp_pending_secret: secret })
    .where('id', '=', principal.userId)
    .execute();
  return { secret, otpauthUri: otpauthUri(secret, principal.email) };
}

export async function confirmEnrolment(
  deps: SignInDeps,
  principal: SignInPrincipal,
  code: string,
  attempt: Attempt,
): Promise<{ result: StepResult; recoveryCodes: readonly string[] }> {
  requireStep(principal, 'enrol');
  let recoveryCodes: string[] = [];
  const step = { action: 'user.2fa-enrol', details: {} };
  const result = await codeStep(deps, principal, attempt, step, async (trx) => {
    const user = await trx
      .selectFrom('app_user')
      .select(['totp_pending_secret', 'must_change_password'])
      .where('id', '=', principal.userId)
      .executeTakeFirstOrThrow();
    const secret = user.totp_pending_secret;
    const check = secret === null ? undefined : checkTotp(secret, code, attempt.now, null);
    return {
      accepted: check?.kind === 'ok',
      reason: secret === null ? 'enrolment-not-started' : 'wrong-code',
      next: stageAfter(
        { totpEnabled: true, mustChangePassword: user.must_change_password },
        'second-factor',
      ),
      onAccepted: async (t) => {
        await t
          .updateTable('app_user')
          .set({
            totp_secret: secret,
            totp_pending_secret: null,
            totp_enabled_at: attempt.now,
            totp_last_step: check?.kind === 'ok' ? check.step : null,
            updated_at: attempt.now,
          })
          .where('id', '=', principal.userId)
          .execute();
        recoveryCodes = await replaceRecoveryCodes(t, principal.userId);
        return { recoveryCodes: recoveryCodes.length };
      },
    };
  });
  return { result, recoveryCodes: result.kind === 'next' ? recoveryCodes : [] };
}

/** New recovery codes for a signed-in user who proves the app still works (the old ones stop working). */
export async function regenerateRecoveryCodes(
  deps: SignInDeps,
  principal: UserPrincipal,
  code: string,
  attempt: Attempt,
): Promise<
  { kind: 'ok'; codes: readonly string[] } | { kind: 'locked'; until: Date } | { kind: 'refused' }
> {
  const keys = signInKeys(principal.email, attempt.request.ip);
  const gate = await beginAttempts(deps.db, keys, attempt.now);
  const audit = (
    trx: Parameters<typeof recordAudit>[0],
    outcome: 'allowed' | 'denied' | 'failed',
    details: Record<string, unknown>,
  ) =>
    recordAudit(trx, {
      actor: principal,
      request: attempt.request,
      action: 'user.recovery-codes',
      object: { type: 'user', id: principal.userId },
      outcome,
      details,
      at: attempt.now,
    });
  if (gate.kind === 'locked') {
    if (gate.started)
      await audit(deps.db, 'denied', { reason: 'locked', until: gate.until.toISOString() });
    return gate;
  }
  const codes = await deps.db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('app_user')
      .select(['totp_secret', 'totp_last_step'])
      .where('id', '=', principal.userId)
      .executeTakeFirstOrThrow();
    const check =
      user.totp_secret === null
        ? undefined
        : checkTotp(user.totp_secret, code, attempt.now, user.totp_last_step);
    if (check?.kind !== 'ok' || !(await useStep(trx, principal.userId, check.step)))
      return undefined;
    const fresh = await replaceRecoveryCodes(trx, principal.userId);
    await audit(trx, 'allowed', { recoveryCodes: fresh.length });
    return fresh;
  });
  if (codes === undefined) {
    await audit(deps.db, 'failed', { reason: 'wrong-code' });
    return { kind: 'refused' };
  }
  await settleSuccess(deps.db, keys);
  return { kind: 'ok', codes };
}

async function replaceRecoveryCodes(trx: Transaction<Database>, userId: number): Promise<string[]> {
  const codes = newRecoveryCodes();
  await trx.deleteFrom('recovery_code').where('user_id', '=', userId).execute();
  await trx
    .insertInto('recovery_code')
    .values(
      codes.map((code) => ({ user_id: userId, code_hash: hashRecoveryCode(code), used_at: null })),
    )
    .execute();
  return codes;
}
