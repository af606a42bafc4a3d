import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../../log.js';
import type { SessionLock } from './session-lock.js';
import { BackendScanner, ENDS_A_TURN, SYNC_MESSAGE, queryMessage, splitFrontend } from './wire.js';
import type { FrontendMessage } from './wire.js';

/**
 * Shares the owner's PGlite with other processes (the CLI beside a running
 * server) over a Unix socket in the data folder: they connect with `pg` as to
 * any PostgreSQL. The folder is private to its user (0700), which is the
 * access control; PGlite accepts any user name and password.
 *
 * We do not use @electric-sql/pglite-socket's server because its queue hands
 * the backend to other clients between the messages of an open transaction
 * as soon as that client pauses, and knows nothing of the owner's own
 * in-process queries: measured, an in-process insert made while a socket
 * client had a transaction open was rolled back with that client's
 * transaction. Here every session, in-process or socket, takes turns on one
 * SessionLock and keeps it until the backend reports it idle (ReadyForQuery 'I').
 */

/** The slice of PGlite this needs. */
export interface RawProtocol {
  execProtocolRawStream(
    message: Uint8Array,
    options: { onRawData: (data: Uint8Array) => void },
  ): Promise<void>;
}

export interface ShareServerOptions {
  readonly pglite: RawProtocol;
  readonly lock: SessionLock;
  readonly socketDir: string;
  readonly logger: Logger;
  /** A client holding a transaction open this long without a word is disconnected. */
  readonly idleInTransactionMs: number;
}

export interface ShareServer {
  readonly socketPath: string;
  readonly connections: number;
  /**
   * Stops accepting connections, then waits for connected clients to leave:
   * forever ('wait'), or at most `graceMs` before disconnecting them (their
   * open transactions roll back; nothing they were told is committed is lost).
   */
  close(grace: number | 'wait'): Promise<void>;
}

/** pg looks for `<host>/.s.PGSQL.<port>`; port 5432 is only a name here. */
export const SOCKET_NAME = '.s.PGSQL.5432';

let sessionCounter = 0;

class SharedSession {
  readonly id = `socket-${(sessionCounter += 1)}`;
  #buffer = new Uint8Array(0);
  #started = false;
  #holding = false;
  #closed = false;
  #work: Promise<void> = Promise.resolve();
  #idleTimer: NodeJS.Timeout | undefined;
  /** Batches received and not yet handled; the idle timer waits for none. */
  #queued = 0;
  readonly #scanner = new BackendScanner();
  readonly finished: Promise<void>;

