import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { TakedownError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Database } from '../database.js';
import { migrateToLatest } from '../migrate.js';
import { connectPostgres } from '../postgres.js';
import { openPgliteDir } from './data-dir.js';
import { openInProcess } from './in-process.js';
import { newToken, readOwner, release, stillOwned, tryAcquire } from './owner-lock.js';
import type { OwnerRecord, OwnerRole } from './owner-lock.js';
import { currentProcess } from './process-identity.js';
import { SessionLock } from './session-lock.js';
import { SOCKET_NAME, startShareServer } from './share-server.js';
import type { ShareServer } from './share-server.js';

/**
 * The embedded database in a data folder, opened by whichever process gets
 * there first and shared with the others:
 *
 *   <data>/pglite/        the database (PGlite, PostgreSQL in WebAssembly)
 *   <data>/pglite.lock    who owns it (owner-lock.ts)
 *   <data>/socket/        where the owner shares it (.s.PGSQL.5432)
 *
 * The server ('server' role) always owns the folder: if a command has it open,
 * the server waits for that command to finish. A command ('command' role)
 * owns the folder when nobody does, and otherwise connects through the owner,
 * so an operator never meets a lock error.
 */

export interface EmbeddedOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  readonly role: OwnerRole;
  /** What this process is running, shown to processes that wait for it. */
  readonly command: string;
  readonly migrate: boolean;
  /** How long a server, when closing, lets connected commands finish. */
  readonly shutdownGraceMs: number;
  /** How long a command waits for an owner that is starting or stopping. */
  readonly waitForOwnerMs?: number;
  readonly idleInTransactionMs?: number;
  /** Gives up waiting for the folder when aborted. */
  readonly signal?: AbortSignal;
}

/** Unix socket paths are limited to 107 bytes; longer data folder paths share from /tmp. */
const MAX_SOCKET_PATH = 100;
const LOG_WAITING_EVERY_MS = 30_000;

export function embeddedPaths(dataDir: string): {
  database: string;
  lock: string;
  socketDir: string;
} {
  return {
    database: path.join(dataDir, 'pglite'),
    lock: path.join(dataDir, 'pglite.lock'),
    socketDir: path.join(dataDir, 'socket'),
  };
}

export async function openEmbedded(options: EmbeddedOptions): Promise<Kysely<Database>> {
  const paths = embeddedPaths(options.dataDir);
  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const socketDir = await plannedSocketDir(paths.socketDir);
  const removeTempSocketDir = async (): Promise<void> => {
    if (socketDir !== paths.socketDir) await fs.rm(socketDir, { recursive: true, force: true });
  };
  try {
    const opened = await acquireOrConnect(options, socketDir);
    if (!opened.owner) await removeTempSocketDir();
    return opened.db;
  } catch (error) {
    await removeTempSocketDir();
    throw error;
  }
}

async function acquireOrConnect(
  options: EmbeddedOptions,
  socketDir: string,
): Promise<{ db: Kysely<Database>; owner: boolean }> {
  const { dataDir, logger, role } = options;
  const paths = embeddedPaths(dataDir);
  const start = Date.now();
  let lastWaitLog = -Infinity;
  const waitLog = (message: string, owner: OwnerRecord): void => {
    if (Date.now() - lastWaitLog < LOG_WAITING_EVERY_MS) return;
    lastWaitLog = Date.now();
    logger.info({ dataDir, ownerPid: owner.pid, ownerCommand: owner.command }, message);
  };
  for (;;) {
    if (options.signal?.aborted) {
      throw new TakedownError('aborted', 'Stopped while waiting for the data folder.', {
        kind: 'unavailable',
      });
    }
    const candidate: OwnerRecord = {
      ...currentProcess(),
      token: newToken(),
      role,
      command: options.command,
      socketDir,
      since: new Date().toISOString(),
    };
    const result = await tryAcquire(paths.lock, candidate);
    if (result.kind === 'acquired') {
      if (result.recovered !== undefined) {
        logger.warn(
          { dataDir, stalePid: result.recovered.pid, staleCommand: result.recovered.command },
          'recovered the data folder from a process that ended without closing it',
        );
      }
      // Someone who moved our fresh lock aside while recovering may have won after all.
      if (!(await stillOwned(paths.lock, candidate))) continue;
      return { db: await becomeOwner(options, candidate), owner: true };
    }
    const owner = result.owner;
    if (result.where === 'other-host') {
      throw new TakedownError(
        'data-folder-in-use',
        `The data folder ${dataDir} is in use by process ${owner.pid} on host ${owner.host}; run this there, or, if that process is gone, delete ${paths.lock}.`,
        { kind: 'conflict' },
      );
    }
    if (role === 'server') {
      if (owner.role === 'server') {
        throw new TakedownError(
          'data-folder-in-use',
          `Another Takedown server (process ${owner.pid}) already uses the data folder ${dataDir}. Stop it first; several servers need a PostgreSQL server (DATABASE_URL).`,
          { kind: 'conflict' },
        );
      }
      waitLog(
        `the data folder is in use by "${owner.command}" (process ${owner.pid}); waiting for it to finish before starting`,
        owner,
      );
      await sleep(200);
      continue;
    }
    const shared = await connectThrough(owner, options);
    if (shared !== undefined) return { db: shared, owner: false };
    if (Date.now() - start > (options.waitForOwnerMs ?? 60_000)) {
      throw new TakedownError(
        'database-unavailable',
        `Process ${owner.pid} ("${owner.command}") has the database in ${dataDir} open but does not answer on ${path.join(owner.socketDir, SOCKET_NAME)}; try again, or stop that process.`,
        { kind: 'unavailable' },
      );
    }
    if (Date.now() - start > 1_000)
      waitLog(`waiting for "${owner.command}" (process ${owner.pid}) to share the database`, owner);
    await sleep(100);
  }
}

