import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/hash/file/hash-file.js';
import { hammingDistance } from '../../src/hash/pdq-hash.js';
import type { BankFileEntry } from '../../src/scan/bank-file.js';
import type { CheckServer } from './check-server.js';
import { startCheckServer } from './check-server.js';
import { takedown as run0 } from './cli.js';
import type { NearDuplicates } from './images.js';
import { PLANTED_SEEDS, nearDuplicates, otherImage } from './images.js';
import type { Site } from './site-server.js';
import { html, jpeg, png, startSite } from './site-server.js';

/**
 * `takedown scan --site URL`: the built CLI crawls a loopback website with
 * planted synthetic images (originals and near-duplicates) in every place a
 * page can show an image, and checks them against a bank file and a
 * loopback hash-check server.
 */

const KEY = 'site-key-0123456789';

let dir: string;
let site: Site;
let offSite: Site;
let server: CheckServer;
let bankFile: string;
const expected = new Map<string, { matchedBy: string; distance: number }>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-site-'));
  site = await startSite('127.0.0.1');
  offSite = await startSite('127.0.0.1');
  const sets = new Map<number, NearDuplicates>();
  const entries: BankFileEntry[] = [];
  for (const seed of PLANTED_SEEDS) {
    const set = await nearDuplicates(seed);
    sets.set(seed, set);
    const h = await hashBytes(set.original);
    entries.push({ type: 'pdq', value: h.pdq as string, bank: 'police-nl', category: 'baseline' });
    entries.push({
      type: 'sha256',
      value: h.sha256 as string,
      bank: 'police-nl',
      category: 'baseline',
    });
  }
  bankFile = path.join(dir, 'bank.jsonl');
  await writeFile(bankFile, entries.map((e) => JSON.stringify(e)).join('\n'));
  server = await startCheckServer({ key: KEY, entries });

  const o = site.origin;
  const plant = async (
    route: string,
    seed: number,
    kind: keyof NearDuplicates,
    type: 'jpeg' | 'png' = 'jpeg',
  ) => {
    const set = sets.get(seed) as NearDuplicates;
    site.pages.set(route, type === 'png' ? png(set[kind]) : jpeg(set[kind]));
    const original = await hashBytes(set.original);
    const copy = await hashBytes(set[kind]);
    expected.set(`${o}${route}`, {
      matchedBy: kind === 'original' ? 'sha256' : 'pdq',
      distance:
        kind === 'original' ? 0 : hammingDistance(original.pdq as string, copy.pdq as string),
    });
  };
  site.pages.set('/robots.txt', {
    type: 'text/plain',
    body: `User-agent: *\nDisallow: /private/\n\nSitemap: ${o}/sitemap.xml\n`,
  });
  site.pages.set('/sitemap.xml', {
    type: 'application/xml',
    body: `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${o}/</loc></url><url><loc>${o}/page2.html</loc></url></urlset>`,
  });
  site.pages.set(
    '/',
    html(
      `<a href="/gallery.html">Gallery</a> <a href="/private/secret.html">Admin</a>
       <img src="/img/logo.png"> <img src="http://localhost:${new URL(offSite.origin).port}/evil.jpg">`,
      '<meta property="og:image" content="/img/og.jpg">',
    ),
  );
  site.pages.set(
    '/gallery.html',
    html(`
      <img src="/img/a.jpg">
      <img src="/img/b-small.jpg" srcset="/img/b-small.jpg 320w, /img/b-medium.jpg 640w, /img/b-large.jpg 1280w">
      <div style="background-image: url('/img/c.png')"></div>
      <a href="/img/d.jpg">full size</a>
      <video poster="/img/e"></video>
      <img src="/img/missing.jpg">
      <a href="/">home</a>`),
  );
  site.pages.set('/page2.html', html('<p>Only in the sitemap.</p><img src="/img/f.jpg">'));
  site.pages.set('/private/secret.html', html('<img src="/img/private.jpg">'));
  await plant('/img/a.jpg', 11, 'original');
  await plant('/img/b-large.jpg', 13, 'resized');
  site.pages.set('/img/b-small.jpg', jpeg(await otherImage(700)));
  await plant('/img/c.png', 16, 'cropped', 'png');
  await plant('/img/d.jpg', 11, 'lowQuality');
  await plant('/img/e', 13, 'brightened');
  site.pages.set('/img/logo.png', png(await otherImage(701, 'png')));
  site.pages.set('/img/og.jpg', jpeg(await otherImage(702)));
  site.pages.set('/img/f.jpg', jpeg(await otherImage(703)));
  site.pages.set('/img/private.jpg', jpeg(await otherImage(704)));
  offSite.pages.set('/evil.jpg', jpeg(await otherImage(705)));
}, 120_000);
afterAll(async () => {
  await Promise.all([site?.close(), offSite?.close(), server?.close()]);
  await rm(dir, { recursive: true, force: true });
});

const takedown = (args: string[], env: Record<string, string> = {}) =>
  run0(args, { cwd: dir, env });
const fast = ['--rate', '50', '--concurrency', '2', '--allow-private'];

interface Report {
  complete: boolean;
  summary: Record<string, number>;
  rows: Array<Record<string, string | number>>;
}

