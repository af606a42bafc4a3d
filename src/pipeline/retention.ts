/**
 * When kept evidence expires, and when the retention job runs next. Pure.
 * Media is deleted a fixed time after it was stored, whether or not an
 * analyst has looked at it yet: the retention period is a promise to the
 * people shown, not a work target. Items keep hashes, matches and decisions.
 */

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** Media stored before this time is due for deletion. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * DAY_MS);
}

/** The retention job runs at the start of every hour; this is the next one after `now`. */
export function nextRetentionRun(now: Date): Date {
  return new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS);
}

/** One job per hour slot: every process may schedule it, the job key keeps it single. */
export function retentionJobKey(runAt: Date): string {
  return `media-retention:${runAt.toISOString()}`;
}
