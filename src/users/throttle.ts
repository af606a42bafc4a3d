/**
 * Sign-in throttling, as pure decisions over a small state per key. Two keys
 * count every attempt: the account ("account:<email>", whether or not the
 * account exists, so the answer reveals nothing) and the client address
 * ("address:<ip>", against one machine trying many accounts).
 *
 * An attempt is counted before the password is checked, so parallel
 * guesses cannot slip through while the first ones are being verified; a
 * success takes the count back. After `maxFailures` unsuccessful attempts
 * the key is locked; each further lock-out lasts twice as long as the last,
 * up to `maxLockMs`. A quiet `forgetAfterMs` wipes the slate.
 */

export interface ThrottleState {
  readonly failures: number;
  readonly lockouts: number;
  readonly lastAttemptAt: Date;
  readonly lockedUntil: Date | null;
}

export interface ThrottlePolicy {
  readonly maxFailures: number;
  /** Failures older than this (since the last attempt) no longer count. */
  readonly windowMs: number;
  readonly baseLockMs: number;
  readonly maxLockMs: number;
  /** After this long without attempts, lock-outs are forgotten too. */
  readonly forgetAfterMs: number;
}

const MINUTE = 60_000;

/** 5 wrong passwords or codes in 15 minutes lock the account for 15 minutes, then 30, 60, ... up to a day. */
export const ACCOUNT_POLICY: ThrottlePolicy = Object.freeze({
  maxFailures: 5,
  windowMs: 15 * MINUTE,
  baseLockMs: 15 * MINUTE,
  maxLockMs: 24 * 60 * MINUTE,
  forgetAfterMs: 24 * 60 * MINUTE,
});

/** One address gets 20 failures in 15 minutes (a shared office network signs in often). */
export const ADDRESS_POLICY: ThrottlePolicy = Object.freeze({
  maxFailures: 20,
  windowMs: 15 * MINUTE,
  baseLockMs: 15 * MINUTE,
  maxLockMs: 24 * 60 * MINUTE,
  forgetAfterMs: 24 * 60 * MINUTE,
});

export type AttemptDecision =
  | { readonly kind: 'go'; readonly next: ThrottleState }
  | {
      readonly kind: 'locked';
      readonly until: Date;
      /** This attempt started the lock-out (the audit trail records that one, not every refusal after it). */
      readonly started: boolean;
      readonly next: ThrottleState;
    };

/** Whether an attempt may proceed now, and the state to store either way. */
export function beginAttempt(
  state: ThrottleState | undefined,
  now: Date,
  policy: ThrottlePolicy,
): AttemptDecision {
  const current = fresh(state, now, policy);
  if (current.lockedUntil !== null && current.lockedUntil > now) {
    return { kind: 'locked', until: current.lockedUntil, started: false, next: current };
  }
  if (current.failures >= policy.maxFailures) {
    const lockMs = Math.min(policy.baseLockMs * 2 ** current.lockouts, policy.maxLockMs);
    const until = new Date(now.getTime() + lockMs);
    return {
      kind: 'locked',
      until,
      started: true,
      next: { failures: 0, lockouts: current.lockouts + 1, lastAttemptAt: now, lockedUntil: until },
    };
  }
  return {
    kind: 'go',
    next: { ...current, failures: current.failures + 1, lastAttemptAt: now },
  };
}

/**
 * After a successful attempt: the account's count starts over (undefined:
 * delete it); an address only gets this attempt back, so that signing in to
 * one's own account does not reset the count of guesses at others.
 */
export function afterSuccess(
  state: ThrottleState,
  kind: 'account' | 'address',
): ThrottleState | undefined {
  if (kind === 'account') return undefined;
  return { ...state, failures: Math.max(0, state.failures - 1) };
}

function fresh(state: ThrottleState | undefined, now: Date, policy: ThrottlePolicy): ThrottleState {
  const empty: ThrottleState = { failures: 0, lockouts: 0, lastAttemptAt: now, lockedUntil: null };
  if (state === undefined) return empty;
  // Quiet since the last attempt or the end of the last lock-out, whichever
  // is later: sitting out a day-long lock-out must not wipe the slate.
  const since = Math.max(state.lastAttemptAt.getTime(), state.lockedUntil?.getTime() ?? 0);
  const quiet = now.getTime() - since;
  const locked = state.lockedUntil !== null && state.lockedUntil > now;
  if (!locked && quiet > policy.forgetAfterMs) return empty;
  if (!locked && quiet > policy.windowMs) return { ...state, failures: 0 };
  return state;
}

/** The sentence a locked-out caller reads: the same whether or not the account exists. */
export function lockedMessage(until: Date): string {
  return `Too many unsuccessful sign-in attempts for this account or from this address. Try again after ${until.toISOString()}.`;
}
