import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import type { Database } from '../../src/store/database.js';
import { openDatabase, readSetting, writeSetting } from '../../src/store/index.js';
import { embeddedPaths, openEmbedded } from '../../src/store/pglite/embedded.js';
import { CLI, ROOT, requireBuild, start, waitForReady } from '../support/processes.js';
import type { Child } from '../support/processes.js';
import { seedDataDir } from '../support/db.js';
import { makeTempDir } from '../support/temp.js';

/**
 * PGlite allows one process; Takedown lets the server and any number of
 * commands use one data folder at once. These tests run real processes.
 */

const CLIENT = path.join(ROOT, 'test/support/db-client-process.mjs');

function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

const config = (dataDir: string) => ({
  dataDir,
  databaseUrl: undefined,
  dbPoolSize: 1,
  shutdownGraceMs: 2000,
});
const children: Child[] = [];
const databases: Array<Kysely<Database>> = [];
let dataDir: string | undefined;

beforeAll(() =>
  requireBuild(
    'src/store/pglite/embedded.ts',
    'src/store/pglite/share-server.ts',
    'src/cli/commands/serve.ts',
  ),
);

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
  for (const db of databases.splice(0).reverse()) await db.destroy();
  if (dataDir !== undefined) await fs.rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

/** A data folder holding a migrated database, as after a first start. */
async function freshDataDir(): Promise<string> {
  const dir = await makeTempDir('takedown-share-');
  dataDir = dir;
  await seedDataDir(dir);
  return dir;
}

async function open(
  dir: string,
  logger: Logger = capturingLogger().logger,
): Promise<Kysely<Database>> {
  const db = await openDatabase(config(dir), { logger });
  databases.push(db);
  return db;
}

describe('one data folder shared by its owner and commands in other processes', () => {
  const { logger, lines } = capturingLogger();
  let dir: string;
  let owner: Kysely<Database>;
  beforeAll(async () => {
    dir = await makeTempDir('takedown-share-');
    await seedDataDir(dir);
    owner = await openEmbedded({
      dataDir: dir,
      logger,
      role: 'command',
      command: 'test owner',
      migrate: true,
      shutdownGraceMs: 1000,
      idleInTransactionMs: 300,
    });
  });
  afterAll(async () => {
    await owner.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('lets commands in other processes write and read while the owner does too, without lock errors', async () => {
    const clients = ['a', 'b', 'c'].map((name) => start(CLIENT, [dir, name, 'work', '40'], {}));
    children.push(...clients);
    for (let i = 0; i < 40; i += 1) await writeSetting(owner, `owner-${i}`, i);
    const codes = await Promise.all(clients.map((c) => c.exited));
    for (const client of clients) expect(client.stderr).toBe('');
    expect(codes).toEqual([0, 0, 0]);
    expect(
      clients.map((c) => JSON.parse(c.stdout) as { mismatches: number }).map((r) => r.mismatches),
    ).toEqual([0, 0, 0]);
    const count = await owner
      .selectFrom('setting')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('key', '~', '^(owner|a|b|c)-')
      .executeTakeFirstOrThrow();
    expect(count.n).toBe(40 + 3 * (40 + 20)); // the owner's keys, and each client's keys and pairs
  });

  it('keeps sessions apart: a command’s rolled-back transaction never takes the owner’s writes with it', async () => {
    const command = await open(dir); // the same folder again: goes through the owner's socket
    const trx = await command.startTransaction().execute();
    await writeSetting(trx, 'from-command', 1);
    let ownerDone = false;
    const ownerWrite = writeSetting(owner, 'from-owner', 2).then(() => (ownerDone = true));
    await sleep(100);
    expect(ownerDone).toBe(false); // waits for the command's transaction, as on a server with a row lock
    await trx.rollback().execute();
    await ownerWrite;
    expect(await readSetting(owner, 'from-command')).toBeUndefined();
    expect(await readSetting(command, 'from-owner')).toBe(2);
  });

  it('rolls back what a vanished client left open, and disconnects one that idles in a transaction', async () => {
    const socketDir = embeddedPaths(dir).socketDir;
    const vanishing = new pg.Client({
      host: socketDir,
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    });
    vanishing.on('error', () => undefined);
    await vanishing.connect();
    await vanishing.query('begin');
    await vanishing.query(`insert into setting (key, value) values ('vanished', '1')`);
    (
      vanishing as unknown as { connection: { stream: { destroy(): void } } }
    ).connection.stream.destroy();
    await writeSetting(owner, 'after-vanish', 1);
    expect(await readSetting(owner, 'vanished')).toBeUndefined();

    const idle = new pg.Client({
      host: socketDir,
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    });
    idle.on('error', () => undefined);
    await idle.connect();
    await idle.query('begin');
    await idle.query(`insert into setting (key, value) values ('idle', '1')`);
    await writeSetting(owner, 'after-idle', 1); // waits for the timeout, then proceeds
    expect(await readSetting(owner, 'idle')).toBeUndefined();
    await expect(idle.query('commit')).rejects.toThrow();
    expect(
      lines.some((l) =>
        String(l.msg).startsWith('disconnecting a client that kept a transaction open'),
      ),
    ).toBe(true);
  });
});

describe('handing a data folder from process to process', () => {
  it('recovers a data folder whose owner was killed, with every acknowledged write', async () => {
    const dir = await freshDataDir();
    const killed = start(CLIENT, [dir, 'killed', 'own', '30'], {});
    children.push(killed);
    await killed.waitFor(/^written$/m);
    const lock = JSON.parse(readFileSync(embeddedPaths(dir).lock, 'utf8')) as { pid: number };
    expect(lock.pid).toBe(killed.process.pid);
    killed.process.kill('SIGKILL');
    await killed.exited;
    expect(existsSync(embeddedPaths(dir).lock)).toBe(true); // left behind

    const { logger, lines } = capturingLogger();
    const next = await open(dir, logger);
    expect(
      lines.find(
        (l) => l.msg === 'recovered the data folder from a process that ended without closing it',
      ),
    ).toMatchObject({
      stalePid: killed.process.pid,
    });
    expect(await readSetting(next, 'killed-29')).toEqual({ by: 'killed', i: 29 });
    const lockNow = JSON.parse(readFileSync(embeddedPaths(dir).lock, 'utf8')) as { pid: number };
    expect(lockNow.pid).toBe(process.pid);
  });

  it('starts a server after the command that has the folder open finishes, saying that it waits', async () => {
    const dir = await freshDataDir();
    const command = await open(dir);
    const server = start(CLI, ['serve', '--port', '0'], { TAKEDOWN_DATA: dir });
    children.push(server);
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+) /);
    await server.waitFor(/waiting for it to finish before starting/);
    // Alive, not ready, while it waits.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    // Another server told to stop while it waits stops at once.
    const impatient = start(CLI, ['serve', '--port', '0'], { TAKEDOWN_DATA: dir });
    children.push(impatient);
    await impatient.waitFor(/waiting for it to finish before starting/);
    impatient.process.kill('SIGTERM');
    expect(await impatient.exited).toBe(0);

    await writeSetting(command, 'before-server', true);
    await command.destroy();
    databases.splice(databases.indexOf(command), 1);
    await waitForReady(url);

    const second = start(CLI, ['serve', '--port', '0'], { TAKEDOWN_DATA: dir });
    children.push(second);
    expect(await second.exited).toBe(1);
    expect(second.stderr).toMatch(
      /^takedown: Another Takedown server \(process \d+\) already uses the data folder .*DATABASE_URL\)\.$/m,
    );

    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(existsSync(embeddedPaths(dir).lock)).toBe(false);
  });
});