  constructor(
    readonly socket: net.Socket,
    private readonly options: ShareServerOptions,
  ) {
    let finish: () => void = () => undefined;
    this.finished = new Promise((resolve) => (finish = resolve));
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error) =>
      options.logger.debug({ err: error, session: this.id }, 'socket error'),
    );
    socket.on('close', () => {
      this.#closed = true;
      clearTimeout(this.#idleTimer);
      // Whatever the client left half done is undone before anyone else's turn.
      this.#work = this.#work
        .then(() => this.#endTurn())
        .catch((error: unknown) =>
          options.logger.error(
            { err: error, session: this.id },
            'could not reset a closed session',
          ),
        )
        .finally(finish);
    });
  }

  #receive(chunk: Buffer): void {
    clearTimeout(this.#idleTimer);
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const { messages, consumed, started } = splitFrontend(joined, this.#started);
    this.#buffer = joined.slice(consumed);
    this.#started = started;
    if (messages.length > 0) {
      this.#queued += 1;
      this.#work = this.#work
        .then(() => this.#handle(messages))
        .catch((error: unknown) => {
          this.options.logger.error(
            { err: error, session: this.id },
            'shared database session failed',
          );
          this.socket.destroy();
        });
    }
  }

  async #handle(messages: FrontendMessage[]): Promise<void> {
    try {
      await this.#handleMessages(messages);
    } finally {
      this.#queued -= 1;
    }
    clearTimeout(this.#idleTimer);
    // Holding the backend and nothing more to do: the client is idle in a transaction.
    if (this.#holding && !this.#closed && this.#queued === 0) {
      this.#idleTimer = setTimeout(() => this.#idleTooLong(), this.options.idleInTransactionMs);
      this.#idleTimer.unref();
    }
  }

  async #handleMessages(messages: FrontendMessage[]): Promise<void> {
    let batch: Uint8Array[] = [];
    for (const message of messages) {
      if (this.#closed) return;
      switch (message.kind) {
        case 'encryption-request':
          this.socket.write('N');
          break;
        case 'cancel-request':
          this.socket.end();
          return;
        case 'invalid':
          this.options.logger.warn(
            { session: this.id, reason: message.reason },
            'closing a connection that does not speak the PostgreSQL protocol',
          );
          this.socket.destroy();
          return;
        case 'startup':
          await this.#run([message.bytes]);
          break;
        case 'message':
          if (message.type === 'X') {
            this.socket.end(); // Terminate; 'close' undoes anything left open
            return;
          }
          batch.push(message.bytes);
          // A turn may end at Sync or Query; run up to there so the turn can end.
          if (ENDS_A_TURN.has(message.type)) {
            await this.#run(batch);
            batch = [];
          }
      }
    }
    if (batch.length > 0) await this.#run(batch);
  }

  #idleTooLong(): void {
    this.options.logger.warn(
      { session: this.id, idleMs: this.options.idleInTransactionMs },
      'disconnecting a client that kept a transaction open without activity; its transaction is rolled back',
    );
    this.socket.destroy();
  }

  /** Runs client messages on the backend, during this session's turn. */
  async #run(messages: Uint8Array[]): Promise<void> {
    if (!this.#holding) {
      await this.options.lock.acquire(this.id);
      this.#holding = true;
      if (this.#closed) return this.#endTurn();
    }
    this.#scanner.reset();
    await this.options.pglite.execProtocolRawStream(concat(messages), {
      onRawData: (data) => {
        this.#scanner.feed(data);
        // The data is a view into PGlite's memory, reused by the next call: copy it.
        if (!this.#closed) this.socket.write(Buffer.from(data));
      },
    });
    if (this.#scanner.status === 'I') {
      this.#holding = false;
      this.options.lock.release(this.id);
    }
  }

  /** After the client is gone: end any half-sent query, roll back, give the turn back. */
  async #endTurn(): Promise<void> {
    if (!this.#holding) return;
    try {
      this.#scanner.reset();
      await this.options.pglite.execProtocolRawStream(SYNC_MESSAGE, {
        onRawData: (d) => this.#scanner.feed(d),
      });
      if (this.#scanner.status === 'T' || this.#scanner.status === 'E') {
        await this.options.pglite.execProtocolRawStream(queryMessage('ROLLBACK'), {
          onRawData: () => undefined,
        });
      }
    } finally {
      this.#holding = false;
      this.options.lock.release(this.id);
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export async function startShareServer(options: ShareServerOptions): Promise<ShareServer> {
  await fs.mkdir(options.socketDir, { recursive: true, mode: 0o700 });
  const socketPath = path.join(options.socketDir, SOCKET_NAME);
  // We hold the folder's lock, so a socket file here is a dead owner's leftover.
  await fs.rm(socketPath, { force: true });
  const sessions = new Set<SharedSession>();
  const server = net.createServer((socket) => {
    const session = new SharedSession(socket, options);
    sessions.add(session);
    void session.finished.then(() => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fs.chmod(socketPath, 0o600);
  return {
    socketPath,
    get connections() {
      return sessions.size;
    },
    async close(grace) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const allFinished = async (): Promise<void> => {
        while (sessions.size > 0) await Promise.all([...sessions].map((s) => s.finished));
      };
      if (grace === 'wait') {
        const timer = setInterval(() => {
          options.logger.info(
            { connections: sessions.size },
            'waiting for other commands that use this database to finish',
          );
        }, 10_000);
        await allFinished().finally(() => clearInterval(timer));
      } else {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)));
        await Promise.race([allFinished(), deadline]);
        clearTimeout(timer);
        for (const session of sessions) session.socket.destroy();
        await allFinished();
      }
      await closed;
    },
  };
}
