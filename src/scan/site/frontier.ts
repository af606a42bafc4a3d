import type { Robots } from './robots.js';
import { NO_ROBOTS, robotsAllow } from './robots.js';

/**
 * What the crawler fetches next, and what it never fetches: pages and
 * images of the site's own host (and hosts added with --include-host)
 * only, each once, pages up to the limit and as robots.txt allows. Images
 * go first, so that what a page showed is checked before the crawl moves
 * on and the queue of images stays short. Pure.
 */

export type CrawlTask =
  | { readonly kind: 'page'; readonly url: string }
  | { readonly kind: 'image'; readonly url: string; readonly page: string };

export interface FrontierOptions {
  readonly maxPages: number;
  readonly hosts: readonly string[];
  readonly robots?: Robots;
}

/** Links to these are files, not pages: not fetched as pages (images are taken from pages). */
const NOT_A_PAGE =
  /\.(pdf|zip|gz|tgz|bz2|xz|7z|rar|tar|mp4|m4v|mov|avi|mkv|webm|mp3|wav|ogg|flac|css|js|mjs|json|xml|txt|csv|doc|docx|xls|xlsx|ppt|pptx|exe|dmg|iso|woff2?|ttf|otf|eot|svg|ico)$/i;

export class Frontier {
  readonly #hosts: Set<string>;
  readonly #maxPages: number;
  #robots: Robots;
  readonly #seenPages = new Set<string>();
  readonly #seenImages = new Set<string>();
  readonly #pages: string[] = [];
  readonly #images: { url: string; page: string }[] = [];
  #pagesHanded = 0;
  /** Pages left out by robots.txt, and beyond the limit. */
  disallowed = 0;
  overLimit = 0;

  constructor(options: FrontierOptions) {
    this.#hosts = new Set(options.hosts.map((h) => h.toLowerCase()));
    this.#maxPages = options.maxPages;
    this.#robots = options.robots ?? NO_ROBOTS;
  }

  set robots(robots: Robots) {
    this.#robots = robots;
  }

  onSite(url: URL | string): boolean {
    const u = typeof url === 'string' ? safeUrl(url) : url;
    return u !== undefined && this.#hosts.has(u.hostname.toLowerCase());
  }

  allowedHost(host: string): boolean {
    return this.#hosts.has(host.toLowerCase());
  }

  /** Queues a page; false when it is off the site, seen, not a page, or disallowed. */
  addPage(text: string): boolean {
    const url = safeUrl(text);
    if (url === undefined || !this.onSite(url) || NOT_A_PAGE.test(url.pathname)) return false;
    url.hash = '';
    const key = url.href;
    if (this.#seenPages.has(key)) return false;
    this.#seenPages.add(key);
    if (!robotsAllow(this.#robots, url)) {
      this.disallowed++;
      return false;
    }
    this.#pages.push(key);
    return true;
  }

  /** Queues an image of the site once, whichever page shows it first. */
  addImage(text: string, page: string): boolean {
    const url = safeUrl(text);
    if (url === undefined || !this.onSite(url)) return false;
    url.hash = '';
    if (this.#seenImages.has(url.href)) return false;
    this.#seenImages.add(url.href);
    this.#images.push({ url: url.href, page });
    return true;
  }

  next(): CrawlTask | undefined {
    const image = this.#images.shift();
    if (image) return { kind: 'image', ...image };
    if (this.#pagesHanded >= this.#maxPages) {
      this.overLimit += this.#pages.length;
      this.#pages.length = 0;
      return undefined;
    }
    const page = this.#pages.shift();
    if (page === undefined) return undefined;
    this.#pagesHanded++;
    return { kind: 'page', url: page };
  }
}

function safeUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}
