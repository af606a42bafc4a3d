import { parse } from 'parse5';
import type { DefaultTreeAdapterTypes } from 'parse5';
import { normalizeUrl } from '../intake/normalize-url.js';
import type { NormalizedUrl } from '../intake/normalize-url.js';
import { cssUrls } from './css-urls.js';
import { decodeDataUrl } from './data-url.js';
import { srcsetUrls } from './srcset.js';

/**
 * The media a page shows or points to, from its HTML: a pure function of
 * the markup and the page's URL. parse5 parses as browsers do (WHATWG), so
 * broken markup yields the elements a browser would see; <noscript> content
 * is read as markup, since lazy-loading pages put their real <img> there.
 */

/** How a URL was found: the element and attribute, or the CSS context. */
export type MediaVia =
  | 'img[src]'
  | 'img[srcset]'
  | 'img[data-src]'
  | 'source[srcset]'
  | 'source[src]'
  | 'video[src]'
  | 'video[poster]'
  | 'meta[og:image]'
  | 'meta[og:video]'
  | 'meta[twitter:image]'
  | 'link[image_src]'
  | 'link[preload]'
  | 'svg image[href]'
  | 'input[type=image]'
  | '[background]'
  | '[style]'
  | '<style>'
  | 'a[href]';

/** What the context suggests the URL holds; the bytes decide when it is fetched. */
export type MediaHint = 'image' | 'video' | 'unknown';

export interface MediaLink {
  readonly url: NormalizedUrl;
  /** Every way it was found, first one first. */
  readonly via: readonly MediaVia[];
  readonly hint: MediaHint;
}

export interface InlineMedia {
  /** As the data: URL declares it; sniff the bytes before trusting it. */
  readonly mediaType: string;
  readonly bytes: Uint8Array;
  readonly via: MediaVia;
}

export interface ExtractedMedia {
  /** The URL relative references were resolved against (the page's, or its <base href>). */
  readonly baseUrl: string;
  readonly links: readonly MediaLink[];
  readonly inline: readonly InlineMedia[];
  /** A cap was reached (links, inline media, or the page's length): some media were left out. */
  readonly truncated: boolean;
  /** References that lead nowhere fetchable (javascript:, blob:, malformed, non-media data:). */
  readonly skipped: number;
}

export interface ExtractOptions {
  /** Most links returned (default 500). */
  readonly maxLinks?: number;
  /** Most inline (data:) media returned (default 50). */
  readonly maxInline?: number;
  /** Largest inline medium decoded (default 10 MiB). */
  readonly maxInlineBytes?: number;
  /** Markup beyond this many characters is not parsed (default 5 million). */
  readonly maxHtmlChars?: number;
}

type Element = DefaultTreeAdapterTypes.Element;
type Node = DefaultTreeAdapterTypes.Node;

const IMAGE_EXTENSIONS = /\.(jpe?g|jpe|jfif|png|apng|gif|webp|avif|heic|heif|bmp|tiff?)$/i;
const VIDEO_EXTENSIONS = /\.(mp4|m4v|mov|webm|mkv|avi|flv|wmv|mpe?g|3gp)$/i;
const LAZY_SRC = ['data-src', 'data-original', 'data-lazy-src', 'data-url'];
const LAZY_SRCSET = ['data-srcset', 'data-lazy-srcset'];
const META: Readonly<Record<string, [MediaVia, MediaHint]>> = {
  'og:image': ['meta[og:image]', 'image'],
  'og:image:url': ['meta[og:image]', 'image'],
  'og:image:secure_url': ['meta[og:image]', 'image'],
  'twitter:image': ['meta[twitter:image]', 'image'],
  'twitter:image:src': ['meta[twitter:image]', 'image'],
  'og:video': ['meta[og:video]', 'video'],
  'og:video:url': ['meta[og:video]', 'video'],
  'og:video:secure_url': ['meta[og:video]', 'video'],
};

