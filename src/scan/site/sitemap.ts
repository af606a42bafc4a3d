/**
 * sitemap.xml (sitemaps.org): a `<urlset>` of pages, or a `<sitemapindex>`
 * of further sitemaps; image sitemaps' `<image:loc>` are images. Read with
 * patterns rather than an XML parser: the format is flat, and a damaged
 * file should still give what it can. Pure.
 */

export interface Sitemap {
  readonly pages: readonly string[];
  readonly sitemaps: readonly string[];
  readonly images: readonly string[];
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function unescapeXml(text: string): string {
  return text
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name.startsWith('#x') || name.startsWith('#X'))
        return String.fromCodePoint(parseInt(name.slice(2), 16));
      if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
      return ENTITIES[name.toLowerCase()] ?? whole;
    })
    .trim();
}

function locs(xml: string, element: RegExp): string[] {
  const out: string[] = [];
  for (const match of xml.matchAll(element)) {
    const value = unescapeXml(match[1]);
    if (value) out.push(value);
  }
  return out;
}

export function parseSitemap(xml: string): Sitemap {
  const isIndex = /<(?:[a-z]+:)?sitemapindex[\s>]/i.test(xml);
  // <loc> directly inside <url> or <sitemap>; <image:loc> is an image.
  const plain = locs(xml, /<loc>([\s\S]*?)<\/loc>/gi);
  const images = locs(xml, /<image:loc>([\s\S]*?)<\/image:loc>/gi);
  return isIndex
    ? { pages: [], sitemaps: plain, images: [] }
    : { pages: plain, sitemaps: [], images };
}
