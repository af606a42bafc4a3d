import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApiApp } from '../../src/api/types.js';
import { addRule } from '../../src/classify/queries.js';
import type { Config } from '../../src/config.js';
import type { Pipeline } from '../../src/pipeline/service.js';
import { openMediaStore } from '../../src/store/blob-store.js';
import { TestClock, testApp } from '../support/accounts.js';
import { describeEachDatabase } from '../support/db.js';
import {
  filesUnder,
  pipelineConfig,
  pipelineSettled,
  plantInBank,
  startTestPipeline,
} from '../support/pipeline.js';
import { syntheticImage } from '../support/synthetic.js';
import {
  bytes,
  delayed,
  html,
  page,
  startWebFixture,
  status,
  syntheticImageFile,
} from '../support/web-fixture.js';
import type { WebFixture } from '../support/web-fixture.js';

/**
 * The automatic half of the pipeline on a generated web site: pages with
 * synthetic images, some of them planted in a bank, reported through the
 * public API. Known images are classified by the bank, unknown ones queued
 * for analysts with their media kept encrypted, and every way a fetch can
 * fail is recorded on its case or item. No network beyond 127.0.0.1.
 */
describeEachDatabase('the report pipeline, end to end', (t) => {
  let web: WebFixture;
  let app: ApiApp;
  let config: Config;
  let pipeline: Pipeline;
  const img: Record<string, Buffer> = {};
  const codes: Record<string, string> = {};

  const url = (p: string, host?: string) => web.url(p, host);
  const report = async (urls: string[], extra: Record<string, unknown> = {}) => {
    const res = await app.request('/v1/reports', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
      body: JSON.stringify({ urls, description: 'seen on a forum', ...extra }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    return ((await res.json()) as { trackingCode: string }).trackingCode;
  };
  const caseOf = (u: string) =>
    t.db.selectFrom('url_case').selectAll().where('url', '=', u).executeTakeFirstOrThrow();
  const itemsOf = async (u: string) => {
    const c = await caseOf(u);
    return t.db
      .selectFrom('media_item')
      .selectAll()
      .where('case_id', '=', c.id)
      .orderBy('url')
      .execute();
  };
  const statusOf = async (code: string) => {
    const res = await app.request(`/v1/reports/${code}`, {
      headers: { 'x-forwarded-for': '198.51.100.8' },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { status: string }).status;
  };

  beforeAll(async () => {
    web = await startWebFixture();
    config = await pipelineConfig({ TAKEDOWN_FETCH_MAX_BYTES: String(300_000) });
    // Known material (synthetic): exact copies and a re-encoded copy are in the bank.
    img.known1 = await syntheticImageFile('jpeg', 101, 400, 300);
    img.known2 = await syntheticImageFile('png', 102, 320, 240);
    img.unknown1 = await syntheticImageFile('jpeg', 201, 400, 300);
    img.unknown2 = await syntheticImageFile('png', 202, 360, 280);
    const raw = syntheticImage(400, 300, 101);
    img.known1Reencoded = await sharp(Buffer.from(raw.data), {
      raw: { width: 400, height: 300, channels: raw.channels },
    })
      .jpeg({ quality: 60 })
      .toBuffer();
    img.known1Mirrored = await sharp(img.known1).flop().jpeg({ quality: 90 }).toBuffer();
    img.big = await syntheticImageFile('png', 301, 1200, 900);
    expect(img.big.length).toBeGreaterThan(300_000);
    await plantInBank(t.db, 'police-known', 'baseline', [img.known1, img.known2]);
    await addRule(t.db, {
      domain: 'legal.example',
      action: 'not-illegal',
      hoster: null,
      note: 'adult site',
      createdBy: 'test',
    });
    await addRule(t.db, {
      domain: 'secret.example',
      action: 'do-not-fetch',
      hoster: null,
      note: '',
      createdBy: 'test',
    });
    await addRule(t.db, {
      domain: 'hosted.example',
      action: 'force-hoster',
      hoster: 'Example Hosting BV',
      note: '',
      createdBy: 'test',
    });

    for (const [name, type] of [
      ['known1.jpg', 'image/jpeg'],
      ['known2.png', 'image/png'],
      ['unknown1.jpg', 'image/jpeg'],
      ['unknown2.png', 'image/png'],
      ['known1Reencoded.jpg', 'image/jpeg'],
      ['known1Mirrored.jpg', 'image/jpeg'],
      ['big.png', 'image/png'],
    ] as const)
      web.route(`/img/${name}`, bytes(img[name.split('.')[0]], type));
    img.inline = await syntheticImageFile('png', 203, 96, 72);
    const inline = `data:image/png;base64,${img.inline.toString('base64')}`;
    web.route(
      '/gallery',
      html(
        page(`<h1>gallery</h1>
          <img src="img/known1.jpg" srcset="img/known1.jpg 1x, img/unknown1.jpg 2x">
          <div style="background-image: url('/img/known2.png')"></div>
          <a href="/img/known1Reencoded.jpg">full size</a>
          <picture><source srcset="/img/known1Mirrored.jpg"><img src="/img/unknown2.png"></picture>
          <img src="${inline}">`),
      ),
    );
    web.route(
      '/broken',
      html(
        page(`<img src="/img/gone.jpg"><img src="/img/page-not-image.jpg">
              <img src="/img/big.png"><img src="/img/slow.jpg">
              <img src="/img/error.jpg"><img src="http://127.0.0.1:1/img/closed.jpg">`),
      ),
    );
    web.route('/img/gone.jpg', status(404));
    web.route('/img/page-not-image.jpg', html(page('not an image')));
    web.route('/img/slow.jpg', delayed(5_000, bytes(img.unknown1, 'image/jpeg')));
    web.route('/img/error.jpg', status(503));
    web.route('/no-media', html(page('<p>just text, and a <a href="/elsewhere">link</a></p>')));
    web.route('/notes.txt', bytes('plain text, not a page', 'text/plain'));
    web.route('/empty', bytes('', 'text/html'));
    web.route('/missing', status(404));
    web.route('/legal', html(page('<img src="/img/known1.jpg">')));
    web.route('/secret', html(page('<img src="/img/known1.jpg">')));
    web.route('/hosted', html(page('<img src="/img/unknown1.jpg">')));

    app = testApp(t.db, new TestClock(), {
      env: { TAKEDOWN_REPORT_RATE_PER_MINUTE: '6000', TAKEDOWN_REPORT_BURST: '1000' },
    });
    pipeline = startTestPipeline(t.db, config, {
      'legal.example': ['127.0.0.1'],
      'secret.example': ['127.0.0.1'],
      'hosted.example': ['127.0.0.1'],
      'www.site.example': ['127.0.0.1'],
    });
    web.route(
      '/mixed-host',
      html(
        page(
          `<img src="${url('/img/unknown1.jpg', 'legal.example')}"><img src="/img/unknown1.jpg">`,
        ),
      ),
    );
    await pipeline.ready;

    codes.gallery = await report([url('/gallery', 'www.site.example')]);
    // The same page again, spelled differently (host case, fragment, trailing dot): it joins the open case.
    codes.galleryAgain = await report([
      url('/gallery#top', 'WWW.Site.Example'),
      url('/./gallery', 'www.site.example.'),
    ]);
    codes.direct = await report([url('/img/known2.png'), url('/img/unknown1.jpg')]);
    codes.broken = await report([url('/broken')]);
    codes.pages = await report([
      url('/no-media'),
      url('/notes.txt'),
      url('/empty'),
      url('/missing'),
    ]);
    codes.unreachable = await report(['http://127.0.0.1:1/nothing-listens-here']);
    codes.tls = await report([`https://127.0.0.1:${web.port}/gallery`]);
    codes.rules = await report([
      url('/legal', 'legal.example'),
      url('/secret', 'secret.example'),
      url('/hosted', 'hosted.example'),
      url('/mixed-host'),
    ]);
    await pipelineSettled(t.db);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop(1_000);
    await web?.close();
    if (config !== undefined) await fs.rm(config.mediaDir, { recursive: true, force: true });
  });

  it('classifies known images by the bank and queues the rest, with media kept only for the queue', async () => {
    const items = await itemsOf(url('/gallery', 'www.site.example'));
    const by = Object.fromEntries(items.map((i) => [i.url.replace(/^.*\/img\//, ''), i]));
    expect(items.map((i) => [i.found_as, i.state]).sort()).toEqual(
      [
        ['inline', 'queued'],
        ['page', 'classified'], // known1.jpg: exact match
        ['page', 'classified'], // known2.png, found in CSS
        ['page', 'classified'], // re-encoded copy: PDQ only
        ['page', 'classified'], // mirrored copy: PDQ over the 8 variants
        ['page', 'queued'], // unknown1.jpg from srcset
        ['page', 'queued'], // unknown2.png
      ].sort(),
    );
    for (const name of ['known1.jpg', 'known2.png', 'known1Reencoded.jpg', 'known1Mirrored.jpg']) {
      expect(by[name]).toMatchObject({
        classification: 'baseline',
        classified_by: 'bank',
        media_key: null,
      });
    }
    expect(by['known1.jpg'].via).toEqual(['img[src]', 'img[srcset]']);
    expect(by['known2.png'].via).toEqual(['[style]']);
    const matches = await t.db
      .selectFrom('media_match')
      .selectAll()
      .where('item_id', 'in', [by['known1.jpg'].id, by['known1Reencoded.jpg'].id])
      .orderBy('item_id')
      .orderBy('signal_type')
      .execute();
    expect(
      matches.map((m) => [m.item_id, m.signal_type, m.bank_name, m.category, m.decisive]),
    ).toEqual([
      [by['known1.jpg'].id, 'md5', 'police-known', 'baseline', true],
      [by['known1.jpg'].id, 'pdq', 'police-known', 'baseline', true],
      [by['known1Reencoded.jpg'].id, 'pdq', 'police-known', 'baseline', true],
    ]);
    expect(matches[2].distance).toBeLessThanOrEqual(31);
    const unknown = by['unknown1.jpg'];
    expect(unknown).toMatchObject({ state: 'queued', classification: null, sniffed: 'image/jpeg' });
    expect(unknown.sha256?.toString('hex')).toHaveLength(64);
    expect(unknown.pdq_quality).toBeGreaterThanOrEqual(50);
    expect(unknown.media_key).not.toBeNull();
  });

  it('keeps queued media encrypted at rest, readable with the key', async () => {
    const queued = await t.db
      .selectFrom('media_item')
      .selectAll()
      .where('state', '=', 'queued')
      .where('url', 'like', '%unknown1.jpg')
      .execute();
    const store = openMediaStore(config, 'the test');
    for (const item of queued)
      expect(Buffer.from((await store.get(item.media_key!))!)).toEqual(img.unknown1);
    const files = await filesUnder(config.mediaDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const stored = await fs.readFile(file);
      expect(stored.subarray(0, 4).toString('latin1')).toBe('TDB\u0001');
      for (const plain of [img.unknown1, img.unknown2, img.inline])
        expect(stored.includes(plain.subarray(0, 64))).toBe(false);
    }
    // Classified inline media waited in the store; only kept ones remain.
    const kept = await t.db
      .selectFrom('media_item')
      .select('media_key')
      .where('media_key', 'is not', null)
      .execute();
    expect(files.length).toBe(kept.length);
  });

  it('fetches a URL reported twice once, and links both reports to its case', async () => {
    const gallery = await caseOf(url('/gallery', 'www.site.example'));
    expect(gallery).toMatchObject({ state: 'fetched', report_count: 2, media_found: 7 });
    expect(web.requests.filter((r) => r.path === '/gallery')).toHaveLength(1);
    const links = await t.db
      .selectFrom('report_case')
      .select('report_id')
      .where('case_id', '=', gallery.id)
      .execute();
    expect(links).toHaveLength(2);
  });

  it('treats reported media as its own item', async () => {
    const [known] = await itemsOf(url('/img/known2.png'));
    expect(known).toMatchObject({
      found_as: 'reported',
      state: 'classified',
      classification: 'baseline',
    });
    const [unknown] = await itemsOf(url('/img/unknown1.jpg'));
    expect(unknown).toMatchObject({ found_as: 'reported', state: 'queued' });
    expect(await statusOf(codes.direct)).toBe('in progress');
  });

  it('records every way a fetch can fail, on the item or the case, without stuck jobs', async () => {
    const broken = Object.fromEntries(
      (await itemsOf(url('/broken'))).map((i) => [i.url.replace(/^.*\/img\//, ''), i]),
    );
    expect(broken['gone.jpg']).toMatchObject({
      state: 'unavailable',
      fetch_kind: 'not-found',
      fetch_status: 404,
    });
    expect(broken['page-not-image.jpg']).toMatchObject({
      state: 'unavailable',
      fetch_kind: 'not-media',
      sniffed: 'html',
    });
    expect(broken['big.png']).toMatchObject({ state: 'unavailable', fetch_kind: 'too-large' });
    // Passing failures are retried (TAKEDOWN_FETCH_RETRIES=2), then recorded.
    expect(broken['slow.jpg']).toMatchObject({
      state: 'unavailable',
      fetch_kind: 'timeout',
      fetch_attempts: 3,
    });
    expect(broken['error.jpg']).toMatchObject({
      state: 'unavailable',
      fetch_kind: 'http-error',
      fetch_status: 503,
      fetch_attempts: 3,
    });
    expect(broken['closed.jpg']).toMatchObject({
      state: 'unavailable',
      fetch_kind: 'unreachable',
      fetch_attempts: 3,
    });
    expect(web.requests.filter((r) => r.path === '/img/error.jpg')).toHaveLength(3);
    // Nothing on the page could be looked at: the page itself goes to an analyst.
    expect(await caseOf(url('/broken'))).toMatchObject({
      state: 'queued',
      review_reason: 'media-unavailable',
    });

    expect(await caseOf(url('/no-media'))).toMatchObject({
      state: 'queued',
      review_reason: 'no-media',
      media_found: 0,
    });
    expect(await caseOf(url('/notes.txt'))).toMatchObject({
      state: 'queued',
      review_reason: 'not-page-or-media',
      sniffed: 'other',
    });
    expect(await caseOf(url('/empty'))).toMatchObject({ state: 'unavailable', sniffed: 'empty' });
    const missing = await caseOf(url('/missing'));
    expect(missing).toMatchObject({
      state: 'unavailable',
      fetch_kind: 'not-found',
      fetch_attempts: 1,
    });
    expect(missing.closed_at).not.toBeNull();
    expect(await caseOf('http://127.0.0.1:1/nothing-listens-here')).toMatchObject({
      state: 'unavailable',
      fetch_kind: 'unreachable',
      fetch_attempts: 3,
    });
    const tls = await caseOf(`https://127.0.0.1:${web.port}/gallery`);
    expect(['tls-error', 'bad-response', 'unreachable']).toContain(tls.fetch_kind);
    expect(tls.state).toBe('unavailable');
    const jobs = await t.db
      .selectFrom('job')
      .select(['name', 'state'])
      .where('name', 'in', ['fetch-case', 'process-media'])
      .execute();
    expect(jobs).toEqual([]);
  });

  it('applies domain rules before fetching', async () => {
    const legal = await caseOf(url('/legal', 'legal.example'));
    expect(legal).toMatchObject({
      state: 'classified',
      classification: 'not-illegal',
      classified_by: 'rule',
      rule_action: 'not-illegal',
      fetch_kind: 'not-fetched',
    });
    const secret = await caseOf(url('/secret', 'secret.example'));
    expect(secret).toMatchObject({
      state: 'queued',
      review_reason: 'do-not-fetch',
      fetch_kind: 'not-fetched',
    });
    for (const host of ['legal.example', 'secret.example'])
      expect(
        web.requests.filter(
          (r) => r.headers.host?.startsWith(host) && r.path !== '/img/unknown1.jpg',
        ),
      ).toEqual([]);
    const hosted = await caseOf(url('/hosted', 'hosted.example'));
    expect(hosted).toMatchObject({ state: 'fetched', forced_hoster: 'Example Hosting BV' });
    // An image from a not-illegal domain on another site's page: classified unfetched.
    const mixed = await itemsOf(url('/mixed-host'));
    const fromLegal = mixed.find((i) => i.url.includes('legal.example'));
    expect(fromLegal).toMatchObject({
      state: 'classified',
      classification: 'not-illegal',
      classified_by: 'rule',
    });
    expect(mixed.find((i) => !i.url.includes('legal.example'))).toMatchObject({ state: 'queued' });
  });

  it('tells reporters the status of their report and nothing else', async () => {
    expect(await statusOf(codes.gallery)).toBe('in progress'); // items wait for analysts
    expect(await statusOf(codes.pages)).toBe('in progress');
    expect(await statusOf(codes.unreachable)).toBe('closed');
    const res = await app.request(
      `/v1/reports/${codes.unreachable.toLowerCase().replaceAll('-', ' ')}`,
    );
    expect(await res.json()).toEqual({ status: 'closed' });
  });
});
