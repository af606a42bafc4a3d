import sharp from 'sharp';
import type { Metadata, Sharp } from 'sharp';
import { TakedownError } from '../../errors.js';
import type { PixelImage } from '../pixels.js';
import { readImageHeader } from './header.js';

/** Decoded pixels plus what the decoder learned about the file. */
export interface DecodedImage extends PixelImage {
  /** Container format as the decoder names it: jpeg, png, webp, gif, tiff, heif, avif… */
  readonly format: string;
}

export interface DecodeOptions {
  /**
   * Refuse images with more pixels than this (width x height) before
   * decoding them: a small file can declare an enormous image.
   */
  readonly maxPixels: number;
}

/** 100 megapixels: above any camera in common use, far below what exhausts memory. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/**
 * Decodes an image the way the PDQ reference sees it: 8-bit RGB (or grey),
 * EXIF orientation NOT applied (the dihedral hashes cover rotated copies),
 * embedded ICC profiles ignored, alpha not composited (colour images keep it
 * as a fourth channel, which hashing ignores), the first frame of an
 * animation. Palette, 1-bit and 16-bit images become ordinary 8-bit pixels
 * (16-bit scaled by >> 8); CMYK is converted without a colour profile, as
 * ImageMagick does for the reference.
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions,
): Promise<DecodedImage> {
  // JPEG and PNG (most files) say what we need in their first bytes; other
  // formats are asked about through libvips first.
  const header = readImageHeader(bytes);
  const meta = header ?? fromMetadata(await readMetadata(bytes, options));
  if (meta.width * meta.height > options.maxPixels) {
    throw tooManyPixels(meta.width, meta.height, options.maxPixels);
  }
  if (meta.format === 'heif' && meta.compression === 'hevc') return decodeHeic(bytes, options);
  try {
    if (meta.cmyk) return await decodeCmyk(bytes, options, meta.format);
    // Alpha stays in: the luma step skips it, and removing it here costs
    // libvips a copy of every pixel (5-8% of an RGBA PNG's decode).
    // Grey stays grey: widening it to RGB costs another copy, and then a
    // scan of every pixel to find that R = G = B (together about a fifth of
    // a grey image's decode and hash).
    const { data, info } = await open(bytes, options)
      .toColourspace(meta.grey ? 'b-w' : 'srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return pixels(data, info.width, info.height, info.channels, meta.format);
  } catch (error) {
    throw decodeError(error);
  }
}

interface Probe {
  readonly format: string;
  readonly compression?: string;
  readonly width: number;
  readonly height: number;
  readonly cmyk: boolean;
  /** 8-bit grey, with or without alpha. */
  readonly grey: boolean;
}

function fromMetadata(meta: Metadata): Probe {
  return {
    format: meta.format ?? 'unknown',
    compression: meta.compression,
    width: meta.width ?? 0,
    height: meta.height ?? 0,
    cmyk: meta.space === 'cmyk',
    grey: meta.space === 'b-w' && meta.depth === 'uchar' && (meta.channels ?? 0) <= 2,
  };
}

function open(bytes: Uint8Array, options: DecodeOptions): Sharp {
  return sharp(bytes, {
    limitInputPixels: options.maxPixels,
    ignoreIcc: true,
    autoOrient: false,
    page: 0,
    pages: 1,
    // Benign decoder warnings (a JPEG's "extraneous bytes before marker",
    // common in the wild) must not cost an image its hash; truncation and
    // real errors still fail.
    failOn: 'error',
  });
}

async function readMetadata(bytes: Uint8Array, options: DecodeOptions): Promise<Metadata> {
  try {
    return await open(bytes, options).metadata();
  } catch (error) {
    throw decodeError(error);
  }
}

/**
 * Plain CMYK -> RGB, R = (255 - C)(255 - K) / 255, without colour management:
 * what ImageMagick gives the reference tool (libvips would apply a CMYK ICC
 * profile, which moves the hash several bits).
 */
