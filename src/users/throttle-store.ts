import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/database.js';
import { afterSuccess, beginAttempt } from './throttle.js';
import type { ThrottlePolicy, ThrottleState } from './throttle.js';
import { ACCOUNT_POLICY, ADDRESS_POLICY } from './throttle.js';

/** The throttle's state in the login_throttle table; the decisions are in throttle.ts. */

export interface ThrottleKey {
  readonly key: string;
  readonly kind: 'account' | 'address';
  readonly policy: ThrottlePolicy;
}

/** The keys one sign-in attempt counts against. */
export function signInKeys(email: string, address: string | null): ThrottleKey[] {
  return [
    { key: `account:${email}`, kind: 'account', policy: ACCOUNT_POLICY },
    { key: `address:${address ?? 'unknown'}`, kind: 'address', policy: ADDRESS_POLICY },
  ];
}

export type AttemptResult =
  | { readonly kind: 'go' }
  | { readonly kind: 'locked'; readonly until: Date; readonly started: boolean };

/**
 * Counts an attempt against every key, or refuses it when one is locked
 * (then nothing else is counted). Rows are locked in key order, so two
 * attempts on the same keys never deadlock.
 */
export async function beginAttempts(
  db: Kysely<Database>,
  keys: readonly ThrottleKey[],
  now: Date,
): Promise<AttemptResult> {
  return db.transaction().execute(async (trx) => {
    const sorted = [...keys].sort((a, b) => a.key.localeCompare(b.key));
    const decisions = [];
    for (const key of sorted) {
      await ensureRow(trx, key.key, now);
      const state = await lockState(trx, key.key);
      decisions.push({ key, decision: beginAttempt(state, now, key.policy) });
    }
    const locked = decisions.filter((d) => d.decision.kind === 'locked');
    for (const { key, decision } of locked.length > 0 ? locked : decisions) {
      await saveState(trx, key.key, decision.next);
    }
    if (locked.length === 0) return { kind: 'go' };
    const until = new Date(
      Math.max(
        ...locked.map((d) => (d.decision.kind === 'locked' ? d.decision.until.getTime() : 0)),
      ),
    );
    const started = locked.some((d) => d.decision.kind === 'locked' && d.decision.started);
    return { kind: 'locked', until, started };
  });
}

/** Takes a successful attempt back (see afterSuccess). */
export async function settleSuccess(
  db: Kysely<Database> | Transaction<Database>,
  keys: readonly ThrottleKey[],
): Promise<void> {
  const run = async (trx: Transaction<Database>): Promise<void> => {
    for (const key of [...keys].sort((a, b) => a.key.localeCompare(b.key))) {
      const state = await lockState(trx, key.key);
      if (state === undefined) continue;
      const next = afterSuccess(state, key.kind);
      if (next === undefined)
        await trx.deleteFrom('login_throttle').where('key', '=', key.key).execute();
      else await saveState(trx, key.key, next);
    }
  };
  if (db.isTransaction) await run(db as Transaction<Database>);
  else await db.transaction().execute(run);
}

async function lockState(
  trx: Transaction<Database>,
  key: string,
): Promise<ThrottleState | undefined> {
  const row = await trx
    .selectFrom('login_throttle')
    .selectAll()
    .where('key', '=', key)
    .forUpdate()
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : {
        failures: row.failures,
        lockouts: row.lockouts,
        lastAttemptAt: row.last_attempt_at,
        lockedUntil: row.locked_until,
      };
}

async function saveState(
  trx: Transaction<Database>,
  key: string,
  state: ThrottleState,
): Promise<void> {
  await trx
    .updateTable('login_throttle')
    .set({
      failures: state.failures,
      lockouts: state.lockouts,
      last_attempt_at: state.lastAttemptAt,
      locked_until: state.lockedUntil,
    })
    .where('key', '=', key)
    .execute();
}

/**
 * Makes sure the key's row exists before locking it: two first attempts at
 * once would otherwise both find nothing to lock and count one attempt.
 */
async function ensureRow(trx: Transaction<Database>, key: string, now: Date): Promise<void> {
  await trx
    .insertInto('login_throttle')
    .values({ key, failures: 0, lockouts: 0, last_attempt_at: now, locked_until: null })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
}
