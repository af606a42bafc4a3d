import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetcher, decodeHtml, extractMedia, staticResolver } from '../../src/fetch/index.js';
import type { FetchOutcome } from '../../src/fetch/index.js';
import {
  bytes,
  html,
  page,
  redirect,
  startWebFixture,
  status,
  syntheticImageFile,
} from '../support/web-fixture.js';
import type { WebFixture } from '../support/web-fixture.js';

/**
 * The fetch stage's whole path on a generated site: fetch the reported page,
 * find its media, fetch each as media. Every outcome is a value to record.
 */
describe('a reported page and its media', () => {
  let web: WebFixture;
  const images: Record<string, Buffer> = {};
  const fetcher = createFetcher({
    allow: ['127.0.0.0/8'],
    maxBytes: 4 * 1024 * 1024,
    timeoutMs: 3_000,
    idleTimeoutMs: 1_000,
    maxRedirects: 5,
    perHost: 4,
    userAgent: 'test',
    resolver: staticResolver({
      'host.example': ['127.0.0.1'],
      'private-cdn.example': ['10.9.9.9'],
    }),
  });

  beforeAll(async () => {
    web = await startWebFixture();
    for (const [name, format, seed] of [
      ['one.jpg', 'jpeg', 11],
      ['two.png', 'png', 12],
      ['three.webp', 'webp', 13],
      ['four.gif', 'gif', 14],
    ] as const) {
      images[name] = await syntheticImageFile(format, seed, 320, 240);
      web.route(`/img/${name}`, bytes(images[name], 'application/octet-stream'));
    }
    web.route('/img/moved.jpg', redirect('/img/one.jpg', 301));
    web.route('/img/missing.jpg', status(404));
    web.route('/img/not-an-image.jpg', html(page('surprise')));
    web.route(
      '/gallery',
      html(
        page(
          `<img src="img/one.jpg" srcset="img/two.png 2x">
           <picture><source srcset="/img/three.webp"><img src="/img/moved.jpg"></picture>
           <div style="background-image:url(/img/four.gif)"></div>
           <img src="/img/missing.jpg"><img src="/img/not-an-image.jpg">
           <img src="http://private-cdn.example/x.jpg">`,
          '<base href="/">',
        ),
      ),
    );
  });
  afterAll(() => web.close());

  it('yields each medium or a recorded reason', async () => {
    const pageOutcome = await fetcher.fetch(web.url('/gallery', 'host.example'));
    if (pageOutcome.kind !== 'ok') throw new Error(pageOutcome.message);
    expect(pageOutcome.sniffed).toEqual({ kind: 'html' });
    const { links } = extractMedia(
      decodeHtml(pageOutcome.bytes, pageOutcome.contentType),
      pageOutcome.finalUrl,
    );
    const base = web.url('', 'host.example');
    expect(links.map((l) => l.url)).toEqual(
      [
        'one.jpg',
        'two.png',
        'three.webp',
        'moved.jpg',
        'four.gif',
        'missing.jpg',
        'not-an-image.jpg',
      ]
        .map((name) => `${base}/img/${name}`)
        .concat('http://private-cdn.example/x.jpg'),
    );
    const outcomes: FetchOutcome[] = await Promise.all(
      links.map((l) => fetcher.fetch(l.url, { expect: 'media' })),
    );
    const summary = outcomes.map((o) =>
      o.kind === 'ok' ? `${o.sniffed.kind === 'image' ? o.sniffed.format : '?'}` : o.kind,
    );
    expect(summary).toEqual([
      'jpeg',
      'png',
      'webp',
      'jpeg',
      'gif',
      'not-found',
      'not-media',
      'blocked-address',
    ]);
    for (const [i, name] of ['one.jpg', 'two.png', 'three.webp', 'one.jpg', 'four.gif'].entries()) {
      const outcome = outcomes[i];
      expect(outcome.kind === 'ok' && Buffer.from(outcome.bytes).equals(images[name])).toBe(true);
    }
    expect(outcomes[3]).toMatchObject({ kind: 'ok', redirects: [`${base}/img/one.jpg`] });
  });
});