async function decodeCmyk(
  bytes: Uint8Array,
  options: DecodeOptions,
  format: string,
): Promise<DecodedImage> {
  const { data, info } = await open(bytes, options)
    .pipelineColourspace('cmyk')
    .toColourspace('cmyk')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0, p = 0; i < n; i++, p += info.channels) {
    const k = 255 - data[p + 3];
    rgb[i * 3] = Math.round(((255 - data[p]) * k) / 255);
    rgb[i * 3 + 1] = Math.round(((255 - data[p + 1]) * k) / 255);
    rgb[i * 3 + 2] = Math.round(((255 - data[p + 2]) * k) / 255);
  }
  return { width: info.width, height: info.height, channels: 3, data: rgb, format };
}

/** HEIC (HEVC-coded HEIF) is not in sharp's prebuilt libvips; libheif-js decodes it. */
async function decodeHeic(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  const { default: decode } = await import('heic-decode');
  let image;
  try {
    image = await withoutLibheifChatter(() => decode({ buffer: bytes }));
  } catch (error) {
    throw new TakedownError(
      'corrupt-image',
      'The HEIC image could not be decoded: the file is damaged or incomplete.',
      {
        cause: error,
      },
    );
  }
  if (image.width * image.height > options.maxPixels) {
    throw tooManyPixels(image.width, image.height, options.maxPixels);
  }
  return {
    width: image.width,
    height: image.height,
    channels: 4,
    data: image.data,
    format: 'heic',
  };
}

/**
 * libheif-js reports a failed decode with console.log, i.e. on standard
 * output, where it would corrupt `takedown hash`'s JSON lines. The failure
 * reaches the caller as an error anyway, so that one message is dropped;
 * anything else still gets through.
 */
const LIBHEIF_FAILURE = 'Decoding image failed';
let chatterGuards = 0;
let consoleLog: typeof console.log = console.log;

async function withoutLibheifChatter<T>(work: () => Promise<T>): Promise<T> {
  if (chatterGuards++ === 0) {
    consoleLog = console.log;
    console.log = (...args: unknown[]) => {
      if (args[0] !== LIBHEIF_FAILURE) consoleLog(...args);
    };
  }
  try {
    return await work();
  } finally {
    if (--chatterGuards === 0) console.log = consoleLog;
  }
}

function pixels(
  data: Buffer,
  width: number,
  height: number,
  channels: number,
  format: string,
): DecodedImage {
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new TakedownError(
      'unsupported-image',
      `Decoding gave ${channels} colour channels, which we cannot hash.`,
    );
  }
  return {
    width,
    height,
    channels,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    format,
  };
}

function tooManyPixels(width: number, height: number, max: number): TakedownError {
  return new TakedownError(
    'image-too-large',
    `The image declares ${width}x${height} = ${(width * height).toLocaleString('en')} pixels, more than the limit of ${max.toLocaleString('en')} (a possible decompression bomb). Raise the limit with --max-pixels or TAKEDOWN_MAX_PIXELS if the image is genuine.`,
    { kind: 'too-large' },
  );
}

/** Turns libvips' messages into our codes and sentences. */
export function decodeError(error: unknown): TakedownError {
  if (error instanceof TakedownError) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(text)) {
    return new TakedownError(
      'image-too-large',
      `The image has more pixels than the configured limit (a possible decompression bomb). Raise the limit with --max-pixels or TAKEDOWN_MAX_PIXELS if it is genuine.`,
      { kind: 'too-large', cause: error },
    );
  }
  if (/unsupported image format/i.test(text)) {
    return new TakedownError('not-an-image', 'The file is not an image in a format we can read.', {
      cause: error,
    });
  }
  if (
    /premature end|truncated|unexpected end|EOF|not enough data|read error|bad seek|corrupt|invalid|damaged/i.test(
      text,
    )
  ) {
    return new TakedownError(
      'corrupt-image',
      `The image is damaged or incomplete: ${firstLine(text)}.`,
      { cause: error },
    );
  }
  return new TakedownError('corrupt-image', `The image could not be decoded: ${firstLine(text)}.`, {
    cause: error,
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0].replace(/[.\s]+$/, '');
}
