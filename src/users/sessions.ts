import type { Kysely, Transaction } from 'kysely';
import type { Principal } from '../access/principal.js';
import type { Role } from '../access/principal.js';
import type { Database } from '../store/database.js';
import { randomToken, sha256Hex } from './secrets.js';
import type { SessionStage } from './tables.js';

/**
 * Sessions: a random token in an HttpOnly cookie, stored only as its SHA-256,
 * so the server can end any session at once (sign-out, disabled account,
 * new password, 2FA reset) and a copy of the table lets nobody in.
 *
 * A session starts at a sign-in step ('totp', 'enrol', 'password') with a
 * short life, and becomes 'active' with a new token once every step is done.
 */

export interface SessionPolicy {
  /** An active session ends after this long without a request. */
  readonly idleMs: number;
  /** An active session ends this long after sign-in, however busy. */
  readonly absoluteMs: number;
  /** A half-finished sign-in ends after this long. */
  readonly signInMs: number;
}

export function sessionPolicy(config: {
  sessionIdleMinutes: number;
  sessionMaxHours: number;
}): SessionPolicy {
  return {
    idleMs: config.sessionIdleMinutes * 60_000,
    absoluteMs: config.sessionMaxHours * 3_600_000,
    signInMs: 10 * 60_000,
  };
}

/** Writing last_seen_at on every request would turn reads into writes; once a minute is precise enough. */
const TOUCH_AFTER_MS = 60_000;

export interface SessionRow {
  readonly stage: SessionStage;
  readonly last_seen_at: Date;
  readonly expires_at: Date;
  readonly revoked_at: Date | null;
  readonly disabled_at: Date | null;
}

export type SessionJudgement =
  | { readonly kind: 'valid'; readonly touch: boolean }
  | { readonly kind: 'ended'; readonly reason: 'revoked' | 'expired' | 'idle' | 'disabled' };

/** Whether a stored session still lets its holder in at `now` (pure). */
export function judgeSession(row: SessionRow, now: Date, policy: SessionPolicy): SessionJudgement {
  if (row.revoked_at !== null) return { kind: 'ended', reason: 'revoked' };
  if (row.disabled_at !== null) return { kind: 'ended', reason: 'disabled' };
  if (row.expires_at <= now) return { kind: 'ended', reason: 'expired' };
  const idle = now.getTime() - row.last_seen_at.getTime();
  if (row.stage === 'active' && idle > policy.idleMs) return { kind: 'ended', reason: 'idle' };
  return { kind: 'valid', touch: idle > TOUCH_AFTER_MS };
}

export interface NewSession {
  /** Goes into the cookie; never stored. */
  readonly token: string;
  readonly id: string;
  readonly csrfToken: string;
  readonly stage: SessionStage;
  readonly expiresAt: Date;
}

export function sessionId(token: string): string {
  return sha256Hex(token);
}

export async function createSession(
  db: Kysely<Database> | Transaction<Database>,
  input: {
    userId: number;
    stage: SessionStage;
    now: Date;
    policy: SessionPolicy;
    ip: string | null;
    userAgent: string | null;
  },
): Promise<NewSession> {
  const token = randomToken();
  const id = sessionId(token);
  const csrfToken = randomToken();
  const lifetime = input.stage === 'active' ? input.policy.absoluteMs : input.policy.signInMs;
  const expiresAt = new Date(input.now.getTime() + lifetime);
  await db
    .insertInto('user_session')
    .values({
      id,
      user_id: input.userId,
      stage: input.stage,
      csrf_token: csrfToken,
      ip: input.ip,
      user_agent: input.userAgent?.slice(0, 512) ?? null,
      created_at: input.now,
      last_seen_at: input.now,
      expires_at: expiresAt,
      revoked_at: null,
      revoked_reason: null,
    })
    .execute();
  return { token, id, csrfToken, stage: input.stage, expiresAt };
}

/**
 * Moves a session to its next stage under a new token (the old cookie stops
 * working: a token seen before sign-in finished is worth nothing after).
 */
export async function advanceSession(
  db: Kysely<Database> | Transaction<Database>,
  id: string,
  stage: SessionStage,
  now: Date,
  policy: SessionPolicy,
): Promise<NewSession> {
  const token = randomToken();
  const next = sessionId(token);
  const csrfToken = randomToken();
  const lifetime = stage === 'active' ? policy.absoluteMs : policy.signInMs;
  const expiresAt = new Date(now.getTime() + lifetime);
  const result = await db
    .updateTable('user_session')
    .set({ id: next, stage, csrf_token: csrfToken, last_seen_at: now, expires_at: expiresAt })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new Error(`session ${id.slice(0, 8)} vanished`);
  return { token, id: next, csrfToken, stage, expiresAt };
}

export interface SessionLookup extends SessionRow {
  readonly id: string;
  readonly user_id: number;
  readonly csrf_token: string;
  readonly email: string;
  readonly role: Role;
  readonly provider_id: number | null;
}

export async function findSession(
  db: Kysely<Database>,
  token: string,
): Promise<SessionLookup | undefined> {
  return db
    .selectFrom('user_session as s')
    .innerJoin('app_user as u', 'u.id', 's.user_id')
    .select([
      's.id',
      's.user_id',
      's.stage',
      's.csrf_token',
      's.last_seen_at',
      's.expires_at',
      's.revoked_at',
      'u.disabled_at',
      'u.email',
      'u.role',
      'u.provider_id',
    ])
    .where('s.id', '=', sessionId(token))
    .executeTakeFirst();
}

export async function touchSession(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db.updateTable('user_session').set({ last_seen_at: now }).where('id', '=', id).execute();
}

/** The principal a valid session stands for. */
export function sessionPrincipal(session: SessionLookup): Principal {
  if (session.stage === 'active') {
    return {
      kind: 'user',
      userId: session.user_id,
      email: session.email,
      role: session.role,
      providerId: session.provider_id,
      sessionId: session.id,
    };
  }
  return {
    kind: 'signing-in',
    userId: session.user_id,
    email: session.email,
    sessionId: session.id,
    step: session.stage,
  };
}

export async function revokeSession(
  db: Kysely<Database> | Transaction<Database>,
  id: string,
  reason: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('user_session')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Ends every session of a user (except `keep`), returning how many were open. */
export async function revokeUserSessions(
  db: Kysely<Database> | Transaction<Database>,
  userId: number,
  reason: string,
  now: Date,
  keep?: string,
): Promise<number> {
  let query = db
    .updateTable('user_session')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now);
  if (keep !== undefined) query = query.where('id', '!=', keep);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}
