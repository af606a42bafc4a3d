import { fileTypeFromBuffer } from 'file-type';

/** Image containers we decode to pixels (sharp, plus heic-decode for HEVC). */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heic';

/** What the first bytes of a file say it is: its name and extension are not trusted. */
export type ContentType =
  | { readonly kind: 'image'; readonly format: ImageFormat; readonly mime: string }
  | { readonly kind: 'unsupported-image'; readonly mime: string }
  | { readonly kind: 'other'; readonly mime: string | undefined };

/** How much of a file to read before deciding what it is. */
export const SNIFF_BYTES = 64 * 1024;

const BY_EXTENSION: Readonly<Record<string, ImageFormat>> = {
  jpg: 'jpeg',
  png: 'png',
  apng: 'png', // the decoder takes the default (first) frame
  webp: 'webp',
  gif: 'gif',
  tif: 'tiff',
  avif: 'avif',
  heic: 'heic', // file-type's name for every HEIF brand, sequences included
};

/**
 * Recognises images by content. file-type knows hundreds of formats, so it
 * can also tell "an image we cannot decode" (BMP, PSD, camera raw…) from
 * "not an image"; when it gives up (a TIFF whose directory lies beyond the
 * sniffed bytes, a PNG with a damaged first chunk) the magic numbers of the
 * formats we decode still route the file to the decoder, which then says
 * precisely what is wrong.
 */
export async function sniffContent(head: Uint8Array): Promise<ContentType> {
  // Whatever follows the signature, a PNG goes to the decoder. file-type
  // spends 0.1 ms on one (three times its time on a JPEG) only to add
  // whether it is animated, which the decoder does not care about.
  if (startsWith(head, PNG_SIGNATURE)) return { kind: 'image', format: 'png', mime: 'image/png' };
  let detected: { ext: string; mime: string } | undefined;
  try {
    detected = await fileTypeFromBuffer(head);
  } catch {
    detected = undefined; // a parser choking on garbage: fall back to magic numbers
  }
  if (detected !== undefined) {
    const format = BY_EXTENSION[detected.ext];
    if (format !== undefined) return { kind: 'image', format, mime: detected.mime };
    if (detected.mime.startsWith('image/') && plausible(detected.ext, head)) {
      return { kind: 'unsupported-image', mime: detected.mime };
    }
  }
  const magic = magicImageFormat(head);
  if (magic !== undefined) return { kind: 'image', format: magic, mime: `image/${magic}` };
  return { kind: 'other', mime: detected?.mime };
}

/**
 * file-type names BMP from two bytes ("BM") and ICO from four; a text file
 * that starts with "BM" must not become an image we fail to decode. These
 * check the header that follows.
 */
function plausible(ext: string, head: Uint8Array): boolean {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (ext === 'bmp') {
    // The DIB header's size is one of the few defined ones.
    return head.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(view.getUint32(14, true));
  }
  if (ext === 'ico' || ext === 'cur') {
    // At least one directory entry, whose reserved byte is 0.
    return head.length >= 22 && view.getUint16(4, true) > 0 && head[9] === 0;
  }
  return true;
}

function startsWith(head: Uint8Array, bytes: readonly number[], at = 0): boolean {
  if (head.length < at + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[at + i] !== bytes[i]) return false;
  return true;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

function magicImageFormat(head: Uint8Array): ImageFormat | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, PNG_SIGNATURE)) return 'png';
  if (startsWith(head, ascii('GIF8'))) return 'gif';
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) {
    return 'tiff';
  }
  if (startsWith(head, ascii('ftyp'), 4)) {
    const brand = String.fromCharCode(...head.subarray(8, 12));
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand)) return 'heic';
  }
  return undefined;
}
