import { execFileSync } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import type { RawImage } from './synthetic.js';
import { syntheticImage } from './synthetic.js';

/**
 * Image files in every format `takedown hash` reads, all written from one
 * synthetic image (by sharp, and by Debian's heif-enc for HEIC), so each
 * file's PDQ can be compared with the PDQ of the pixels it was made from.
 */

export interface ImageSet {
  /** The synthetic RGB pixels most files encode. */
  readonly base: RawImage;
  /** The 0/255 grey pixels the 1-bit PNG encodes. */
  readonly bilevel: RawImage;
  readonly files: Readonly<Record<ImageFixture, string>>;
}

export type ImageFixture =
  | 'jpeg'
  | 'png'
  | 'webp'
  | 'webp-lossless'
  | 'gif'
  | 'gif-animated'
  | 'tiff'
  | 'avif'
  | 'heic'
  | 'png-palette'
  | 'png-1bit'
  | 'png-16bit'
  | 'png-alpha'
  | 'jpeg-cmyk'
  | 'jpeg-orientation-6';

export const HEIF_ENC = 'heif-enc';

export function hasHeifEnc(): boolean {
  try {
    execFileSync(HEIF_ENC, ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function raw(image: RawImage): Sharp {
  return sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
}

/**
 * Writes the set into `dir`; files get neutral names (`image-01` …) without
 * extensions where `withExtensions` is false, to prove content sniffing.
 */
export async function writeImageSet(
  dir: string,
  options: { width?: number; height?: number; seed?: number; withExtensions?: boolean } = {},
): Promise<ImageSet> {
  const width = options.width ?? 400;
  const height = options.height ?? 300;
  const base = syntheticImage(width, height, options.seed ?? 7);
  const bilevel = bilevelOf(base);
  const alpha = withAlpha(base);
  const second = syntheticImage(width, height, (options.seed ?? 7) + 1);
  const encoded: Record<Exclude<ImageFixture, 'heic'>, Buffer> = {
    jpeg: await raw(base).jpeg({ quality: 92 }).toBuffer(),
    png: await raw(base).png().toBuffer(),
    webp: await raw(base).webp({ quality: 92 }).toBuffer(),
    'webp-lossless': await raw(base).webp({ lossless: true }).toBuffer(),
    gif: await raw(base).gif().toBuffer(),
    'gif-animated': await sharp(
      [await raw(base).png().toBuffer(), await raw(second).png().toBuffer()],
      { join: { animated: true } },
    )
      .gif()
      .toBuffer(),
    tiff: await raw(base).tiff({ compression: 'lzw' }).toBuffer(),
    avif: await raw(base).avif({ quality: 80 }).toBuffer(),
    'png-palette': await raw(base).png({ palette: true, colours: 256, dither: 0 }).toBuffer(),
    'png-1bit': oneBitGreyPng(bilevel),
    'png-16bit': await sharp(to16bit(base), { raw: { width, height, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer(),
    'png-alpha': await raw(alpha).png().toBuffer(),
    // Through a CMYK TIFF so that libvips keeps the ink values instead of
    // converting them with its ICC profile.
    'jpeg-cmyk': await sharp(cmykTiff(base))
      .pipelineColourspace('cmyk')
      .toColourspace('cmyk')
      .jpeg({ quality: 95 })
      .toBuffer(),
    'jpeg-orientation-6': await raw(base)
      .jpeg({ quality: 92 })
      .withMetadata({ orientation: 6 })
      .toBuffer(),
  };
  const files = {} as Record<ImageFixture, string>;
  const names = [...Object.keys(encoded), 'heic'] as ImageFixture[];
  const fileName = (name: ImageFixture, i: number) =>
    options.withExtensions === false
      ? `image-${String(i + 1).padStart(2, '0')}`
      : `${name}.${name.split('-')[0].replace('jpeg', 'jpg')}`;
  for (const [i, name] of names.entries()) {
    files[name] = path.join(dir, fileName(name, i));
    if (name !== 'heic') await writeFile(files[name], encoded[name]);
  }
  if (hasHeifEnc()) {
    // heif-enc picks the codec from the output name, so encode to *.heic first.
    const source = path.join(dir, '.heic-source.png');
    const target = path.join(dir, '.heic-out.heic');
    await writeFile(source, encoded.png);
    execFileSync(HEIF_ENC, ['-q', '90', '-o', target, source], { stdio: 'ignore' });
    await rename(target, files.heic);
    await rm(source);
  }
  return { base, bilevel, files };
}

/** Thresholded to pure black and white, as grey pixels. */
function bilevelOf(image: RawImage): RawImage {
  const n = image.width * image.height;
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = i * image.channels;
    data[i] = image.data[p] + image.data[p + 1] + image.data[p + 2] >= 384 ? 255 : 0;
  }
  return { width: image.width, height: image.height, channels: 1, data };
}

/** The same RGB with an alpha ramp, fully transparent at the left edge. */
function withAlpha(image: RawImage): RawImage {
  const n = image.width * image.height;
  const data = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) data[i * 4 + k] = image.data[i * image.channels + k];
    data[i * 4 + 3] = Math.round(((i % image.width) / (image.width - 1)) * 255);
  }
  return { width: image.width, height: image.height, channels: 4, data };
}

/**
 * 16-bit samples whose high byte is the 8-bit value and whose low byte is
 * noise (sharp takes the sample depth from the typed array).
 */
function to16bit(image: RawImage): Uint16Array {
  const out = new Uint16Array(image.width * image.height * 3);
  for (let i = 0, o = 0; i < image.data.length; i += image.channels) {
    for (let k = 0; k < 3; k++, o++) out[o] = image.data[i + k] * 256 + ((i * 31 + k * 97) & 0xff);
  }
  return out;
}

/**
 * An uncompressed CMYK TIFF with the plain conversion K = 255 - max(R,G,B),
 * C = (255 - R - K) / (255 - K), which R = (255 - C)(255 - K) / 255 undoes.
 */
function cmykTiff(image: RawImage): Buffer {
  const { width, height } = image;
  const pixels = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const rgb = [0, 1, 2].map((k) => image.data[i * image.channels + k]);
    const k = 255 - Math.max(...rgb);
    for (let c = 0; c < 3; c++) {
      pixels[i * 4 + c] = k === 255 ? 0 : Math.round(((255 - rgb[c] - k) * 255) / (255 - k));
    }
    pixels[i * 4 + 3] = k;
  }
  // tag, type (3 SHORT, 4 LONG), value; BitsPerSample points at 4 shorts.
  const entries: Array<[number, number, number, number]> = [
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 4, 0], // offset filled in below
    [259, 3, 1, 1], // no compression
    [262, 3, 1, 5], // separated (CMYK)
    [273, 4, 1, 0], // strip offset, below
    [277, 3, 1, 4],
    [278, 4, 1, height],
    [279, 4, 1, pixels.length],
    [284, 3, 1, 1],
    [332, 3, 1, 1], // ink set: CMYK
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const bitsAt = 8 + ifdSize;
  const dataAt = bitsAt + 8;
  entries[2][3] = bitsAt;
  entries[5][3] = dataAt;
  const head = Buffer.alloc(dataAt);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(count, at + 4);
    if (type === 3 && count === 1) head.writeUInt16LE(value, at + 8);
    else head.writeUInt32LE(value, at + 8);
  });
  for (let i = 0; i < 4; i++) head.writeUInt16LE(8, bitsAt + i * 2);
  return Buffer.concat([head, pixels]);
}

/** A greyscale PNG with bit depth 1 (colour type 0), written by hand: sharp writes 1-bit palettes only. */
function oneBitGreyPng(image: RawImage): Buffer {
  const stride = Math.ceil(image.width / 8);
  const scanlines = Buffer.alloc((stride + 1) * image.height);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (image.data[y * image.width + x] !== 0) {
        scanlines[y * (stride + 1) + 1 + (x >> 3)] |= 0x80 >> (x & 7);
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(image.width, 0);
  ihdr.writeUInt32BE(image.height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // depth 1, grey, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(scanlines)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
