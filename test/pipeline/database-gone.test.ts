import { promises as fs } from 'node:fs';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiApp } from '../../src/api/types.js';
import { findReportId } from '../../src/intake/queries.js';
import { parseTrackingCode } from '../../src/intake/tracking-code.js';
import type { Database } from '../../src/store/database.js';
import { openDatabase } from '../../src/store/index.js';
import { TestClock, testApp } from '../support/accounts.js';
import { openTestDatabase, postgresSkipReason, seedDataDir } from '../support/db.js';
import type { OpenedTestDatabase } from '../support/db.js';
import { CLI, requireBuild, start, waitForReady } from '../support/processes.js';
import type { Child } from '../support/processes.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import type { TcpProxy } from '../support/tcp-proxy.js';
import { makeTempDir } from '../support/temp.js';

/**
 * Reports arriving while the database is away, and the promise behind a 202:
 * the report is committed before the answer, so it survives anything that
 * happens after.
 *
 * "Database unreachable" is PostgreSQL only: the server reaches it through a
 * relay (test/support/tcp-proxy.ts) that the test takes down (every
 * connection cut, new ones refused, as when the server stops) and brings
 * back. The embedded database cannot be unreachable on its own: PGlite runs
 * inside the `takedown serve` process that answers the request, so when it
 * is gone so is the server. What PGlite can be asked is whether a 202 is
 * durable: the server is killed with SIGKILL right after its 202s, and the
 * reports must be in the data folder when it is opened again.
 */

const logger = pino({ level: 'silent' });
const post = (app: ApiApp, urls: string[]) =>
  app.request('/v1/reports', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.20' },
    body: JSON.stringify({ urls, description: 'seen on a forum' }),
  });
