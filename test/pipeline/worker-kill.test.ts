import { promises as fs } from 'node:fs';
import type http from 'node:http';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiApp } from '../../src/api/types.js';
import type { Database } from '../../src/store/database.js';
import { openDatabase } from '../../src/store/index.js';
import { TestClock, testApp } from '../support/accounts.js';
import { openTestDatabase, postgresSkipReason, seedDataDir } from '../support/db.js';
import type { DatabaseKind } from '../support/db.js';
import { filesUnder, pipelineSettled, plantInBank, TEST_MEDIA_KEY } from '../support/pipeline.js';
import { CLI, requireBuild, start } from '../support/processes.js';
import type { Child } from '../support/processes.js';
import { makeTempDir } from '../support/temp.js';
import { bytes, html, page, startWebFixture, syntheticImageFile } from '../support/web-fixture.js';
import type { Handler, WebFixture } from '../support/web-fixture.js';

/**
 * A `takedown worker` process is killed with SIGKILL while it is in the
 * middle of a fetch-case job (the page's response is held open) and of a
 * process-media job (an image's response is held open after half its
 * bytes). Once the dead worker's lease runs out another worker process runs
 * both jobs again; the result is what one clean run gives: one media item
 * per URL of a case, known images classified by the bank, the others queued
 * with one encrypted copy each, every case processed, no job left.
 *
 * Both databases: on PostgreSQL the workers connect to the server; on PGlite
 * this test process owns the data folder (as `takedown serve` does) and the
 * workers go through its socket, as any second process does.
 */

const LEASE_MS = 1_500;
const logger = pino({ level: 'silent' });

beforeAll(() =>
  requireBuild(
    'src/cli/commands/worker.ts',
    'src/pipeline/fetch-case.job.ts',
    'src/pipeline/process-media.job.ts',
    'src/pipeline/settle-media.ts',
    'src/jobs/runner.ts',
  ),
);

interface Setup {
  readonly db: Kysely<Database>;
  /** How a worker process reaches the same database. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

async function setUp(kind: DatabaseKind): Promise<Setup> {
  if (kind === 'postgres') {
    const opened = await openTestDatabase('postgres');
    return { db: opened.db, env: { DATABASE_URL: opened.url as string }, close: opened.close };
  }
  const dataDir = await makeTempDir('takedown-pipeline-kill-');
  await seedDataDir(dataDir);
  const db = await openDatabase(
    { dataDir, databaseUrl: undefined, dbPoolSize: 1, shutdownGraceMs: 2_000 },
    { logger, role: 'server' },
  );
  return {
    db,
    env: { TAKEDOWN_DATA: dataDir, DATABASE_URL: '' },
    async close() {
      await db.destroy();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Answers the first request with `hold` (which never finishes), later ones with `then`. */
function heldOnce(hold: Handler, then: Handler): Handler & { held: Promise<void> } {
  let calls = 0;
  let arrived!: () => void;
  const held = new Promise<void>((resolve) => (arrived = resolve));
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    calls += 1;
    if (calls > 1) return then(req, res);
    arrived();
    return hold(req, res);
  };
  return Object.assign(handler, { held });
}

/** Status line and headers, then nothing: the worker waits for the page. */
const silentAfterHeaders: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.flushHeaders();
};

/** Half of the image, then nothing: the worker is mid-download. */
const halfOf =
  (file: Buffer, type: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': type, 'content-length': file.length });
    res.write(file.subarray(0, file.length >> 1));
  };

const kinds: DatabaseKind[] =
  postgresSkipReason() === undefined ? ['pglite', 'postgres'] : ['pglite'];