export function extractMedia(
  html: string,
  pageUrl: string,
  options: ExtractOptions = {},
): ExtractedMedia {
  const maxLinks = options.maxLinks ?? 500;
  const maxInline = options.maxInline ?? 50;
  const maxInlineBytes = options.maxInlineBytes ?? 10 * 1024 * 1024;
  const maxHtmlChars = options.maxHtmlChars ?? 5_000_000;
  let truncated = html.length > maxHtmlChars;
  const document = parse(truncated ? html.slice(0, maxHtmlChars) : html, {
    scriptingEnabled: false,
  });

  const elements = [...walk(document)];
  const base = baseUrl(elements, pageUrl);
  const links = new Map<string, { via: MediaVia[]; hint: MediaHint }>();
  const inline: InlineMedia[] = [];
  const seenInline = new Set<string>();
  let skipped = 0;

  const add = (raw: string, via: MediaVia, hint: MediaHint, onlyIfMedia = false) => {
    const reference = raw.trim();
    if (reference === '') return;
    if (/^data:/i.test(reference)) return addInline(reference, via);
    let resolved: URL;
    try {
      resolved = new URL(reference, base);
    } catch {
      skipped += 1;
      return;
    }
    const byExtension = IMAGE_EXTENSIONS.test(resolved.pathname)
      ? 'image'
      : VIDEO_EXTENSIONS.test(resolved.pathname)
        ? 'video'
        : undefined;
    if (onlyIfMedia && byExtension === undefined) return; // an ordinary link
    const normalized = normalizeUrl(resolved.href);
    if (normalized.kind !== 'ok') {
      skipped += 1;
      return;
    }
    const known = links.get(normalized.url);
    if (known !== undefined) {
      if (!known.via.includes(via)) known.via.push(via);
      if (known.hint === 'unknown')
        known.hint = hint === 'unknown' ? (byExtension ?? 'unknown') : hint;
      return;
    }
    if (links.size >= maxLinks) {
      truncated = true;
      return;
    }
    links.set(normalized.url, {
      via: [via],
      hint: hint === 'unknown' ? (byExtension ?? 'unknown') : hint,
    });
  };

  const addInline = (reference: string, via: MediaVia) => {
    if (seenInline.has(reference)) return;
    seenInline.add(reference);
    const decoded = decodeDataUrl(reference, maxInlineBytes);
    if (decoded.kind === 'too-large') truncated = true;
    if (decoded.kind !== 'media') {
      if (decoded.kind !== 'too-large') skipped += 1;
      return;
    }
    if (inline.length >= maxInline) {
      truncated = true;
      return;
    }
    inline.push({ ...decoded.media, via });
  };

  for (const element of elements) {
    const attr = (name: string) =>
      element.attrs.find((a) => a.name === name && a.prefix === undefined)?.value;
    const tag = element.tagName;
    const parent = (element.parentNode as Element | null)?.tagName;
    if (tag === 'img') {
      const src = attr('src');
      if (src !== undefined) add(src, 'img[src]', 'image');
      for (const url of srcsetUrls(attr('srcset') ?? '')) add(url, 'img[srcset]', 'image');
      for (const name of LAZY_SRC) {
        const value = attr(name);
        if (value !== undefined) add(value, 'img[data-src]', 'image');
      }
      for (const name of LAZY_SRCSET)
        for (const url of srcsetUrls(attr(name) ?? '')) add(url, 'img[data-src]', 'image');
    } else if (tag === 'source') {
      const hint: MediaHint =
        parent === 'video' ? 'video' : parent === 'picture' ? 'image' : 'unknown';
      for (const url of srcsetUrls(attr('srcset') ?? '')) add(url, 'source[srcset]', 'image');
      const src = attr('src');
      if (src !== undefined && parent !== 'audio') add(src, 'source[src]', hint);
    } else if (tag === 'video') {
      const src = attr('src');
      if (src !== undefined) add(src, 'video[src]', 'video');
      const poster = attr('poster');
      if (poster !== undefined) add(poster, 'video[poster]', 'image');
    } else if (tag === 'meta') {
      const key = (attr('property') ?? attr('name') ?? '').trim().toLowerCase();
      const content = attr('content');
      if (META[key] !== undefined && content !== undefined) add(content, ...META[key]);
    } else if (tag === 'link') {
      const rel = (attr('rel') ?? '').toLowerCase().split(/\s+/);
      const href = attr('href');
      if (rel.includes('image_src') && href !== undefined) add(href, 'link[image_src]', 'image');
      if (rel.includes('preload') && attr('as')?.toLowerCase() === 'image') {
        if (href !== undefined) add(href, 'link[preload]', 'image');
        for (const url of srcsetUrls(attr('imagesrcset') ?? '')) add(url, 'link[preload]', 'image');
      }
    } else if (tag === 'image' && element.namespaceURI === 'http://www.w3.org/2000/svg') {
      // SVG 2 `href`, or SVG 1.1 `xlink:href`.
      const href = element.attrs.find((a) => a.name === 'href')?.value;
      if (href !== undefined) add(href, 'svg image[href]', 'image');
    } else if (tag === 'input' && attr('type')?.toLowerCase() === 'image') {
      const src = attr('src');
      if (src !== undefined) add(src, 'input[type=image]', 'image');
    } else if (tag === 'a' || tag === 'area') {
      const href = attr('href');
      if (href !== undefined) add(href, 'a[href]', 'unknown', true);
    } else if (tag === 'style') {
      for (const url of cssUrls(textOf(element))) add(url, '<style>', 'image');
    }
    const background = attr('background');
    if (background !== undefined) add(background, '[background]', 'image');
    const style = attr('style');
    if (style !== undefined) for (const url of cssUrls(style)) add(url, '[style]', 'image');
  }

  return {
    baseUrl: base,
    links: [...links].map(([url, { via, hint }]) => ({ url: url as NormalizedUrl, via, hint })),
    inline,
    truncated,
    skipped,
  };
}

