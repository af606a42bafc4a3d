import type { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Kysely, PostgresDialect } from 'kysely';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Logger } from '../../log.js';
import type { Database } from '../database.js';
import { kyselyLog } from '../query-log.js';
import { PG_TYPES } from '../pg-types.js';
import { isBackground } from '../priority.js';
import type { SessionLock } from './session-lock.js';

/**
 * Kysely over a PGlite in this process, through PGlite's node-postgres
 * adapter: the same `pg` client code, wire format and type parsers as on a
 * PostgreSQL server, without a socket. Measured on this machine against
 * Kysely's PostgresDialect over a loopback socket to the same PGlite: about
 * 200-250 µs per single-row insert or primary-key select in-process against
 * 270-300 µs through the socket; PGlite's own query() was no faster.
 *
 * Each Kysely connection (one query, or a whole transaction) is a turn on the
 * SessionLock shared with the socket clients (share-server.ts).
 */

const SLOW_TURN_WARNING_MS = 5_000;

export interface InProcessDatabase {
  readonly db: Kysely<Database>;
  /** For leak checks in tests: who holds the backend, and how many wait. */
  readonly lock: SessionLock;
}

export interface InProcessOptions {
  readonly logger: Logger;
  /** Runs first when Kysely's destroy() is called, while queries may still run. */
  readonly beforeClose?: () => Promise<void>;
  /** Runs last, after every turn has ended and the client is closed. */
  readonly afterClose: () => Promise<void>;
}

export function openInProcess(
  pglite: PGlite,
  lock: SessionLock,
  options: InProcessOptions,
): InProcessDatabase {
  const pool = new SessionPool(pglite, lock, options);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: kyselyLog(options.logger),
  });
  return { db, lock };
}

let turnCounter = 0;

class SessionPool implements PostgresPool {
  #client: Promise<pg.Client> | undefined;

  readonly #logger: Logger;

  constructor(
    private readonly pglite: PGlite,
    private readonly lock: SessionLock,
    private readonly options: InProcessOptions,
  ) {
    this.#logger = options.logger;
  }

  #connected(): Promise<pg.Client> {
    this.#client ??= (async () => {
      const config = createPgConfig(this.pglite);
      const client = new pg.Client({ ...config, types: PG_TYPES } as pg.ClientConfig);
      await client.connect();
      return client;
    })();
    return this.#client;
  }

  async connect(): Promise<PostgresPoolClient> {
    const who = `in-process-${(turnCounter += 1)}`;
    const slow = setTimeout(() => {
      this.#logger.warn(
        { holder: this.lock.holder, waiting: this.lock.waiting },
        'waiting more than 5 s for the embedded database: a long transaction holds it (or code queries `db` inside a transaction instead of `trx`, which deadlocks on PGlite)',
      );
    }, SLOW_TURN_WARNING_MS);
    await this.lock.acquire(who, isBackground());
    clearTimeout(slow);
    let client: pg.Client;
    try {
      client = await this.#connected();
    } catch (error) {
      this.lock.release(who);
      throw error;
    }
    let released = false;
    return {
      query: ((text: string, values: unknown[]) =>
        client.query(text, values)) as unknown as PostgresPoolClient['query'],
      release: () => {
        if (released) return;
        released = true;
        void this.#endTurn(who, client);
      },
    };
  }

  /** Kysely always commits or rolls back; should anything slip through, the next turn must not inherit it. */
  async #endTurn(who: string, client: pg.Client): Promise<void> {
    try {
      if (this.pglite.isInTransaction()) {
        this.#logger.error(
          'a database connection was released inside a transaction; rolling it back',
        );
        await client.query('ROLLBACK');
      }
    } finally {
      this.lock.release(who);
    }
  }

  async end(): Promise<void> {
    await this.options.beforeClose?.();
    // Wait for every turn in progress and queued, then close for good.
    await this.lock.acquire('closing');
    try {
      const client = await this.#client;
      await client?.end();
    } finally {
      this.lock.release('closing');
    }
    await this.options.afterClose();
  }
}
