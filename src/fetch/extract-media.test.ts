import { describe, expect, it } from 'vitest';
import { cssUrls } from './css-urls.js';
import { decodeDataUrl } from './data-url.js';
import { decodeHtml, extractMedia } from './extract-media.js';
import { srcsetUrls } from './srcset.js';

const PAGE = 'https://site.example/gallery/page.html?x=1';
const urls = (html: string, page = PAGE) => extractMedia(html, page).links.map((l) => l.url);

describe('extractMedia', () => {
  it('finds every kind of media reference, resolved and with how it was found', () => {
    const html = `<!doctype html><html><head>
      <meta property="og:image" content="/og.jpg">
      <meta name="twitter:image" content="https://cdn.example/tw.png">
      <meta property="og:video" content="/clip.mp4">
      <link rel="image_src" href="linked.jpg">
      <link rel="preload" as="image" href="/hero.avif">
      <style>.hero { background: url("/css/bg.jpg") } /* url(commented.jpg) */
        @import url("theme.css");
        .x { background-image: image-set("set-1x.png" 1x, url(set-2x.png) 2x) }</style>
    </head><body background="old-school.gif">
      <img src="a.jpg" srcset="a-2x.jpg 2x, /abs/a-3x.jpg 3x">
      <img data-src="lazy.jpg" src="placeholder.gif">
      <picture><source srcset="p.webp 1x, p-2x.webp 2x" type="image/webp"><img src="p.jpg"></picture>
      <video poster="poster.jpg" src="movie.webm"><source src="movie.mp4" type="video/mp4"></video>
      <audio><source src="song.mp3"></audio>
      <div style="background-image: url('div-bg.png')"></div>
      <a href="full/size.JPEG?dl=1">full size</a>
      <a href="/next-page.html">next</a>
      <a href="download.mov">video</a>
      <svg><image href="svg-image.png"/></svg>
      <noscript><img src="noscript.jpg"></noscript>
    </body></html>`;
    const { links, baseUrl } = extractMedia(html, PAGE);
    expect(baseUrl).toBe(PAGE);
    const found = Object.fromEntries(links.map((l) => [l.url, `${l.via.join(' + ')} (${l.hint})`]));
    expect(found).toEqual({
      'https://site.example/og.jpg': 'meta[og:image] (image)',
      'https://cdn.example/tw.png': 'meta[twitter:image] (image)',
      'https://site.example/clip.mp4': 'meta[og:video] (video)',
      'https://site.example/gallery/linked.jpg': 'link[image_src] (image)',
      'https://site.example/hero.avif': 'link[preload] (image)',
      'https://site.example/css/bg.jpg': '<style> (image)',
      'https://site.example/gallery/set-2x.png': '<style> (image)',
      'https://site.example/gallery/set-1x.png': '<style> (image)',
      'https://site.example/gallery/old-school.gif': '[background] (image)',
      'https://site.example/gallery/a.jpg': 'img[src] (image)',
      'https://site.example/gallery/a-2x.jpg': 'img[srcset] (image)',
      'https://site.example/abs/a-3x.jpg': 'img[srcset] (image)',
      'https://site.example/gallery/placeholder.gif': 'img[src] (image)',
      'https://site.example/gallery/lazy.jpg': 'img[data-src] (image)',
      'https://site.example/gallery/p.webp': 'source[srcset] (image)',
      'https://site.example/gallery/p-2x.webp': 'source[srcset] (image)',
      'https://site.example/gallery/p.jpg': 'img[src] (image)',
      'https://site.example/gallery/movie.webm': 'video[src] (video)',
      'https://site.example/gallery/poster.jpg': 'video[poster] (image)',
      'https://site.example/gallery/movie.mp4': 'source[src] (video)',
      'https://site.example/gallery/div-bg.png': '[style] (image)',
      'https://site.example/gallery/full/size.JPEG?dl=1': 'a[href] (image)',
      'https://site.example/gallery/download.mov': 'a[href] (video)',
      'https://site.example/gallery/svg-image.png': 'svg image[href] (image)',
      'https://site.example/gallery/noscript.jpg': 'img[src] (image)',
    });
  });

  it('respects <base href>, wherever it is', () => {
    expect(urls('<img src="a.jpg"><base href="https://img.example/photos/">')).toEqual([
      'https://img.example/photos/a.jpg',
    ]);
    expect(urls('<base href="../up/"><img src="a.jpg">')).toEqual([
      'https://site.example/up/a.jpg',
    ]);
    // A base that is not http(s) is ignored.
    expect(urls('<base href="javascript:alert(1)//"><img src="a.jpg">')).toEqual([
      'https://site.example/gallery/a.jpg',
    ]);
  });

  it('removes duplicates (after normalization), keeping every way each was found', () => {
    const { links } = extractMedia(
      `<meta property="og:image" content="https://SITE.example:443/gallery/a.jpg#x">
       <img src="a.jpg"><img src="./a.jpg"><a href="a.jpg">a</a>`,
      PAGE,
    );
    expect(links).toEqual([
      {
        url: 'https://site.example/gallery/a.jpg',
        via: ['meta[og:image]', 'img[src]', 'a[href]'],
        hint: 'image',
      },
    ]);
  });

  it('skips what cannot be fetched and counts it', () => {
    const result = extractMedia(
      `<img src="javascript:alert(1)"><img src="blob:https://site.example/uuid"><img src="http://[bad">
       <img src=""><img src="  "><img src="mailto:x@y.example"><img src="data:text/html,<b>x</b>">`,
      PAGE,
    );
    expect(result.links).toEqual([]);
    expect(result.skipped).toBe(5);
  });

  it('decodes inline data: images instead of fetching them', () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const result = extractMedia(
      `<img src="data:image/png;base64,${png.toString('base64')}">
       <img src="data:image/png;base64,${png.toString('base64')}">
       <div style="background:url('data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E')"></div>`,
      PAGE,
    );
    expect(result.inline).toHaveLength(2);
    expect(result.inline[0]).toMatchObject({ mediaType: 'image/png', via: 'img[src]' });
    expect(Buffer.from(result.inline[0].bytes).equals(png)).toBe(true);
    expect(Buffer.from(result.inline[1].bytes).toString()).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg"/>',
    );
  });

  it('caps the number of links, inline media and the markup read', () => {
    const many = Array.from({ length: 30 }, (_, i) => `<img src="/i${i}.jpg">`).join('');
    const capped = extractMedia(many, PAGE, { maxLinks: 10 });
    expect(capped.links).toHaveLength(10);
    expect(capped.truncated).toBe(true);
    expect(extractMedia(many, PAGE).truncated).toBe(false);
    const inline = Array.from(
      { length: 5 },
      (_, i) => `<img src="data:image/gif;base64,R0lGOD${'lh'.repeat(i + 1)}">`,
    ).join('');
    expect(extractMedia(inline, PAGE, { maxInline: 2 })).toMatchObject({ truncated: true });
    expect(extractMedia(inline, PAGE, { maxInline: 2 }).inline).toHaveLength(2);
    const long = `<img src="/first.jpg">${'x'.repeat(1000)}<img src="/late.jpg">`;
    const short = extractMedia(long, PAGE, { maxHtmlChars: 500 });
    expect(short.links.map((l) => l.url)).toEqual(['https://site.example/first.jpg']);
    expect(short.truncated).toBe(true);
  });

  it('survives hostile markup: deep nesting, unclosed tags, junk', () => {
    const deep = `${'<div>'.repeat(20_000)}<img src="/deep.jpg">`;
    expect(urls(deep)).toEqual(['https://site.example/deep.jpg']);
    // As a browser reads it: one img (the rest are its attributes), then a <p> with a src attribute.
    expect(urls('<img src=/a.jpg <img src="/b.jpg" <<<>>> <p <img src=/c.jpg>')).toEqual([
      'https://site.example/a.jpg',
    ]);
    expect(urls('\u0000\uffff<img src="/ok.jpg">')).toEqual(['https://site.example/ok.jpg']);
  });
});