/** Every element in document order, <template> contents included; iterative, so deep nesting cannot overflow the stack. */
function* walk(root: Node): Generator<Element> {
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    if ('tagName' in node) yield node;
    const children: Node[] = [
      ...('childNodes' in node ? node.childNodes : []),
      ...('content' in node && node.nodeName === 'template' ? node.content.childNodes : []),
    ];
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
}

/** The first <base href> that makes an http(s) URL, else the page's own URL. */
function baseUrl(elements: readonly Element[], pageUrl: string): string {
  const base = elements.find((e) => e.tagName === 'base' && e.attrs.some((a) => a.name === 'href'));
  const href = base?.attrs.find((a) => a.name === 'href')?.value;
  if (href === undefined) return pageUrl;
  try {
    const url = new URL(href.trim(), pageUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : pageUrl;
  } catch {
    return pageUrl;
  }
}

function textOf(element: Element): string {
  return element.childNodes
    .map((node) => ('value' in node && node.nodeName === '#text' ? node.value : ''))
    .join('');
}

/**
 * A page's bytes as text: the charset of the Content-Type, else a byte
 * order mark, else a <meta charset> in the first 1024 bytes, else UTF-8.
 */
export function decodeHtml(bytes: Uint8Array, contentType?: string): string {
  const fromHeader = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType ?? '')?.[1];
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
  const bom =
    bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
      ? 'utf-8'
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? 'utf-16be'
        : bytes[0] === 0xff && bytes[1] === 0xfe
          ? 'utf-16le'
          : undefined;
  const fromMeta = /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1];
  for (const label of [bom, fromHeader, fromMeta]) {
    if (label === undefined) continue;
    try {
      return new TextDecoder(label).decode(bytes);
    } catch {
      // An unknown label: try the next source.
    }
  }
  return new TextDecoder('utf-8').decode(bytes);
}
