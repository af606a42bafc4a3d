import { describe, expect, it } from 'vitest';
import { ACCOUNT_POLICY, afterSuccess, beginAttempt, lockedMessage } from './throttle.js';
import type { ThrottleState } from './throttle.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

function run(state: ThrottleState | undefined, times: Date[]) {
  const decisions = [];
  let current = state;
  for (const now of times) {
    const decision = beginAttempt(current, now, ACCOUNT_POLICY);
    decisions.push(decision.kind);
    current = decision.next;
  }
  return { decisions, state: current };
}

describe('sign-in throttle', () => {
  it('allows five attempts, then locks for 15 minutes', () => {
    const { decisions, state } = run(undefined, [at(0), at(1), at(2), at(3), at(4), at(5)]);
    expect(decisions).toEqual(['go', 'go', 'go', 'go', 'go', 'locked']);
    expect(state?.lockedUntil).toEqual(at(20));
    expect(beginAttempt(state, at(19), ACCOUNT_POLICY).kind).toBe('locked');
    expect(beginAttempt(state, at(20.1), ACCOUNT_POLICY).kind).toBe('go');
  });

  it('doubles each further lock-out, up to a day', () => {
    let state: ThrottleState | undefined;
    const locks: number[] = [];
    let now = 0;
    for (let round = 0; round < 9; round++) {
      for (let i = 0; i < 6; i++) {
        const decision = beginAttempt(state, at(now), ACCOUNT_POLICY);
        state = decision.next;
        if (decision.kind === 'locked') {
          locks.push((decision.until.getTime() - at(now).getTime()) / 60_000);
          now = (decision.until.getTime() - t0.getTime()) / 60_000 + 0.1;
          break;
        }
      }
    }
    expect(locks).toEqual([15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
  });

  it('forgets failures after a quiet quarter of an hour, lock-outs a quiet day after the last one ended', () => {
    const { state } = run(undefined, [at(0), at(1), at(2), at(3)]);
    expect(beginAttempt(state, at(20), ACCOUNT_POLICY).next.failures).toBe(1);
    const locked = run(undefined, [at(0), at(1), at(2), at(3), at(4), at(5)]).state;
    expect(beginAttempt(locked, at(21), ACCOUNT_POLICY).next.lockouts).toBe(1);
    expect(beginAttempt(locked, at(20 + 24 * 60 - 1), ACCOUNT_POLICY).next.lockouts).toBe(1);
    expect(beginAttempt(locked, at(20 + 24 * 60 + 1), ACCOUNT_POLICY).next.lockouts).toBe(0);
  });

  it('gives a success back: all of it for the account, one attempt for the address', () => {
    const { state } = run(undefined, [at(0), at(1)]);
    if (state === undefined) throw new Error('no state');
    expect(afterSuccess(state, 'account')).toBeUndefined();
    expect(afterSuccess(state, 'address')?.failures).toBe(1);
  });

  it('says when to come back without saying whether the account exists', () => {
    expect(lockedMessage(at(15))).toBe(
      'Too many unsuccessful sign-in attempts for this account or from this address. Try again after 2026-01-01T00:15:00.000Z.',
    );
  });
});