describe('srcsetUrls', () => {
  it.each([
    ['a.jpg', ['a.jpg']],
    ['a.jpg 1x, b.jpg 2x', ['a.jpg', 'b.jpg']],
    ['a.jpg 100w,b.jpg 200w', ['a.jpg', 'b.jpg']],
    // A URL is a run of non-whitespace: browsers read one URL here.
    ['a.jpg,b.jpg 2x', ['a.jpg,b.jpg']],
    ['a.jpg,, b.jpg', ['a.jpg', 'b.jpg']],
    ['img.php?crop=1,2 1x, other.jpg 2x', ['img.php?crop=1,2', 'other.jpg']],
    ['  , a.jpg  1x ,, b.jpg ', ['a.jpg', 'b.jpg']],
    ['a.jpg (weird, descriptor) 1x, b.jpg', ['a.jpg', 'b.jpg']],
    ['', []],
  ])('%j', (srcset, expected) => {
    expect(srcsetUrls(srcset)).toEqual(expected);
  });
});

describe('cssUrls', () => {
  it('reads url() in every quoting, with escapes, and skips comments and @import', () => {
    expect(
      cssUrls(`a{background:url(plain.jpg)} b{background:url( "double.png" )} c{background:URL('single.gif')}
               /* url(comment.jpg) */ @import url(style.css); @import "other.css";
               d{background:url(esc\\(aped\\).jpg)} e{content:url("\\26 amp.png")}`),
    ).toEqual(['plain.jpg', 'double.png', 'single.gif', 'esc(aped).jpg', '&amp.png']);
  });

  it('reads image-set strings', () => {
    expect(cssUrls('x{background:-webkit-image-set("a.png" 1x, "b.png" 2x)}')).toEqual([
      'a.png',
      'b.png',
    ]);
  });
});