describe.each(kinds)('a pipeline worker killed mid-job [%s]', (kind) => {
  let setup: Setup;
  let web: WebFixture;
  let app: ApiApp;
  let mediaDir: string;
  const children: Child[] = [];
  const img: Record<string, Buffer> = {};

  const worker = async (name: string): Promise<Child> => {
    const child = start(CLI, ['worker', '--concurrency', '4'], {
      ...setup.env,
      LOG_LEVEL: 'warn',
      TAKEDOWN_FETCH_ALLOW: '127.0.0.0/8',
      // Long enough that the held responses outlive the kill.
      TAKEDOWN_FETCH_TIMEOUT_MS: '60000',
      TAKEDOWN_FETCH_IDLE_TIMEOUT_MS: '60000',
      TAKEDOWN_FETCH_RETRIES: '2',
      TAKEDOWN_FETCH_RETRY_DELAY_MS: '50',
      TAKEDOWN_MEDIA_KEY: TEST_MEDIA_KEY,
      TAKEDOWN_MEDIA_DIR: mediaDir,
      TAKEDOWN_JOBS_LEASE_MS: String(LEASE_MS),
      TAKEDOWN_JOBS_POLL_MS: '50',
      TAKEDOWN_MATCHER_SNAPSHOT: 'false',
      TAKEDOWN_HASH_THREADS: '1',
    });
    children.push(child);
    await child.waitFor(/is taking jobs/, 120_000).catch((error: unknown) => {
      throw new Error(`worker ${name} did not start`, { cause: error });
    });
    return child;
  };
  const report = async (url: string): Promise<void> => {
    const res = await app.request('/v1/reports', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.30' },
      body: JSON.stringify({ urls: [url], description: 'seen on a forum' }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const itemsOf = async (url: string) => {
    const c = await setup.db
      .selectFrom('url_case')
      .selectAll()
      .where('url', '=', url)
      .executeTakeFirstOrThrow();
    const items = await setup.db
      .selectFrom('media_item')
      .selectAll()
      .where('case_id', '=', c.id)
      .orderBy('url')
      .execute();
    return { c, items };
  };
  const requestsFor = (path: string) => web.requests.filter((r) => r.path === path).length;

  beforeAll(async () => {
    setup = await setUp(kind);
    mediaDir = await makeTempDir('takedown-kill-media-');
    web = await startWebFixture();
    img.known = await syntheticImageFile('jpeg', 501, 400, 300);
    img.unknown = await syntheticImageFile('png', 502, 360, 280);
    img.held = await syntheticImageFile('jpeg', 503, 640, 480);
    img.pageKnown = await syntheticImageFile('png', 504, 320, 240);
    await plantInBank(setup.db, 'kill-known', 'baseline', [img.known, img.pageKnown]);
    web.route('/img/known.jpg', bytes(img.known, 'image/jpeg'));
    web.route('/img/unknown.png', bytes(img.unknown, 'image/png'));
    web.route('/img/page-known.png', bytes(img.pageKnown, 'image/png'));
    app = testApp(setup.db, new TestClock(), {
      env: { TAKEDOWN_REPORT_RATE_PER_MINUTE: '6000', TAKEDOWN_REPORT_BURST: '1000' },
    });
  }, 120_000);

  afterAll(async () => {
    for (const child of children)
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await Promise.all(children.map((child) => child.exited));
    await web?.close();
    await setup?.close();
    if (mediaDir !== undefined) await fs.rm(mediaDir, { recursive: true, force: true });
  });

  it(
    'has its fetch-case and process-media jobs run again by another worker, with no duplicates',
    { timeout: 180_000 },
    async () => {
      // A gallery whose third image stops after half its bytes the first time.
      const heldImage = heldOnce(halfOf(img.held, 'image/jpeg'), bytes(img.held, 'image/jpeg'));
      web.route('/img/held.jpg', heldImage);
      web.route(
        '/gallery',
        html(
          page(
            '<img src="/img/known.jpg"><img src="/img/unknown.png"><img src="/img/held.jpg"><a href="/img/known.jpg">again</a>',
          ),
        ),
      );
      // A page that says nothing after its headers the first time.
      const heldPage = heldOnce(
        silentAfterHeaders,
        html(page('<img src="/img/page-known.png"><img src="/img/unknown.png">')),
      );
      web.route('/slow-page', heldPage);
      const gallery = web.url('/gallery');
      const slowPage = web.url('/slow-page');
      await report(gallery);
      await report(slowPage);

      const first = await worker('A');
      await Promise.all([heldImage.held, heldPage.held]);
      // Everything else of the gallery is done; the held image is the only job left running.
      for (let deadline = Date.now() + 30_000; ;) {
        const { items } = await itemsOf(gallery);
        const jobs = await setup.db
          .selectFrom('job')
          .select('id')
          .where('name', 'in', ['fetch-case', 'process-media'])
          .execute();
        const done = items.filter((i) => i.state !== 'pending').length;
        if (items.length === 3 && done === 2 && jobs.length === 2) break;
        if (Date.now() > deadline)
          throw new Error(`gallery items: ${JSON.stringify(items)}, jobs: ${jobs.length}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      first.process.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      const killedAt = Date.now();

      const running = await setup.db
        .selectFrom('job')
        .select(['name', 'state', 'attempts', 'locked_by'])
        .where('name', 'in', ['fetch-case', 'process-media'])
        .orderBy('name')
        .execute();
      expect(running.map((j) => [j.name, j.state, j.attempts])).toEqual([
        ['fetch-case', 'running', 1],
        ['process-media', 'running', 1],
      ]);
      for (const job of running) expect(job.locked_by).toContain(`:${first.process.pid}:`);

      await worker('B');
      await pipelineSettled(setup.db, 60_000);
      // Not before the dead worker's lease ran out.
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(LEASE_MS - 300);
      expect(requestsFor('/img/held.jpg')).toBe(2);
      expect(requestsFor('/slow-page')).toBe(2);
      expect(requestsFor('/gallery')).toBe(1);
      expect(requestsFor('/img/known.jpg')).toBe(1);

      const g = await itemsOf(gallery);
      expect(g.c).toMatchObject({ state: 'fetched', media_found: 3, fetch_attempts: 1 });
      expect(g.c.processed_at).toBeInstanceOf(Date);
      expect(
        g.items.map((i) => [i.url.replace(/^.*\/img\//, ''), i.state, i.fetch_attempts]),
      ).toEqual([
        ['held.jpg', 'queued', 2],
        ['known.jpg', 'classified', 1],
        ['unknown.png', 'queued', 1],
      ]);
      expect(g.items.find((i) => i.url.endsWith('known.jpg'))).toMatchObject({
        classification: 'baseline',
        classified_by: 'bank',
        media_key: null,
      });

      const p = await itemsOf(slowPage);
      expect(p.c).toMatchObject({ state: 'fetched', media_found: 2, fetch_attempts: 2 });
      expect(p.c.processed_at).toBeInstanceOf(Date);
      expect(p.items.map((i) => [i.url.replace(/^.*\/img\//, ''), i.state])).toEqual([
        ['page-known.png', 'classified'],
        ['unknown.png', 'queued'],
      ]);

      // One row per (case, URL) across the whole table, and one stored copy per queued item.
      const dupes = await setup.db
        .selectFrom('media_item')
        .select(['case_id', 'url', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(['case_id', 'url'])
        .having((eb) => eb.fn.countAll(), '>', 1)
        .execute();
      expect(dupes).toEqual([]);
      const kept = [...g.items, ...p.items].filter((i) => i.media_key !== null);
      expect(kept).toHaveLength(3);
      expect((await filesUnder(mediaDir)).length).toBe(kept.length);
      const matches = await setup.db
        .selectFrom('media_match')
        .select(['item_id', 'signal_type'])
        .where(
          'item_id',
          'in',
          [...g.items, ...p.items].map((i) => i.id),
        )
        .execute();
      // md5 + pdq for each of the two known images, recorded once.
      expect(matches).toHaveLength(4);
    },
  );
});
