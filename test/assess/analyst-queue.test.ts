import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ApiApp } from '../../src/api/types.js';
import { feedItemToOwnBank } from '../../src/assess/own-bank.job.js';
import type { Config } from '../../src/config.js';
import { jobQueueFor } from '../../src/pipeline/job-queue.js';
import { queueOverview } from '../../src/pipeline/overview.js';
import { deleteExpiredMedia } from '../../src/pipeline/retention.job.js';
import type { Pipeline } from '../../src/pipeline/service.js';
import { openMediaStore } from '../../src/store/blob-store.js';
import { Browser, TestClock, makeAccount, sessionFor, testApp } from '../support/accounts.js';
import type { Sent } from '../support/accounts.js';
import { describeEachDatabase } from '../support/db.js';
import { jobsDone } from '../support/jobs-done.js';
import {
  TEST_MEDIA_KEY,
  pipelineConfig,
  pipelineSettled,
  startTestPipeline,
} from '../support/pipeline.js';
import { bytes, startWebFixture, syntheticImageFile } from '../support/web-fixture.js';
import type { WebFixture } from '../support/web-fixture.js';

/**
 * The analyst side of the pipeline through the HTTP API: synthetic images
 * reported on a loopback site reach the queue, analysts claim and assess
 * them (four eyes on and off), media views are audited, and an illegal
 * decision feeds the hotline's own bank so the same image reported again is
 * decided by the bank without an analyst.
 */
