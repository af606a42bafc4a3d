import { TakedownError } from '../errors.js';

/**
 * `--since`: only items changed since a time, given as an ISO date
 * ("2025-03-01", "2025-03-01T12:00:00Z") or as an age ("7d", "12h", "90m",
 * "2w", "30s"). Ages count back from `now`, which the caller passes so that
 * a scan resolves the time once and records it in its state.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

export function parseSince(text: string, now: Date): Date {
  const trimmed = text.trim();
  const age = /^(\d+)\s*([smhdw])$/i.exec(trimmed);
  if (age) {
    const ms = Number(age[1]) * UNIT_MS[age[2].toLowerCase()];
    return new Date(now.getTime() - ms);
  }
  // Date.parse takes many shapes; insist on ISO 8601 so "03/04/2025" is never guessed.
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const time = Date.parse(trimmed.replace(' ', 'T'));
    if (!Number.isNaN(time)) return new Date(time);
  }
  throw new TakedownError(
    'invalid-since',
    `--since ${JSON.stringify(text)} is not a time: give an ISO date such as 2025-03-01 or 2025-03-01T12:00:00Z, or an age such as 7d, 12h, 90m or 2w.`,
  );
}

/** The file times `--since` looks at. */
export interface ChangeTimes {
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/**
 * Changed since `since` when either its content (mtime) or its inode
 * (ctime) changed since. ctime matters because copying or unpacking a file
 * with its old modification time (`cp -p`, `tar x`, `rsync -t`) puts new
 * content on the disk with an old mtime, and nobody can set ctime back.
 */
export function changedSince(times: ChangeTimes, since: Date | undefined): boolean {
  if (since === undefined) return true;
  const at = since.getTime();
  return times.mtimeMs >= at || times.ctimeMs >= at;
}