async function plannedSocketDir(preferred: string): Promise<string> {
  if (path.join(preferred, SOCKET_NAME).length <= MAX_SOCKET_PATH) return preferred;
  return fs.mkdtemp(path.join(os.tmpdir(), 'takedown-'));
}

async function becomeOwner(
  options: EmbeddedOptions,
  record: OwnerRecord,
): Promise<Kysely<Database>> {
  const { logger } = options;
  const paths = embeddedPaths(options.dataDir);
  const cleanUp = async (): Promise<void> => {
    await release(paths.lock, record);
    if (record.socketDir !== paths.socketDir)
      await fs.rm(record.socketDir, { recursive: true, force: true });
  };
  let pglite;
  try {
    pglite = await openPgliteDir(paths.database, logger);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const lock = new SessionLock();
  let share: ShareServer | undefined;
  const opened = pglite;
  const { db } = openInProcess(opened, lock, {
    logger,
    // Connected commands finish (a stopping server gives them a grace period) before the database closes.
    beforeClose: async () => {
      await share?.close(options.role === 'server' ? options.shutdownGraceMs : 'wait');
    },
    afterClose: async () => {
      await opened.close();
      await cleanUp();
      logger.debug({ dataDir: options.dataDir }, 'closed the embedded database');
    },
  });
  try {
    if (options.migrate) await migrateToLatest(db, logger);
    share = await startShareServer({
      pglite: opened,
      lock,
      socketDir: record.socketDir,
      logger,
      idleInTransactionMs: options.idleInTransactionMs ?? 60_000,
    });
  } catch (error) {
    await db.destroy();
    throw error;
  }
  logger.debug(
    { dataDir: options.dataDir, socket: share.socketPath },
    'opened the embedded database; other commands reach it through the socket',
  );
  return db;
}

async function connectThrough(
  owner: OwnerRecord,
  options: EmbeddedOptions,
): Promise<Kysely<Database> | undefined> {
  const db = connectPostgres(
    {
      host: owner.socketDir,
      port: 5432,
      user: 'postgres',
      database: 'postgres',
      // The owner serialises sessions anyway. The one connection is kept: the
      // owner may stop listening (while it waits for us) and a reconnect would fail.
      max: 1,
      idleTimeoutMillis: 0,
    },
    options.logger,
  );
  try {
    await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
  } catch (error) {
    await db.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    // Starting (no socket yet) or stopping (no longer listening): try again shortly.
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET') return undefined;
    throw error;
  }
  options.logger.debug(
    { dataDir: options.dataDir, ownerPid: owner.pid, ownerCommand: owner.command },
    'using the embedded database through the process that has it open',
  );
  if (options.migrate) await migrateToLatest(db, options.logger);
  return db;
}

/** The current owner of a data folder, for `takedown db status`. */
export async function embeddedOwner(dataDir: string): Promise<OwnerRecord | undefined> {
  return readOwner(embeddedPaths(dataDir).lock);
}
