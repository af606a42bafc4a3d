import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import { readSetting, writeSetting } from '../store/settings.js';

/**
 * The four-eyes setting: whether an illegal decision (baseline or national)
 * needs a second analyst. Kept in the instance settings table so that every
 * server process sees a change at once; off until a supervisor turns it on
 * (a hotline with one analyst could otherwise decide nothing).
 */

const KEY = 'four-eyes';

export interface FourEyes {
  readonly enabled: boolean;
  /** Who changed it last ("user:3"), and when; null while never set. */
  readonly changedBy: string | null;
  readonly changedAt: string | null;
}

export async function readFourEyes(db: Kysely<Database>): Promise<FourEyes> {
  const value = await readSetting(db, KEY);
  const stored = (typeof value === 'object' && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  return {
    enabled: stored.enabled === true,
    changedBy: typeof stored.changedBy === 'string' ? stored.changedBy : null,
    changedAt: typeof stored.changedAt === 'string' ? stored.changedAt : null,
  };
}

export async function writeFourEyes(
  db: Kysely<Database>,
  enabled: boolean,
  changedBy: string,
  now: Date,
): Promise<FourEyes> {
  const value: FourEyes = { enabled, changedBy, changedAt: now.toISOString() };
  await writeSetting(db, KEY, value);
  return value;
}
