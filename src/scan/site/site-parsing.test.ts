import { describe, expect, it } from 'vitest';
import { cssUrls, extractLinks, largestCandidate } from './extract.js';
import { Frontier } from './frontier.js';
import { RateLimiter } from './rate.js';
import { parseRobots, robotsAllow } from './robots.js';
import { parseSitemap } from './sitemap.js';

describe('robots.txt', () => {
  const text = `
# comment
User-agent: somebot
Disallow: /

User-agent: *
Disallow: /private/
Allow: /private/ok$
Disallow: /*.cgi
Disallow:

Sitemap: https://example.com/sitemap-index.xml
`;
  const robots = parseRobots(text, 'takedown');

  it('takes the * group for an agent it does not name, and its sitemaps', () => {
    expect(robots.sitemaps).toEqual(['https://example.com/sitemap-index.xml']);
    const allow = (path: string) => robotsAllow(robots, new URL(path, 'https://example.com'));
    expect(allow('/')).toBe(true);
    expect(allow('/private/x')).toBe(false);
    expect(allow('/private/ok')).toBe(true);
    expect(allow('/private/ok/more')).toBe(false);
    expect(allow('/search.cgi?q=1')).toBe(false);
  });

  it('prefers a group that names the agent', () => {
    const mine = parseRobots(
      'User-agent: *\nDisallow: /\n\nUser-agent: Takedown\nDisallow: /admin',
      'takedown',
    );
    expect(robotsAllow(mine, new URL('https://e.com/page'))).toBe(true);
    expect(robotsAllow(mine, new URL('https://e.com/admin/x'))).toBe(false);
  });
});

describe('sitemaps', () => {
  it('reads pages, images and escaped URLs', () => {
    const map = parseSitemap(`<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://example.com/a?x=1&amp;y=2</loc><lastmod>2025-01-01</lastmod>
    <image:image><image:loc>https://example.com/i.jpg</image:loc></image:image></url>
  <url><loc> https://example.com/b </loc></url>
</urlset>`);
    expect(map).toEqual({
      pages: ['https://example.com/a?x=1&y=2', 'https://example.com/b'],
      sitemaps: [],
      images: ['https://example.com/i.jpg'],
    });
  });

  it('reads an index of sitemaps', () => {
    const map = parseSitemap(
      '<sitemapindex><sitemap><loc>https://example.com/s1.xml</loc></sitemap><sitemap><loc><![CDATA[https://example.com/s2.xml.gz]]></loc></sitemap></sitemapindex>',
    );
    expect(map.sitemaps).toEqual(['https://example.com/s1.xml', 'https://example.com/s2.xml.gz']);
    expect(map.pages).toEqual([]);
  });
});

describe('links and images of a page', () => {
  it('finds images in every place a page shows them, and further pages', () => {
    const html = `<!doctype html><html><head>
      <meta property="og:image" content="/og.jpg">
      <meta name="twitter:image" content="https://example.com/tw.png">
      <link rel="image_src" href="/src.jpg">
      <style>.hero { background: url("/bg.webp") } .x{background-image:url(/bg2.png)}</style>
      </head><body>
      <img src="/a.jpg" srcset="/a-320.jpg 320w, /a-1280.jpg 1280w, /a-640.jpg 640w">
      <picture><source srcset="/p-1x.avif 1x, /p-2x.avif 2x" type="image/avif"><img src="/p.jpg"></picture>
      <video poster="/poster.jpg"></video>
      <div style="background-image: url('/inline.gif')"></div>
      <a href="/full-size.JPEG">full</a>
      <a href="/next-page#top">next</a> <a href="mailto:x@example.com">m</a>
      <a href="javascript:void(0)">j</a> <img src="data:image/png;base64,AAAA">
      <iframe src="/frame.html"></iframe>
      <template><img src="/templated.png"></template>
      </body></html>`;
    const links = extractLinks(html, 'https://example.com/dir/page.html');
    const paths = (urls: string[]) => urls.map((u) => new URL(u).pathname).sort();
    expect(paths(links.images)).toEqual(
      [
        '/og.jpg',
        '/tw.png',
        '/src.jpg',
        '/bg.webp',
        '/bg2.png',
        '/a.jpg',
        '/a-1280.jpg',
        '/p-2x.avif',
        '/p.jpg',
        '/poster.jpg',
        '/inline.gif',
        '/full-size.JPEG',
        '/templated.png',
      ].sort(),
    );
    expect(links.pages.sort()).toEqual([
      'https://example.com/frame.html',
      'https://example.com/next-page',
    ]);
  });

  it('resolves against <base href>', () => {
    const links = extractLinks(
      '<base href="https://example.com/static/"><img src="x.png">',
      'https://example.com/a/b',
    );
    expect(links.images).toEqual(['https://example.com/static/x.png']);
  });

  it('reads srcset and CSS urls', () => {
    expect(largestCandidate('a.jpg 1x, b.jpg 3x, c.jpg 2x')).toBe('b.jpg');
    expect(largestCandidate('only.jpg')).toBe('only.jpg');
    expect(largestCandidate(undefined)).toBeUndefined();
    expect(cssUrls(`url(a.png) url( "b c.png" ) url('d.png')`)).toEqual([
      'a.png',
      'b c.png',
      'd.png',
    ]);
  });
});

describe('the frontier', () => {
  it('keeps to the site, fetches each thing once, images first, pages up to the limit', () => {
    const frontier = new Frontier({
      maxPages: 2,
      hosts: ['example.com', 'cdn.example.com'],
      robots: parseRobots('User-agent: *\nDisallow: /admin', 'takedown'),
    });
    expect(frontier.addPage('https://example.com/')).toBe(true);
    expect(frontier.addPage('https://example.com/#again')).toBe(false);
    expect(frontier.addPage('https://other.example/')).toBe(false);
    expect(frontier.addPage('https://example.com/admin/x')).toBe(false);
    expect(frontier.addPage('https://example.com/file.pdf')).toBe(false);
    expect(frontier.addPage('https://example.com/b')).toBe(true);
    expect(frontier.addPage('https://example.com/c')).toBe(true);
    expect(frontier.addImage('https://cdn.example.com/i.jpg', 'https://example.com/')).toBe(true);
    expect(frontier.addImage('https://cdn.example.com/i.jpg', 'https://example.com/b')).toBe(false);
    expect(frontier.addImage('https://tracker.example/pixel.gif', 'https://example.com/')).toBe(
      false,
    );
    const order = [];
    for (let task = frontier.next(); task; task = frontier.next())
      order.push(`${task.kind} ${task.url}`);
    expect(order).toEqual([
      'image https://cdn.example.com/i.jpg',
      'page https://example.com/',
      'page https://example.com/b',
    ]);
    expect(frontier.overLimit).toBe(1);
    expect(frontier.disallowed).toBe(1);
  });
});

describe('the rate limiter', () => {
  it('spaces request starts 1/rate apart, also for callers that arrive together', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const limiter = new RateLimiter(
      4,
      () => now,
      async (ms) => void sleeps.push(ms),
    );
    await Promise.all([limiter.wait(), limiter.wait(), limiter.wait()]);
    expect(sleeps).toEqual([250, 500]);
    now = 10_000;
    await limiter.wait();
    expect(sleeps).toEqual([250, 500]);
  });
});
