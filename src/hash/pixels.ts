import { TakedownError } from '../errors.js';

/**
 * Decoded pixels, the only thing the hashing core needs from a decoder:
 * sharp's raw output and a canvas's ImageData both fit. 1 = grey,
 * 2 = grey + alpha, 3 = RGB, 4 = RGBA. Alpha is ignored, as the reference does.
 */
export interface PixelImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array | Uint8ClampedArray;
}

export function checkPixelImage(image: PixelImage): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new TakedownError(
      'invalid-pixels',
      `Image size must be whole numbers of at least 1 pixel, got ${width}x${height}.`,
    );
  }
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new TakedownError(
      'invalid-pixels',
      `Images must have 1 to 4 channels, got ${String(channels)}.`,
    );
  }
  if (data.length !== width * height * channels) {
    throw new TakedownError(
      'invalid-pixels',
      `A ${width}x${height} image with ${channels} channels has ${width * height * channels} bytes of pixels, got ${data.length}.`,
    );
  }
}

/**
 * True when every pixel has R = G = B. The reference's decoder hands such an
 * image over as one grey channel, and the grey luma path (Y = v) differs from
 * the RGB formula for 35 of the 256 grey levels, so we must take the same path.
 */
export function isAllGrey(image: PixelImage): boolean {
  const { channels, data } = image;
  if (channels < 3) return true;
  for (let p = 0; p < data.length; p += channels) {
    const r = data[p];
    if (data[p + 1] !== r || data[p + 2] !== r) return false;
  }
  return true;
}
