/**
 * What a response body is, by its first bytes: a server's Content-Type is a
 * claim (image hosts serve pictures as text/html, or pages as image/jpeg),
 * the bytes are the fact. Pure. The header only tips the balance for text
 * that follows no HTML pattern, e.g. a page that starts with <meta>.
 */

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'heic' | 'tiff' | 'bmp';
export type VideoFormat =
  | 'mp4'
  | 'quicktime'
  | '3gp'
  | 'webm'
  | 'matroska'
  | 'avi'
  | 'flv'
  | 'mpeg-ts'
  | 'mpeg'
  | 'ogg'
  | 'asf';

export type Sniffed =
  | { readonly kind: 'html' }
  | { readonly kind: 'image'; readonly format: ImageFormat }
  | { readonly kind: 'video'; readonly format: VideoFormat }
  | { readonly kind: 'empty' }
  | { readonly kind: 'other' };

/** Bytes needed to decide; fewer (a short body) still give an answer. */
export const SNIFF_BYTES = 512;

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

function at(head: Uint8Array, offset: number, bytes: readonly number[]): boolean {
  if (head.length < offset + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[offset + i] !== bytes[i]) return false;
  return true;
}

const text = (head: Uint8Array, from: number, to: number) =>
  String.fromCharCode(...head.subarray(from, Math.min(to, head.length)));

export function sniff(head: Uint8Array, contentType?: string): Sniffed {
  if (head.length === 0) return { kind: 'empty' };
  const binary = sniffBinary(head);
  if (binary !== undefined) return binary;
  if (looksLikeHtml(head)) return { kind: 'html' };
  const declared = contentType?.split(';')[0].trim().toLowerCase();
  if ((declared === 'text/html' || declared === 'application/xhtml+xml') && isText(head))
    return { kind: 'html' };
  return { kind: 'other' };
}

function sniffBinary(head: Uint8Array): Sniffed | undefined {
  const image = (format: ImageFormat): Sniffed => ({ kind: 'image', format });
  const video = (format: VideoFormat): Sniffed => ({ kind: 'video', format });
  if (at(head, 0, [0xff, 0xd8, 0xff])) return image('jpeg');
  if (at(head, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return image('png');
  if (at(head, 0, ascii('GIF87a')) || at(head, 0, ascii('GIF89a'))) return image('gif');
  if (at(head, 0, ascii('RIFF'))) {
    if (at(head, 8, ascii('WEBP'))) return image('webp');
    if (at(head, 8, ascii('AVI '))) return video('avi');
  }
  if (at(head, 0, [0x49, 0x49, 0x2a, 0x00]) || at(head, 0, [0x4d, 0x4d, 0x00, 0x2a]))
    return image('tiff');
  // "BM" alone is too weak (text starts with it): the DIB header size must be a known one.
  if (at(head, 0, ascii('BM')) && head.length >= 18) {
    const dib = head[14] | (head[15] << 8) | (head[16] << 16) | (head[17] << 24);
    if ([12, 40, 52, 56, 64, 108, 124].includes(dib)) return image('bmp');
  }
  if (at(head, 4, ascii('ftyp'))) return isoMedia(head);
  if (at(head, 0, [0x1a, 0x45, 0xdf, 0xa3]))
    return video(text(head, 0, 64).includes('webm') ? 'webm' : 'matroska');
  if (at(head, 0, ascii('FLV')) && head[3] === 1) return video('flv');
  if (at(head, 0, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])) return video('asf');
  if (at(head, 0, [0x00, 0x00, 0x01, 0xba]) || at(head, 0, [0x00, 0x00, 0x01, 0xb3]))
    return video('mpeg');
  // MPEG transport stream: a sync byte every 188 bytes.
  if (head[0] === 0x47 && head.length >= 377 && head[188] === 0x47 && head[376] === 0x47)
    return video('mpeg-ts');
  // Ogg holds audio as often as video: only Theora counts as video.
  if (at(head, 0, ascii('OggS')))
    return text(head, 0, SNIFF_BYTES).includes('theora') ? video('ogg') : { kind: 'other' };
  return undefined;
}

/** ISO base media (MP4, MOV, 3GP, HEIF, AVIF): the brands in the ftyp box say which. */
function isoMedia(head: Uint8Array): Sniffed {
  const size = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  const major = text(head, 8, 12);
  const brands = [major];
  for (let offset = 16; offset + 4 <= Math.min(size, head.length, 256); offset += 4)
    brands.push(text(head, offset, offset + 4));
  if (major === 'avif' || major === 'avis') return { kind: 'image', format: 'avif' };
  if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis'].includes(major))
    return { kind: 'image', format: 'heic' };
  if (major === 'mif1' || major === 'msf1')
    return { kind: 'image', format: brands.includes('avif') ? 'avif' : 'heic' };
  if (major === 'qt  ') return { kind: 'video', format: 'quicktime' };
  if (major.startsWith('3g')) return { kind: 'video', format: '3gp' };
  if (['M4A ', 'M4B ', 'M4P '].includes(major)) return { kind: 'other' }; // audio
  return { kind: 'video', format: 'mp4' };
}

/**
 * The HTML patterns of the WHATWG MIME Sniffing standard: after optional
 * whitespace (and a UTF-8 byte order mark), one of these tags,
 * case-insensitively, followed by a space or ">".
 */
const HTML_TAGS = [
  '<!DOCTYPE HTML',
  '<HTML',
  '<HEAD',
  '<SCRIPT',
  '<IFRAME',
  '<H1',
  '<DIV',
  '<FONT',
  '<TABLE',
  '<A',
  '<STYLE',
  '<TITLE',
  '<B',
  '<BODY',
  '<BR',
  '<P',
  '<!--',
];

function looksLikeHtml(head: Uint8Array): boolean {
  let i = at(head, 0, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < head.length && [0x09, 0x0a, 0x0c, 0x0d, 0x20].includes(head[i])) i++;
  const start = text(head, i, i + 16).toUpperCase();
  return HTML_TAGS.some((tag) => {
    if (!start.startsWith(tag)) return false;
    if (tag === '<!--') return true;
    const next = start.charCodeAt(tag.length);
    return next === 0x20 || next === 0x3e;
  });
}

/** No control bytes other than whitespace: text in some ASCII-compatible encoding. */
function isText(head: Uint8Array): boolean {
  for (const byte of head.subarray(0, SNIFF_BYTES))
    if (byte < 0x20 && ![0x09, 0x0a, 0x0c, 0x0d, 0x1b].includes(byte)) return false;
  return true;
}

/** For messages: "jpeg image", "an HTML page"… */
export function describeSniffed(sniffed: Sniffed): string {
  if (sniffed.kind === 'image' || sniffed.kind === 'video')
    return `${sniffed.format} ${sniffed.kind}`;
  if (sniffed.kind === 'html') return 'an HTML page';
  if (sniffed.kind === 'empty') return 'an empty body';
  return 'content that is neither a page nor media';
}
