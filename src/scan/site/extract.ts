import { parse } from 'parse5';
import type { DefaultTreeAdapterTypes } from 'parse5';

/**
 * What a page links to and which images it shows: `img` (src and the
 * largest `srcset` candidate), `picture > source`, `video poster`,
 * `og:image` / `twitter:image`, `link rel=image_src`, CSS `url()` in
 * `style` attributes and elements, and links (`a`, `area`) to files with
 * an image extension. Pages are `a`/`area` hrefs and frames. Pure.
 *
 * Of a `srcset` only the largest candidate is taken: the others are
 * smaller renditions of the same picture, which PDQ matches anyway, and
 * each costs a request at the polite rate.
 */

type Node = DefaultTreeAdapterTypes.Node;
type Element = DefaultTreeAdapterTypes.Element;

export interface PageLinks {
  /** Absolute URLs of further pages (fragment removed). */
  readonly pages: string[];
  /** Absolute URLs of images. */
  readonly images: string[];
}

const IMAGE_EXTENSION = /\.(jpe?g|png|gif|webp|avif|heic|heif|tiff?|bmp)$/i;
const IMAGE_META = new Set([
  'og:image',
  'og:image:url',
  'og:image:secure_url',
  'twitter:image',
  'twitter:image:src',
]);

export function extractLinks(html: string, pageUrl: string): PageLinks {
  const document = parse(html);
  let base = pageUrl;
  const pages = new Set<string>();
  const images = new Set<string>();
  const resolve = (ref: string | undefined): string | undefined => {
    if (ref === undefined) return undefined;
    const trimmed = ref.trim();
    if (trimmed === '' || /^(data|javascript|mailto|tel|blob):/i.test(trimmed)) return undefined;
    try {
      const url = new URL(trimmed, base);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
      url.hash = '';
      return url.href;
    } catch {
      return undefined;
    }
  };
  const image = (ref: string | undefined) => {
    const url = resolve(ref);
    if (url) images.add(url);
  };

  const visit = (node: Node): void => {
    if ('tagName' in node) {
      const el = node as Element;
      const attr = (name: string) => el.attrs.find((a) => a.name === name)?.value;
      switch (el.tagName) {
        case 'base':
          // Only the first <base href> counts, as browsers do.
          if (base === pageUrl && attr('href')) base = resolve(attr('href')) ?? base;
          break;
        case 'img':
          image(attr('src'));
          image(largestCandidate(attr('srcset')));
          break;
        case 'source':
          image(largestCandidate(attr('srcset')));
          if (attr('type')?.startsWith('image/')) image(attr('src'));
          break;
        case 'video':
          image(attr('poster'));
          break;
        case 'input':
          if (attr('type')?.toLowerCase() === 'image') image(attr('src'));
          break;
        case 'meta': {
          const key = (attr('property') ?? attr('name') ?? '').toLowerCase();
          if (IMAGE_META.has(key)) image(attr('content'));
          break;
        }
        case 'link':
          if ((attr('rel') ?? '').toLowerCase().split(/\s+/).includes('image_src')) {
            image(attr('href'));
          }
          break;
        case 'a':
        case 'area': {
          const url = resolve(attr('href'));
          if (url) (IMAGE_EXTENSION.test(new URL(url).pathname) ? images : pages).add(url);
          break;
        }
        case 'iframe':
        case 'frame': {
          const url = resolve(attr('src'));
          if (url) pages.add(url);
          break;
        }
        case 'style':
          for (const ref of cssUrls(textOf(el))) image(ref);
          break;
      }
      const style = attr('style');
      if (style) for (const ref of cssUrls(style)) image(ref);
    }
    if ('childNodes' in node) for (const child of node.childNodes) visit(child);
    if ('content' in node && node.nodeName === 'template') {
      visit((node as DefaultTreeAdapterTypes.Template).content);
    }
  };
  visit(document);
  return { pages: [...pages], images: [...images] };
}

function textOf(el: Element): string {
  return el.childNodes.map((n) => ('value' in n ? String(n.value) : '')).join('');
}

/** `url(...)` references in CSS text, quoted or not. */
export function cssUrls(css: string): string[] {
  const out: string[] = [];
  for (const match of css.matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)/gi)) {
    const ref = match[1] ?? match[2] ?? match[3];
    if (ref) out.push(ref);
  }
  return out;
}

/**
 * The largest candidate of a srcset (by its width or density descriptor;
 * the first when none has one). Candidates are "url [descriptor]"
 * separated by commas.
 */
export function largestCandidate(srcset: string | undefined): string | undefined {
  if (!srcset) return undefined;
  let best: { url: string; size: number } | undefined;
  for (const match of srcset.matchAll(/\s*([^\s,][^\s]*?)(?:\s+([\d.]+)([wx]))?\s*(?:,|$)/g)) {
    const url = match[1];
    if (!url) continue;
    // A srcset uses widths or densities, not both; either way larger is larger.
    const size = match[2] ? Number(match[2]) : 0;
    if (best === undefined || size > best.size) best = { url, size };
  }
  return best?.url;
}
