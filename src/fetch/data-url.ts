/**
 * `data:` URLs that carry an image or a video inline. A page can hold its
 * material this way (a gallery of base64 thumbnails, one large embedded
 * image); skipping them would miss it silently, and they cost no request,
 * so they are decoded here and hashed like fetched media.
 */
export interface DataUrlMedia {
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

export type DataUrlResult =
  | { readonly kind: 'media'; readonly media: DataUrlMedia }
  | { readonly kind: 'not-media'; readonly mediaType: string }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'malformed' };

export function decodeDataUrl(url: string, maxBytes: number): DataUrlResult {
  const comma = url.indexOf(',');
  if (!/^data:/i.test(url) || comma < 0) return { kind: 'malformed' };
  const meta = url.slice(5, comma).trim();
  const base64 = /;\s*base64$/i.test(meta);
  const mediaType = (meta.split(';')[0].trim() || 'text/plain').toLowerCase();
  if (!mediaType.startsWith('image/') && !mediaType.startsWith('video/'))
    return { kind: 'not-media', mediaType };
  const data = url.slice(comma + 1);
  // Cheap upper bound before decoding anything.
  if ((base64 ? (data.length * 3) / 4 : data.length) > maxBytes * 1.01 + 4)
    return { kind: 'too-large' };
  const decoded = percentDecode(data);
  const bytes = base64
    ? Buffer.from(decoded.toString('latin1').replace(/\s/g, ''), 'base64')
    : decoded;
  if (bytes.length === 0) return { kind: 'malformed' };
  if (bytes.length > maxBytes) return { kind: 'too-large' };
  return {
    kind: 'media',
    media: { mediaType, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) },
  };
}

/** "%FF" is the byte 0xFF; any other character stands for its UTF-8 bytes. */
function percentDecode(text: string): Buffer {
  if (!text.includes('%')) return Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = text.codePointAt(i) as number;
      if (code > 0xffff) i++;
      out.push(...Buffer.from(String.fromCodePoint(code), 'utf8'));
    }
  }
  return Buffer.from(out);
}
