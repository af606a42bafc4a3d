import { createHash } from 'node:crypto';
import type { FetchOk } from '../fetch/index.js';
import { decodeHtml, extractMedia } from '../fetch/index.js';
import type { InlineMedia } from '../fetch/index.js';
import type { NewItem } from './queries.js';

/**
 * What a successfully fetched reported URL becomes. Pure: the bytes decide
 * (never the Content-Type): a page yields its media items, media is the
 * item itself, anything else goes to an analyst as a URL to look at.
 */
export type FetchedPlan =
  | {
      readonly kind: 'page';
      /** Linked media, as items; inline media separately (their bytes must be stored first). */
      readonly links: readonly NewItem[];
      readonly inline: ReadonlyArray<{ readonly media: InlineMedia; readonly sha256: string }>;
      readonly found: number;
      readonly truncated: boolean;
    }
  | { readonly kind: 'media' }
  /** The URL itself needs a person: a page without media, or neither a page nor media. */
  | { readonly kind: 'review'; readonly reason: 'no-media' | 'not-page-or-media' }
  | { readonly kind: 'empty' };

export function planFetched(outcome: FetchOk): FetchedPlan {
  switch (outcome.sniffed.kind) {
    case 'image':
    case 'video':
      return { kind: 'media' };
    case 'empty':
      return { kind: 'empty' };
    case 'other':
      return { kind: 'review', reason: 'not-page-or-media' };
    case 'html':
      break;
  }
  const extracted = extractMedia(decodeHtml(outcome.bytes, outcome.contentType), outcome.finalUrl);
  const inline = extracted.inline.map((media) => ({
    media,
    sha256: createHash('sha256').update(media.bytes).digest('hex'),
  }));
  const found = extracted.links.length + inline.length;
  if (found === 0) return { kind: 'review', reason: 'no-media' };
  return {
    kind: 'page',
    links: extracted.links.map((link) => ({
      url: link.url,
      foundAs: 'page',
      via: link.via,
      hint: link.hint,
      mediaKey: null,
    })),
    inline,
    found,
    truncated: extracted.truncated,
  };
}

/** An inline item's URL: its declared type and the hash of its bytes (the data: URL may be megabytes). */
export function inlineItemUrl(media: InlineMedia, sha256: string): string {
  const type = /^[\w.+-]+\/[\w.+-]+$/.test(media.mediaType)
    ? media.mediaType
    : 'application/octet-stream';
  return `data:${type};sha256,${sha256}`;
}
