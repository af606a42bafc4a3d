import { gunzipSync } from 'node:zlib';
import type { HashOptions } from '../../hash/file/hash-file.js';
import { hashBytes } from '../../hash/file/hash-file.js';
import type { ScanSession } from '../session.js';
import type { StateEntry } from '../state.js';
import type { ItemProblem } from '../types.js';
import { extractLinks } from './extract.js';
import type { CrawlTask } from './frontier.js';
import { Frontier } from './frontier.js';
import type { Fetcher, FetchFailure, FetchOutcome } from '../../fetch/index.js';
import { createFetcher } from '../../fetch/index.js';
import { RateLimiter } from './rate.js';
import type { Robots } from './robots.js';
import { NO_ROBOTS, parseRobots } from './robots.js';
import { parseSitemap } from './sitemap.js';

/**
 * `--allow-private`: the private and local ranges a provider's own site may
 * sit in. Multicast, documentation and reserved ranges stay refused, and
 * the fetcher refuses cloud metadata addresses whatever this says.
 */
export const PRIVATE_RANGES: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
  '::1/128',
];

export interface SiteScanOptions {
  readonly maxPages: number;
  /** Requests per second to the site, all kinds together. */
  readonly rate: number;
  /** Requests in flight at once (1 or 2). */
  readonly concurrency: number;
  readonly allowPrivate: boolean;
  /** Address ranges the fetcher may reach although special (TAKEDOWN_FETCH_ALLOW). */
  readonly allow: readonly string[];
  readonly includeHosts: readonly string[];
  readonly ignoreRobots: boolean;
  readonly userAgent: string;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxRedirects: number;
  readonly maxPageBytes: number;
  readonly maxImageBytes: number;
  readonly hashOptions: HashOptions;
  readonly resume?: ReadonlyMap<string, StateEntry>;
  readonly signal?: AbortSignal;
  readonly notice?: (text: string) => void;
  /** `--dry-run`: images are listed here instead of fetched. */
  readonly listOnly?: (url: string, page: string) => void;
  /** Instead of the hotline's hardened fetcher (src/fetch) built from these options (tests). */
  readonly fetcher?: Fetcher;
}

export interface SiteScanResult {
  /** Set when not even the start page could be fetched: the scan is incomplete. */
  readonly startFailed?: string;
}

/** Sitemap files read at most (an index may list many), and their largest size (sitemaps.org: 50 MB). */
const MAX_SITEMAPS = 50;
const MAX_SITEMAP_BYTES = 50 * 1024 * 1024;

/**
 * Crawls the provider's own site: robots.txt (its Sitemap lines and rules),
 * the sitemaps (or /sitemap.xml), then pages from the start URL, at a
 * polite rate; every image the pages show is fetched into memory, hashed
 * there and dropped (never written to disk), and its hashes go to the
 * session like a file's.
 */
export async function scanSite(
  start: string,
  session: ScanSession,
  options: SiteScanOptions,
): Promise<SiteScanResult> {
  const startUrl = new URL(start);
  const frontier = new Frontier({
    maxPages: options.maxPages,
    hosts: [startUrl.hostname, ...options.includeHosts],
  });
  const fetcher =
    options.fetcher ??
    createFetcher({
      allow: [...options.allow, ...(options.allowPrivate ? PRIVATE_RANGES : [])],
      maxBytes: Math.max(options.maxPageBytes, options.maxImageBytes),
      timeoutMs: options.timeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      maxRedirects: options.maxRedirects,
      perHost: options.concurrency,
      userAgent: options.userAgent,
    });
  const limiter = new RateLimiter(options.rate);
  const get: Get = async (url, maxBytes, expect = 'any') => {
    await limiter.wait();
    return fetcher.fetch(url, { maxBytes, expect, signal: options.signal });
  };
  let startFailed: string | undefined;
  const robots = await readRobots(startUrl, get);
  frontier.robots = options.ignoreRobots ? { ...NO_ROBOTS, sitemaps: robots.sitemaps } : robots;
  frontier.addPage(startUrl.href);
  const fromSitemaps = await readSitemaps(startUrl, robots, frontier, get, options.signal);
  options.notice?.(
    `Crawling ${startUrl.origin}: ${robots.rules.length} robots.txt rules${options.ignoreRobots ? ' (ignored)' : ''}, ${fromSitemaps} pages from sitemaps; at most ${options.maxPages} pages, ${options.rate} requests/s.`,
  );

  const runTask = async (task: CrawlTask): Promise<void> => {
    if (task.kind === 'page') {
      const outcome = await get(task.url, options.maxPageBytes);
      if (outcome.kind !== 'ok') {
        if (outcome.kind === 'aborted') return;
        const problem = pageProblem(outcome);
        if (task.url === startUrl.href && session.counts.pages === 0 && fromSitemaps === 0) {
          startFailed = `the start page ${task.url} could not be fetched (${outcome.message})`;
        }
        session.problem({ kind: 'url', url: task.url }, problem);
        return;
      }
      if (outcome.sniffed.kind === 'image') {
        // A link without an image extension that turned out to be an image.
        await hashImage(session, task.url, task.url, outcome.bytes, options);
        return;
      }
      // A redirect off the site leads to someone else's pages: not crawled.
      if (outcome.sniffed.kind !== 'html' || !frontier.onSite(outcome.finalUrl)) return;
      session.counts.pages++;
      const links = extractLinks(decodeText(outcome.bytes, outcome.contentType), outcome.finalUrl);
      for (const image of links.images) frontier.addImage(image, outcome.finalUrl);
      for (const page of links.pages) frontier.addPage(page);
      return;
    }
    const saved = options.resume?.get(task.url);
    const location = { kind: 'url', url: task.url, page: task.page } as const;
    if (options.listOnly) {
      if (saved === undefined) options.listOnly(task.url, task.page);
      return;
    }
    if (saved !== undefined) {
      await session.hashed({ location, record: saved.record, origin: 'resumed' }, null);
      return;
    }
    const outcome = await get(task.url, options.maxImageBytes, 'media');
    if (outcome.kind === 'ok')
      await hashImage(session, task.url, task.page, outcome.bytes, options);
    else if (outcome.kind !== 'aborted') session.problem(location, imageProblem(outcome));
  };

  await runWorkers(frontier, runTask, options.concurrency, options.signal);
  if (frontier.overLimit > 0) {
    options.notice?.(
      `Stopped at the page limit (${options.maxPages}); ${frontier.overLimit} more pages were found. Raise it with --max-pages.`,
    );
  }
  return startFailed === undefined ? {} : { startFailed };
}