describe('takedown scan --site', () => {
  it('crawls the site politely, hashes its images in memory, and finds the planted ones', async () => {
    site.requests.length = 0;
    const report = path.join(dir, 'site.json');
    const run = await takedown([
      'scan',
      '--site',
      site.origin,
      '--bank',
      bankFile,
      '--report',
      report,
      ...fast,
    ]);
    expect(run.code).toBe(1);
    const r = JSON.parse(await readFile(report, 'utf8')) as Report;
    expect(r.complete).toBe(true);
    const found = new Map(
      r.rows
        .filter((row) => row.status === 'match')
        .map((row) => [row.url, { matchedBy: row.matchedBy, distance: row.distance }]),
    );
    expect(found).toEqual(expected);
    expect(r.rows.find((row) => row.url === `${site.origin}/img/a.jpg`)).toMatchObject({
      page: `${site.origin}/gallery.html`,
      bank: 'police-nl',
      category: 'baseline',
    });
    expect(r.rows.filter((row) => row.status !== 'match')).toEqual([
      expect.objectContaining({
        status: 'skipped',
        url: `${site.origin}/img/missing.jpg`,
        errorCode: 'http-not-found',
      }),
    ]);
    // Pages: /, /page2.html (sitemap only), /gallery.html; not /private/ (robots.txt).
    expect(r.summary).toMatchObject({ pages: 3, found: 10, hashed: 9, matchedItems: 5 });
    expect(site.requests.filter((p) => p.startsWith('/private'))).toEqual([]);
    // Of a srcset, only the largest candidate (and the img's own src).
    expect(site.requests).toContain('/img/b-small.jpg');
    expect(site.requests).not.toContain('/img/b-medium.jpg');
    expect(offSite.requests).toEqual([]);
    // Everything once.
    expect(new Set(site.requests).size).toBe(site.requests.length);
    expect(site.requests.slice(0, 2)).toEqual(['/robots.txt', '/sitemap.xml']);
  });

  it('sends the hash-check server only hashes: no image bytes, no addresses', async () => {
    server.requests.length = 0;
    const run = await takedown(['scan', '--site', site.origin, '--server', server.url, ...fast], {
      TAKEDOWN_API_KEY: KEY,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/Matched\s*│\s*5 images/);
    for (const request of server.requests) {
      expect(request.body.includes(Buffer.from([0xff, 0xd8, 0xff]))).toBe(false);
      expect(request.body.includes(Buffer.from('\x89PNG', 'latin1'))).toBe(false);
      const text = request.body.toString('utf8');
      expect(text).not.toContain('127.0.0.1');
      expect(text).not.toContain('img');
      const body = JSON.parse(text) as { hashes: Array<Record<string, string>> };
      for (const hash of body.hashes) expect(Object.keys(hash)).toEqual(['type', 'value']);
      expect(request.body.length).toBeLessThanOrEqual(12 + body.hashes.length * 92);
    }
  });

  it('--dry-run lists the images it would fetch, and fetches none', async () => {
    site.requests.length = 0;
    server.requests.length = 0;
    const run = await takedown([
      'scan',
      '--site',
      site.origin,
      '--server',
      server.url,
      '--key',
      KEY,
      '--dry-run',
      ...fast,
    ]);
    expect(run.code).toBe(0);
    const listed = run.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t')[0]);
    expect(listed.sort()).toEqual(
      [
        'a.jpg',
        'b-large.jpg',
        'c.png',
        'd.jpg',
        'e',
        'missing.jpg',
        'logo.png',
        'og.jpg',
        'f.jpg',
        'b-small.jpg',
      ]
        .map((name) => `${site.origin}/img/${name}`)
        .sort(),
    );
    expect(site.requests.filter((p) => p.startsWith('/img/'))).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  it('keeps to the rate, with two requests at once', async () => {
    site.requests.length = 0;
    site.times.length = 0;
    const run = await takedown([
      'scan',
      '--site',
      site.origin,
      '--bank',
      bankFile,
      '--allow-private',
      '--rate',
      '8',
      '--concurrency',
      '2',
    ]);
    expect(run.code).toBe(1);
    expect(site.times.length).toBeGreaterThan(10);
    // 8 per second: request starts 125 ms apart. Arrivals jitter with the
    // machine's load (a late arrival shortens the span after it), so look at
    // spans of nine requests (eight gaps, 1,000 ms) with room for one delay.
    for (let i = 0; i + 8 < site.times.length; i++) {
      expect(site.times[i + 8] - site.times[i]).toBeGreaterThan(800);
    }
    expect((site.times.at(-1)! - site.times[0]) / (site.times.length - 1)).toBeGreaterThanOrEqual(
      120,
    );
  });

  it('keeps to the page limit', async () => {
    const run = await takedown([
      'scan',
      '--site',
      site.origin,
      '--bank',
      bankFile,
      '--max-pages',
      '1',
      ...fast,
    ]);
    expect(run.stderr).toMatch(/Stopped at the page limit \(1\); 2 more pages/);
    expect(run.stdout).toMatch(/Pages crawled\s*│\s*1 /);
  });

  it('refuses private addresses unless --allow-private, and then exits 2', async () => {
    const run = await takedown(['scan', '--site', site.origin, '--bank', bankFile, '--rate', '50']);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('INCOMPLETE');
    expect(run.stdout + run.stderr).toMatch(/could not be fetched .*loopback/);
  });
});