describeEachDatabase('the analyst queue', (t) => {
  let web: WebFixture;
  let app: ApiApp;
  let config: Config;
  let pipeline: Pipeline;
  const clock = new TestClock();
  const img: Record<string, Buffer> = {};
  const analysts: Browser[] = [];
  let supervisor: Browser;
  let provider: Browser;
  let admin: Browser;
  const accounts: Record<string, number[]> = {};

  const url = (p: string) => web.url(p);
  const report = async (urls: string[], extra: Record<string, unknown> = {}) => {
    const res = await app.request('/v1/reports', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
      body: JSON.stringify({ urls, description: 'seen on a forum', ...extra }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
  };
  const itemId = async (u: string) => {
    const row = await t.db
      .selectFrom('media_item as i')
      .innerJoin('url_case as c', 'c.id', 'i.case_id')
      .select(['i.id'])
      .where('c.url', '=', u)
      .executeTakeFirstOrThrow();
    return row.id;
  };
  const assessment = (classification: string, extra: Record<string, unknown> = {}) => ({
    classification,
    ageGroup: 'pre-pubescent',
    gender: 'female',
    virtual: false,
    siteType: 'image-host',
    commercial: false,
    ...extra,
  });
  const assess = (who: Browser, id: number, body: unknown): Promise<Sent> =>
    who.send(app, 'POST', `/v1/items/${id}/assessments`, { json: body });
  const auditCount = async (action: string, objectId: number | string) => {
    const rows = await t.db
      .selectFrom('audit_entry')
      .select('seq')
      .where('action', '=', action)
      .where('object_id', '=', String(objectId))
      .execute();
    return rows.length;
  };

  beforeAll(async () => {
    web = await startWebFixture();
    config = await pipelineConfig();
    const names = ['race', 'four', 'dispute', 'own', 'media', 'list1', 'list2'];
    for (const [i, name] of names.entries()) {
      img[name] = await syntheticImageFile('png', 900 + i, 320, 240);
      web.route(`/img/${name}.png`, bytes(img[name], 'image/png'));
    }
    // The same bytes as "own", somewhere else, for after the decision.
    web.route('/elsewhere/copy.png', bytes(img.own, 'image/png'));
    app = testApp(t.db, clock, {
      env: {
        TAKEDOWN_REPORT_RATE_PER_MINUTE: '6000',
        TAKEDOWN_REPORT_BURST: '1000',
        TAKEDOWN_MEDIA_KEY: TEST_MEDIA_KEY,
        TAKEDOWN_MEDIA_DIR: config.mediaDir,
      },
    });
    pipeline = startTestPipeline(t.db, config);
    await pipeline.ready;
    for (const name of names)
      await report([url(`/img/${name}.png`)], {
        contact: { email: `reporter-${name}@example.org` },
      });
    await pipelineSettled(t.db);
    accounts.analyst = [];
    for (let i = 0; i < 8; i++) accounts.analyst.push((await makeAccount(t.db, 'analyst')).id);
    for (const role of ['supervisor', 'provider', 'admin'] as const)
      accounts[role] = [(await makeAccount(t.db, role)).id];
  }, 120_000);

  // Fresh sessions for every test: some move the clock past the idle timeout.
  beforeEach(async () => {
    analysts.length = 0;
    for (const id of accounts.analyst) analysts.push(await sessionFor(t.db, clock, id));
    supervisor = await sessionFor(t.db, clock, accounts.supervisor[0]);
    provider = await sessionFor(t.db, clock, accounts.provider[0]);
    admin = await sessionFor(t.db, clock, accounts.admin[0]);
  });

  afterAll(async () => {
    await pipeline?.stop(1_000);
    await web?.close();
    if (config !== undefined) await fs.rm(config.mediaDir, { recursive: true, force: true });
  });

  it('lists the queue oldest first, pages with a cursor, and filters', async () => {
    const [a] = analysts;
    const all = await a.send(app, 'GET', '/v1/queue?limit=200');
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    expect(all.body.items.length).toBe(7);
    const first = all.body.items[0];
    expect(first).toMatchObject({
      host: '127.0.0.1',
      reportCount: 1,
      state: 'awaiting-first',
      claim: null,
      sniffed: 'image/png',
    });
    expect(first.mediaUrl).toBe(first.caseUrl);
    expect(first.hashes.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.hashes.pdq).toMatch(/^[0-9a-f]{64}$/);
    expect(first.hashes.pdqQuality).toBeGreaterThanOrEqual(50);
    const ids = all.body.items.map((i: { id: number }) => i.id);
    const times = all.body.items.map((i: { queuedAt: string }) => i.queuedAt);
    expect([...times].sort()).toEqual(times);

    const newest = await a.send(app, 'GET', '/v1/queue?order=newest&limit=200');
    expect(newest.body.items.map((i: { id: number }) => i.id)).toEqual([...ids].reverse());

    const paged: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page: Sent = await a.send(app, 'GET', `/v1/queue?limit=3${q}`);
      expect(page.status).toBe(200);
      paged.push(...page.body.items.map((i: { id: number }) => i.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(ids);

    expect((await a.send(app, 'GET', '/v1/queue?host=elsewhere.example')).body.items).toEqual([]);
    expect((await a.send(app, 'GET', '/v1/queue?host=127.0.0.1')).body.items.length).toBe(7);
    const bad = await a.send(app, 'GET', '/v1/queue?cursor=nonsense');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid-cursor');
    expect((await a.send(app, 'GET', '/v1/queue?order=sideways')).status).toBe(400);
  });

  it('gives an item to exactly one of many analysts claiming it at once', async () => {
    const id = await itemId(url('/img/race.png'));
    const results = await Promise.all(
      analysts.map((who) => who.send(app, 'POST', `/v1/queue/${id}/claim`)),
    );
    const won = results.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    const w = results.indexOf(won[0]);
    const l = w === 0 ? 1 : 0;
    let winner = analysts[w];
    let loser = analysts[l];
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('claimed-by-other');
      expect(r.body.error.details).toMatchObject({
        claimedBy: won[0].body.claim.by,
        claimedUntil: won[0].body.claim.until,
      });
      expect(r.body.error.details.claimedByName).toMatch(/@hotline\.example$/);
    }
    expect(Date.parse(won[0].body.claim.until) - clock.now().getTime()).toBe(30 * 60_000);

    // Filters see the claim; the holder renews it; nobody else may assess or release it.
    const mine = await winner.send(app, 'GET', '/v1/queue?claimed=mine');
    expect(mine.body.items.map((i: { id: number }) => i.id)).toEqual([id]);
    const unclaimed = await loser.send(app, 'GET', '/v1/queue?claimed=unclaimed&limit=200');
    expect(unclaimed.body.items.map((i: { id: number }) => i.id)).not.toContain(id);
    clock.advance(10 * 60_000);
    const renewed = await winner.send(app, 'POST', `/v1/queue/${id}/claim`);
    expect(renewed.status).toBe(200);
    expect(Date.parse(renewed.body.claim.until) - clock.now().getTime()).toBe(30 * 60_000);
    expect((await assess(loser, id, assessment('not-illegal'))).status).toBe(409);
    const notYours = await loser.send(app, 'POST', `/v1/queue/${id}/release`);
    expect([notYours.status, notYours.body.error.code]).toEqual([409, 'claimed-by-other']);

    // An expired claim is anyone's.
    clock.advance(31 * 60_000);
    // (Sessions idle that long end too.)
    winner = await sessionFor(t.db, clock, accounts.analyst[w]);
    loser = await sessionFor(t.db, clock, accounts.analyst[l]);
    supervisor = await sessionFor(t.db, clock, accounts.supervisor[0]);
    expect((await loser.send(app, 'POST', `/v1/queue/${id}/claim`)).status).toBe(200);
    expect((await winner.send(app, 'POST', `/v1/queue/${id}/claim`)).status).toBe(409);
    expect((await loser.send(app, 'POST', `/v1/queue/${id}/release`)).status).toBe(200);
    const again = await loser.send(app, 'POST', `/v1/queue/${id}/release`);
    expect([again.status, again.body.error.code]).toEqual([409, 'not-claimed']);
    // A supervisor may free anyone's claim.
    expect((await winner.send(app, 'POST', `/v1/queue/${id}/claim`)).status).toBe(200);
    expect((await supervisor.send(app, 'POST', `/v1/queue/${id}/release`)).status).toBe(200);
    expect((await winner.send(app, 'POST', '/v1/queue/999999/claim')).status).toBe(404);
  });

  it('refuses malformed assessments with 400 naming the field', async () => {
    const id = await itemId(url('/img/race.png'));
    const [a] = analysts;
    const cases: Array<[unknown, string]> = [
      [{ ...assessment('baseline'), ageGroup: undefined }, 'ageGroup'],
      [assessment('illegal-ish'), 'classification'],
      [assessment('baseline', { gender: 'unknown' }), 'gender'],
      [assessment('baseline', { virtual: 'no' }), 'virtual'],
      [assessment('baseline', { siteType: 'darkweb' }), 'siteType'],
      [assessment('baseline', { commercial: 1 }), 'commercial'],
      [assessment('baseline', { note: 'x'.repeat(5000) }), 'note'],
      [assessment('baseline', { severity: 3 }), ''],
    ];
    for (const [body, field] of cases) {
      const res = await assess(a, id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid-request');
      expect(res.body.error.message).toContain(field);
    }
    const notJson = await a.send(app, 'POST', `/v1/items/${id}/assessments`, {
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(
      await t.db.selectFrom('assessment').select('id').where('item_id', '=', id).execute(),
    ).toEqual([]);
    expect((await assess(a, 999999, assessment('baseline'))).status).toBe(404);
  });

  it('needs two different analysts for an illegal decision when four eyes is on', async () => {
    const [a, b, c] = analysts;
    expect(
      (await a.send(app, 'PUT', '/v1/settings/four-eyes', { json: { enabled: true } })).status,
    ).toBe(403);
    const on = await supervisor.send(app, 'PUT', '/v1/settings/four-eyes', {
      json: { enabled: true },
    });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ enabled: true });
    expect((await supervisor.send(app, 'GET', '/v1/settings/four-eyes')).body.enabled).toBe(true);
    expect((await supervisor.send(app, 'PUT', '/v1/settings/four-eyes', { json: {} })).status).toBe(
      400,
    );

    const id = await itemId(url('/img/four.png'));
    expect((await a.send(app, 'POST', `/v1/queue/${id}/claim`)).status).toBe(200);
    const first = await assess(a, id, assessment('baseline', { note: 'clear case' }));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({
      assessment: { effect: 'second-opinion', classification: 'baseline', note: 'clear case' },
      item: { state: 'queued', queueState: 'awaiting-second-opinion', classification: null },
      ownBank: null,
    });
    const waiting = await b.send(app, 'GET', '/v1/queue?state=awaiting-second-opinion');
    expect(waiting.body.items.map((i: { id: number }) => i.id)).toEqual([id]);
    expect(waiting.body.items[0].claim).toBeNull(); // the first claim ended with its assessment
    const overview = await queueOverview(t.db, 200); // `takedown queue`
    expect(overview.queuedItems.find((i) => i.id === id)).toMatchObject({
      reviewStage: 'second-opinion',
      claimedBy: null,
    });

    const twice = await assess(a, id, assessment('baseline'));
    expect([twice.status, twice.body.error.code]).toEqual([409, 'already-assessed']);
    expect((await a.send(app, 'POST', `/v1/queue/${id}/claim`)).status).toBe(409);

    const second = await assess(b, id, assessment('national'));
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body).toMatchObject({
      assessment: { effect: 'final' },
      item: { state: 'classified', queueState: null, classification: 'national' },
      ownBank: { bank: 'hotline-national' },
    });
    const row = await t.db
      .selectFrom('media_item')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      state: 'classified',
      classification: 'national',
      classified_by: 'analyst',
    });
    expect(await auditCount('classification.create', id)).toBe(2);
    const late = await assess(c, id, assessment('baseline'));
    expect([late.status, late.body.error.code]).toEqual([409, 'item-not-queued']);

    // A second opinion that disagrees goes to a supervisor.
    const other = await itemId(url('/img/dispute.png'));
    expect((await assess(a, other, assessment('baseline'))).body.assessment.effect).toBe(
      'second-opinion',
    );
    const disagree = await assess(b, other, assessment('not-illegal'));
    expect(disagree.body).toMatchObject({
      assessment: { effect: 'disputed' },
      item: { state: 'queued', queueState: 'disputed' },
    });
    const third = await assess(c, other, assessment('baseline'));
    expect([third.status, third.body.error.code]).toEqual([403, 'supervisor-required']);
    const decided = await assess(supervisor, other, assessment('doubtful'));
    expect(decided.body).toMatchObject({
      assessment: { effect: 'final' },
      item: { state: 'classified', classification: 'doubtful' },
      ownBank: null,
    });
    const detail = await c.send(app, 'GET', `/v1/items/${other}`);
    expect(detail.body.assessments.map((x: { effect: string }) => x.effect)).toEqual([
      'second-opinion',
      'disputed',
      'final',
    ]);

    const off = await supervisor.send(app, 'PUT', '/v1/settings/four-eyes', {
      json: { enabled: false },
    });
    expect(off.body.enabled).toBe(false);
    expect(await auditCount('setting.change', 'four-eyes')).toBe(2);
  });

  it('puts an illegal decision in the own bank, so the same image elsewhere is decided by the bank', async () => {
    const [a] = analysts;
    const id = await itemId(url('/img/own.png'));
    const decided = await assess(a, id, assessment('baseline'));
    expect(decided.status, JSON.stringify(decided.body)).toBe(201);
    expect(decided.body).toMatchObject({
      assessment: { effect: 'final' },
      item: { state: 'classified', classification: 'baseline' },
      ownBank: { queued: true, bank: 'hotline', jobId: expect.any(Number) },
    });
    // The feed is a job that committed with the decision; the pipeline's runner takes it.
    await jobsDone(t.db, 'own-bank-feed');
    const bank = await t.db
      .selectFrom('bank')
      .selectAll()
      .where('name', '=', 'hotline')
      .executeTakeFirstOrThrow();
    expect(bank.category).toBe('baseline');
    const entries = () =>
      t.db
        .selectFrom('bank_entry')
        .select(['signal_type', 'source_ref'])
        .where('bank_id', '=', bank.id)
        .orderBy('signal_type')
        .execute();
    expect(await entries()).toEqual(
      ['md5', 'pdq', 'sha1', 'sha256'].map((signal_type) => ({
        signal_type,
        source_ref: `media-item:${id}`,
      })),
    );
    const audits = await t.db
      .selectFrom('audit_entry')
      .select(['action', 'actor_label'])
      .where('object_id', '=', 'hotline')
      .orderBy('seq')
      .execute();
    expect(audits.map((x) => x.action)).toEqual(['bank.create', 'bank.entries-change']);
    expect(audits[0].actor_label).toBe('job:own-bank-feed');
    // The case of its one item rolled up with the decision.
    const decidedCase = await t.db
      .selectFrom('url_case')
      .selectAll()
      .where('url', '=', url('/img/own.png'))
      .executeTakeFirstOrThrow();
    expect(decidedCase).toMatchObject({
      state: 'classified',
      classification: 'baseline',
      classified_by: 'analyst',
    });

    // Matchers follow the change log (polled every 250 ms by default).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const copy = url('/elsewhere/copy.png');
    await report([copy]);
    await pipelineSettled(t.db);
    const copyId = await itemId(copy);
    const item = await t.db
      .selectFrom('media_item')
      .selectAll()
      .where('id', '=', copyId)
      .executeTakeFirstOrThrow();
    expect(item).toMatchObject({
      state: 'classified',
      classification: 'baseline',
      classified_by: 'bank',
      media_key: null,
    });
    expect(
      await t.db
        .selectFrom('url_case')
        .select(['state', 'classification', 'classified_by'])
        .where('url', '=', copy)
        .executeTakeFirstOrThrow(),
    ).toEqual({ state: 'classified', classification: 'baseline', classified_by: 'bank' });
    const queue = await a.send(app, 'GET', '/v1/queue?limit=200');
    expect(queue.body.items.map((i: { id: number }) => i.id)).not.toContain(copyId);
    const detail = await a.send(app, 'GET', `/v1/items/${copyId}`);
    expect(detail.body.matches.map((m: { bank: string }) => m.bank)).toContain('hotline');
    expect(detail.body.identical).toEqual([
      expect.objectContaining({ id, classification: 'baseline', classifiedBy: 'analyst' }),
    ]);

    // At least once: the feed running again (a worker killed before it was
    // marked done) adds nothing, and says so.
    await jobQueueFor(t.db).enqueue(t.db, 'own-bank-feed', { itemId: id });
    await jobsDone(t.db, 'own-bank-feed');
    const again = await feedItemToOwnBank(t.db, id);
    expect(again?.result).toMatchObject({ kind: 'imported', added: 0, alreadyPresent: 4 });
    expect(await entries()).toHaveLength(4);
    const changes = await t.db
      .selectFrom('audit_entry')
      .select('details')
      .where('object_id', '=', 'hotline')
      .where('action', '=', 'bank.entries-change')
      .orderBy('seq')
      .execute();
    expect(changes.map((x) => (x.details as { added: number }).added)).toEqual([4, 0, 0]);
  });

  it('shows an item with its case, reports and hashes, never the reporter contact', async () => {
    const id = await itemId(url('/img/list1.png'));
    const res = await admin.send(app, 'GET', `/v1/items/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      state: 'queued',
      queueState: 'awaiting-first',
      media: { available: true, deletedAt: null },
      case: { url: url('/img/list1.png'), reportCount: 1 },
      reports: [{ channel: 'public', description: 'seen on a forum' }],
      assessments: [],
    });
    expect(res.body.hashes.md5).toMatch(/^[0-9a-f]{32}$/);
    expect(res.body.hashes.sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(JSON.stringify(res.body)).not.toContain('reporter-list1');
    expect((await admin.send(app, 'GET', '/v1/items/999999')).status).toBe(404);
  });

  it('serves media decrypted, audited and uncached; 404 once retention deleted it', async () => {
    const [a] = analysts;
    const id = await itemId(url('/img/media.png'));
    const before = await auditCount('media.view', id);
    const res = await app.request(`/v1/items/${id}/media`, {
      headers: { cookie: `__Host-takedown-session=${a.cookie}`, 'x-forwarded-for': '203.0.113.5' },
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(img.media)).toBe(true);
    expect(
      ['content-type', 'cache-control', 'content-disposition', 'x-content-type-options'].map((h) =>
        res.headers.get(h),
      ),
    ).toEqual(['image/png', 'no-store', 'inline', 'nosniff']);
    expect(await auditCount('media.view', id)).toBe(before + 1);
    const entry = await t.db
      .selectFrom('audit_entry')
      .selectAll()
      .where('action', '=', 'media.view')
      .where('object_id', '=', String(id))
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ object_type: 'media', ip: '203.0.113.5' });
    expect(entry.details).toMatchObject({ presentation: 'revealed' });

    const blurred = await a.send(app, 'GET', `/v1/items/${id}/media?view=blurred`);
    expect(blurred.status).toBe(200);
    expect(blurred.headers.get('content-type')).toBe('image/jpeg');
    expect(await auditCount('media.view', id)).toBe(before + 2);

    expect((await provider.send(app, 'GET', `/v1/items/${id}/media`)).status).toBe(403);
    expect((await new Browser().send(app, 'GET', `/v1/items/${id}/media`)).status).toBe(401);
    expect((await admin.send(app, 'GET', `/v1/items/${id}/media`)).status).toBe(403);
    expect(await auditCount('media.view', id)).toBe(before + 2);

    const deleted = await deleteExpiredMedia(t.db, openMediaStore(config, 'test'), {
      now: new Date(Date.now() + 400 * 86_400_000),
      retentionDays: 1,
    });
    expect(deleted).toBeGreaterThan(0);
    const gone = await a.send(app, 'GET', `/v1/items/${id}/media`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('media-deleted');
    expect(await auditCount('media.view', id)).toBe(before + 2);
    const detail = await a.send(app, 'GET', `/v1/items/${id}`);
    expect(detail.body.media.available).toBe(false);
    expect(detail.body.hashes.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses providers and anonymous callers', async () => {
    const id = await itemId(url('/img/list2.png'));
    const anonymous = new Browser();
    for (const [method, path] of [
      ['GET', '/v1/queue'],
      ['POST', `/v1/queue/${id}/claim`],
      ['POST', `/v1/queue/${id}/release`],
      ['GET', `/v1/items/${id}`],
      ['POST', `/v1/items/${id}/assessments`],
      ['GET', '/v1/settings/four-eyes'],
    ] as const) {
      const body = method === 'POST' ? { json: assessment('baseline') } : {};
      expect((await provider.send(app, method, path, body)).status, `${method} ${path}`).toBe(403);
      expect((await anonymous.send(app, method, path, body)).status, `${method} ${path}`).toBe(401);
    }
    // A browser session without its CSRF token may not assess.
    const noCsrf = await analysts[0].send(app, 'POST', `/v1/items/${id}/assessments`, {
      json: assessment('baseline'),
      csrf: false,
    });
    expect(noCsrf.status).toBe(403);
    expect(
      await t.db.selectFrom('assessment').select('id').where('item_id', '=', id).execute(),
    ).toEqual([]);
  });
});
