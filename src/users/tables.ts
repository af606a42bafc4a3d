import type { Generated } from 'kysely';
import type { Role } from '../access/principal.js';

/** Row types of the account tables (migration 0002-accounts). */

export interface AppUserTable {
  id: Generated<number>;
  /** Lower case; unique. */
  email: string;
  role: Role;
  provider_id: number | null;
  /** An argon2id PHC string; null until a password is set. */
  password_hash: string | null;
  must_change_password: Generated<boolean>;
  password_expires_at: Date | null;
  /** Base32 TOTP secret once two-factor sign-in is confirmed. */
  totp_secret: string | null;
  /** Handed out by enrolment, kept here until the first code confirms it. */
  totp_pending_secret: string | null;
  totp_enabled_at: Date | null;
  totp_last_step: number | null;
  disabled_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** 'active' is a signed-in session; the others are steps of signing in. */
export type SessionStage = 'totp' | 'enrol' | 'password' | 'active';

export interface UserSessionTable {
  /** SHA-256 (hex) of the cookie's token. */
  id: string;
  user_id: number;
  stage: SessionStage;
  csrf_token: string;
  second_factor_failures: Generated<number>;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export interface RecoveryCodeTable {
  id: Generated<number>;
  user_id: number;
  /** SHA-256 (hex) of the normalized code; codes carry 80 random bits, so a fast hash is enough. */
  code_hash: string;
  created_at: Generated<Date>;
  used_at: Date | null;
}

export interface LoginThrottleTable {
  key: string;
  failures: number;
  lockouts: number;
  last_attempt_at: Date;
  locked_until: Date | null;
}

export interface UserTables {
  app_user: AppUserTable;
  user_session: UserSessionTable;
  recovery_code: RecoveryCodeTable;
  login_throttle: LoginThrottleTable;
}
