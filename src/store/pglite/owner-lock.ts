import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { liveness } from './process-identity.js';
import type { ProcessIdentity } from './process-identity.js';

/**
 * Which process owns an embedded database folder. PGlite is one PostgreSQL
 * backend inside one process, so exactly one process may open the folder; it
 * records itself in a lock file and shares the database with the others over
 * a Unix socket (see share-server.ts).
 *
 * The lock file is created with link(2), which is atomic: the file appears
 * whole or not at all, and only one of several racing processes succeeds. A
 * lock left behind by a process that died (SIGKILL, power loss) is recognised
 * by its recorded identity (process-identity.ts) and removed by renaming it
 * aside first, so that two processes recovering at once cannot delete each
 * other's fresh lock: only the one whose rename moved the stale file deletes it.
 */

export type OwnerRole = 'server' | 'command';

export interface OwnerRecord extends ProcessIdentity {
  /** Random; tells this ownership apart from any other by the same pid. */
  readonly token: string;
  readonly role: OwnerRole;
  /** What the owner is running, for messages such as "waiting for takedown bank import". */
  readonly command: string;
  /** Folder of the Unix socket `.s.PGSQL.5432` through which the owner shares the database. */
  readonly socketDir: string;
  readonly since: string;
}

export type AcquireResult =
  | {
      readonly kind: 'acquired';
      readonly record: OwnerRecord;
      /** The stale lock this call removed, if any (for the log). */
      readonly recovered: OwnerRecord | undefined;
    }
  | { readonly kind: 'held'; readonly owner: OwnerRecord; readonly where: 'alive' | 'other-host' };

export function newToken(): string {
  return randomBytes(12).toString('hex');
}

async function readRecord(path: string): Promise<OwnerRecord | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const record = JSON.parse(text) as OwnerRecord;
    return typeof record.pid === 'number' && typeof record.token === 'string'
      ? record
      : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

const isCode = (error: unknown, code: string): boolean =>
  (error as NodeJS.ErrnoException | undefined)?.code === code;

/**
 * Takes the lock at `lockPath` for `candidate`, or reports the live owner.
 * Never waits: callers decide whether to wait, connect or give up.
 */
export async function tryAcquire(lockPath: string, candidate: OwnerRecord): Promise<AcquireResult> {
  const temp = `${lockPath}.${candidate.pid}.${candidate.token}.new`;
  await fs.writeFile(temp, `${JSON.stringify(candidate, null, 2)}\n`, { mode: 0o600 });
  let recovered: OwnerRecord | undefined;
  try {
    // A handful of rounds covers every interleaving with other recovering processes.
    for (let round = 0; round < 20; round += 1) {
      try {
        await fs.link(temp, lockPath);
        return { kind: 'acquired', record: candidate, recovered };
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
      }
      const current = await readRecord(lockPath);
      if (current === 'missing') continue;
      if (current !== 'unreadable') {
        const where = liveness(current);
        if (where !== 'dead') return { kind: 'held', owner: current, where };
      }
      if (await removeIfUnchanged(lockPath, current, candidate.token)) {
        if (current !== 'unreadable') recovered = current;
      }
    }
    throw new Error(`could not take ${lockPath}: it keeps changing`);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/**
 * Removes the lock file if it still holds `expected`. Renaming is atomic, so
 * exactly one remover gets the file; whoever moved a lock that had meanwhile
 * been replaced by a live owner puts it back.
 */
async function removeIfUnchanged(
  lockPath: string,
  expected: OwnerRecord | 'unreadable',
  myToken: string,
): Promise<boolean> {
  const aside = `${lockPath}.${myToken}.stale`;
  try {
    await fs.rename(lockPath, aside);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false;
    throw error;
  }
  const moved = await readRecord(aside);
  const same =
    expected === 'unreadable'
      ? moved === 'unreadable'
      : typeof moved === 'object' && moved.token === expected.token;
  if (!same) {
    // We moved someone's fresh lock: restore it. If yet another process has
    // created one in between, theirs stands and this one's owner finds out
    // through stillOwned() before it opens the database.
    await fs.link(aside, lockPath).catch((error: unknown) => {
      if (!isCode(error, 'EEXIST')) throw error;
    });
  }
  await fs.rm(aside, { force: true });
  return same;
}

/** Whether the lock file still names `record` (checked before opening the database). */
export async function stillOwned(lockPath: string, record: OwnerRecord): Promise<boolean> {
  const current = await readRecord(lockPath);
  return typeof current === 'object' && current.token === record.token;
}

/** The current owner, if the lock file exists and is readable. */
export async function readOwner(lockPath: string): Promise<OwnerRecord | undefined> {
  const current = await readRecord(lockPath);
  return typeof current === 'object' ? current : undefined;
}

/** Removes the lock if it is still ours. */
export async function release(lockPath: string, record: OwnerRecord): Promise<void> {
  if (await stillOwned(lockPath, record)) await fs.rm(lockPath, { force: true });
}