/** Runs tasks, `concurrency` at a time, until the frontier is empty and nothing is running. */
async function runWorkers(
  frontier: Frontier,
  run: (task: CrawlTask) => Promise<void>,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  let active = 0;
  let wake: (() => void) | undefined;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (signal?.aborted) return;
      const task = frontier.next();
      if (task === undefined) {
        if (active === 0) {
          wake?.();
          return;
        }
        // Another worker's page may add tasks: wait for it to finish one.
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      active++;
      try {
        await run(task);
      } finally {
        active--;
        const waiting = wake;
        wake = undefined;
        waiting?.();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

async function hashImage(
  session: ScanSession,
  url: string,
  page: string,
  bytes: Uint8Array,
  options: SiteScanOptions,
): Promise<void> {
  // In memory only: the bytes are hashed and dropped, never written anywhere.
  const record = await hashBytes(bytes, options.hashOptions);
  await session.hashed({ location: { kind: 'url', url, page }, record, origin: 'hashed' }, null);
}

type Get = (url: string, maxBytes: number, expect?: 'any' | 'media') => Promise<FetchOutcome>;

async function readRobots(start: URL, get: Get): Promise<Robots> {
  const outcome = await get(new URL('/robots.txt', start).href, 512 * 1024);
  if (outcome.kind !== 'ok' || outcome.status !== 200) return NO_ROBOTS;
  return parseRobots(new TextDecoder().decode(outcome.bytes), 'takedown');
}

/** Queues the pages and images the sitemaps list; returns how many pages they added. */
async function readSitemaps(
  start: URL,
  robots: Robots,
  frontier: Frontier,
  get: Get,
  signal: AbortSignal | undefined,
): Promise<number> {
  const queue = robots.sitemaps.filter((url) => frontier.onSite(url));
  if (queue.length === 0) queue.push(new URL('/sitemap.xml', start).href);
  const seen = new Set<string>();
  let pages = 0;
  while (queue.length > 0 && seen.size < MAX_SITEMAPS && !signal?.aborted) {
    const url = queue.shift() as string;
    if (seen.has(url)) continue;
    seen.add(url);
    const outcome = await get(url, MAX_SITEMAP_BYTES);
    if (outcome.kind !== 'ok' || outcome.status !== 200) continue;
    let body = Buffer.from(outcome.bytes);
    // A sitemap.xml.gz is gzip as a file, not as a transfer encoding.
    if (body[0] === 0x1f && body[1] === 0x8b) {
      try {
        body = gunzipSync(body, { maxOutputLength: MAX_SITEMAP_BYTES });
      } catch {
        continue;
      }
    }
    const sitemap = parseSitemap(body.toString('utf8'));
    for (const page of sitemap.pages) if (frontier.addPage(page)) pages++;
    for (const image of sitemap.images) frontier.addImage(image, url);
    for (const next of sitemap.sitemaps) if (frontier.onSite(next)) queue.push(next);
  }
  return pages;
}

function pageProblem(outcome: FetchFailure): ItemProblem {
  if (outcome.kind === 'not-found') {
    return {
      code: 'http-not-found',
      message: `The page answers ${outcome.status}: a broken link.`,
    };
  }
  if (outcome.kind === 'blocked-address')
    return { code: 'blocked-address', message: blockedHint(outcome) };
  return {
    code: 'page-failed',
    message: `The page could not be fetched (${outcome.message}), so its images were not seen.`,
  };
}

function imageProblem(outcome: FetchFailure): ItemProblem {
  switch (outcome.kind) {
    case 'not-found':
      return {
        code: 'http-not-found',
        message: `The image answers ${outcome.status}: the page links to an image that is not there.`,
      };
    case 'not-media':
      return { code: 'not-an-image', message: 'The address gives something other than an image.' };
    case 'too-large':
      return {
        code: 'too-large',
        message: `The image is too large to fetch (${outcome.message}).`,
      };
    case 'blocked-address':
      return { code: 'blocked-address', message: blockedHint(outcome) };
    case 'http-error':
      return {
        code: 'http-error',
        message: `The image could not be fetched (${outcome.message}).`,
      };
    default:
      return {
        code: 'fetch-failed',
        message: `The image could not be fetched (${outcome.message}).`,
      };
  }
}

function blockedHint(outcome: FetchFailure): string {
  return `${outcome.message}. If this is your own site on an internal address, add --allow-private.`;
}

/** The page's text in the charset its Content-Type names (UTF-8 otherwise). */
function decodeText(bytes: Uint8Array, contentType: string | undefined): string {
  const charset = /charset=["']?([\w-]+)/i.exec(contentType ?? '')?.[1] ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}