describe('decodeDataUrl', () => {
  it('decodes base64 and percent-encoded media, and refuses the rest', () => {
    expect(decodeDataUrl('data:image/gif;base64,R0lGODlh', 100)).toMatchObject({
      kind: 'media',
      media: { mediaType: 'image/gif' },
    });
    const percent = decodeDataUrl('data:image/x-test,%FF%00ab', 100);
    expect(percent.kind === 'media' && Array.from(percent.media.bytes)).toEqual([
      0xff, 0, 0x61, 0x62,
    ]);
    expect(decodeDataUrl('data:text/plain,hello', 100)).toEqual({
      kind: 'not-media',
      mediaType: 'text/plain',
    });
    expect(decodeDataUrl('data:,hello', 100)).toEqual({
      kind: 'not-media',
      mediaType: 'text/plain',
    });
    expect(decodeDataUrl(`data:image/png;base64,${'A'.repeat(1000)}`, 100)).toEqual({
      kind: 'too-large',
    });
    expect(decodeDataUrl('data:image/png;base64', 100)).toEqual({ kind: 'malformed' });
  });
});

describe('decodeHtml', () => {
  it('uses the header charset, then a BOM or <meta charset>, then UTF-8', () => {
    const cyrillic = Buffer.from([0x3c, 0x70, 0x3e, 0xcf, 0xf0, 0xe8]); // "<p>При" in windows-1251
    expect(decodeHtml(cyrillic, 'text/html; charset=windows-1251')).toBe('<p>При');
    const meta = Buffer.concat([Buffer.from('<meta charset="windows-1251">'), cyrillic]);
    expect(decodeHtml(meta)).toBe('<meta charset="windows-1251"><p>При');
    expect(decodeHtml(Buffer.from('\ufeff<p>ü', 'utf8'))).toBe('<p>ü');
    expect(decodeHtml(Buffer.from('<p>ü'), 'text/html; charset=bogus-charset')).toBe('<p>ü');
  });
});