const reportCount = async (db: Kysely<Database>) =>
  Number(
    (
      await db
        .selectFrom('report')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
/** The report's id, read by `db` (another connection than the server's), or undefined. */
const stored = async (db: Kysely<Database>, code: string) => {
  const parsed = parseTrackingCode(code);
  if (parsed === undefined) throw new Error(`${code} is not a tracking code`);
  return findReportId(db, parsed);
};

const skipPostgres = postgresSkipReason();
(skipPostgres === undefined ? describe : describe.skip)(
  `POST /v1/reports with the database gone [postgres]${skipPostgres === undefined ? '' : ` (skipped: ${skipPostgres})`}`,
  () => {
    let direct: OpenedTestDatabase;
    let proxy: TcpProxy;
    let served: Kysely<Database>;
    let app: ApiApp;

    beforeAll(async () => {
      direct = await openTestDatabase('postgres');
      const target = new URL(direct.url as string);
      proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
      const through = new URL(target);
      through.port = String(proxy.port);
      // The server's own pool, as `takedown serve` opens it, through the relay.
      served = await openDatabase(
        {
          dataDir: '/nonexistent',
          databaseUrl: through.toString(),
          dbPoolSize: 4,
          shutdownGraceMs: 0,
        },
        { logger, role: 'server' },
      );
      app = testApp(served, new TestClock(), {
        env: { TAKEDOWN_REPORT_RATE_PER_MINUTE: '6000', TAKEDOWN_REPORT_BURST: '1000' },
      });
    });
    afterAll(async () => {
      await proxy?.up();
      await served?.destroy();
      await proxy?.close();
      await direct?.close();
    });

    it('answers 202 only once the report, its case and its job are committed', async () => {
      for (let n = 0; n < 20; n++) {
        const url = `http://committed-${n}.example/page`;
        const res = await post(app, [url]);
        expect(res.status, await res.clone().text()).toBe(202);
        const { trackingCode } = (await res.json()) as { trackingCode: string };
        // Straight after the answer, on a connection of its own (not through the server's pool).
        const id = await stored(direct.db, trackingCode);
        expect(id, `report ${n} was answered 202 before it was visible`).toBeTypeOf('number');
        const c = await direct.db
          .selectFrom('url_case')
          .select('id')
          .where('url', '=', url)
          .executeTakeFirstOrThrow();
        const job = await direct.db
          .selectFrom('job')
          .select('name')
          .where('key', '=', `fetch-case:${c.id}`)
          .executeTakeFirst();
        expect(job).toEqual({ name: 'fetch-case' });
      }
    });

    it('answers 503 with Retry-After and a JSON error while the database is unreachable, then accepts again', async () => {
      // Connections in the pool were used above: the relay cuts them, as a restarting server does.
      const before = await reportCount(direct.db);
      await proxy.down();
      for (const urls of [
        ['http://gone-1.example/page'],
        ['http://gone-2.example/a', 'http://gone-2.example/b'],
      ]) {
        const res = await post(app, urls);
        const text = await res.text();
        expect(res.status, text).toBe(503);
        expect(res.headers.get('retry-after')).toBe('30');
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        const body = JSON.parse(text) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('database-unavailable');
        expect(body.error.message).toMatch(/nothing was stored/);
        // No stack, no internals.
        expect(text).not.toMatch(/\bat .+:\d+:\d+|\.ts\b|\.js\b|ECONNREFUSED|node_modules/);
        expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
      }
      // The status of a report is also a 503, not a 500.
      const status = await app.request('/v1/reports/K7QM-3XH9-TD2F', {
        headers: { 'x-forwarded-for': '198.51.100.21' },
      });
      expect(status.status).toBe(503);
      expect(status.headers.get('retry-after')).toBe('30');
      expect(await reportCount(direct.db)).toBe(before);

      await proxy.up();
      const again = await post(app, ['http://gone-1.example/page']);
      expect(again.status, await again.clone().text()).toBe(202);
      const { trackingCode } = (await again.json()) as { trackingCode: string };
      expect(trackingCode).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      expect(await stored(direct.db, trackingCode)).toBeTypeOf('number');
      expect(await reportCount(direct.db)).toBe(before + 1);
    });
  },
);

describe('reports answered 202 by a server killed right after [pglite]', () => {
  const children: Child[] = [];
  let dataDir: string;
  beforeAll(async () => {
    requireBuild(
      'src/api/report-routes.ts',
      'src/intake/queries.ts',
      'src/store/pglite/embedded.ts',
    );
    dataDir = await makeTempDir('takedown-gone-');
    await seedDataDir(dataDir);
  });
  afterAll(async () => {
    for (const child of children)
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('are in the data folder when it is opened again', { timeout: 180_000 }, async () => {
    const server = start(CLI, ['serve'], {
      TAKEDOWN_DATA: dataDir,
      DATABASE_URL: '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      TAKEDOWN_PIPELINE: 'off',
      TAKEDOWN_MATCHER_SNAPSHOT: 'false',
      TAKEDOWN_REPORT_RATE_PER_MINUTE: '6000',
      TAKEDOWN_REPORT_BURST: '1000',
    });
    children.push(server);
    const [, base] = await server.waitFor(/listening on (http:\/\/[\d.:]+)/, 120_000);
    await waitForReady(base);
    const codes: string[] = [];
    for (let n = 0; n < 10; n++) {
      const res = await fetch(`${base}/v1/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ urls: [`http://durable-${n}.example/page`], description: 'seen' }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      codes.push(((await res.json()) as { trackingCode: string }).trackingCode);
    }
    // No graceful shutdown: whatever was not on disk at the last 202 is lost.
    server.process.kill('SIGKILL');
    expect(await server.exited).toBe('SIGKILL');

    const db = await openDatabase(
      { dataDir, databaseUrl: undefined, dbPoolSize: 1, shutdownGraceMs: 1_000 },
      { logger, role: 'server' },
    );
    try {
      for (const code of codes) expect(await stored(db, code), code).toBeTypeOf('number');
      const jobs = await db
        .selectFrom('job')
        .select('name')
        .where('name', '=', 'fetch-case')
        .execute();
      expect(jobs).toHaveLength(10);
    } finally {
      await db.destroy();
    }
  });
});
