import sharp from 'sharp';
import type { RawImage } from '../support/synthetic.js';
import { syntheticImage } from '../support/synthetic.js';

/**
 * Synthetic images for the self-scan tests: an "original" that goes into a
 * bank, and near-duplicates of it that a provider's storage might hold
 * instead (resized, re-encoded at low quality, slightly cropped,
 * brightened), which PDQ must still match. Generated, never downloaded.
 *
 * Seeds whose image has a PDQ quality of at least 50 (the scan's default
 * floor): 11, 13, 16 (12 gives 38, 22 gives 47).
 */
export const PLANTED_SEEDS = [11, 13, 16] as const;

export interface NearDuplicates {
  readonly original: Buffer;
  readonly resized: Buffer;
  readonly lowQuality: Buffer;
  readonly cropped: Buffer;
  readonly brightened: Buffer;
}

export const NEAR_DUPLICATE_KINDS = ['resized', 'lowQuality', 'cropped', 'brightened'] as const;

function raw(image: RawImage) {
  return sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
}

export async function nearDuplicates(
  seed: number,
  width = 640,
  height = 480,
): Promise<NearDuplicates> {
  const base = syntheticImage(width, height, seed);
  // PDQ tolerates about 1% cut off each side (2% gives distances of 30-50).
  const dx = Math.round(width * 0.01);
  const dy = Math.round(height * 0.01);
  return {
    original: await raw(base).jpeg({ quality: 92 }).toBuffer(),
    // Half the size, as a thumbnail or a re-upload would be.
    resized: await raw(base)
      .resize(Math.round(width / 2), Math.round(height / 2))
      .jpeg({ quality: 85 })
      .toBuffer(),
    // Re-encoded at a quality that shows blocks.
    lowQuality: await raw(base).jpeg({ quality: 30 }).toBuffer(),
    // 1% cut off every side, saved as PNG.
    cropped: await raw(base)
      .extract({ left: dx, top: dy, width: width - 2 * dx, height: height - 2 * dy })
      .png()
      .toBuffer(),
    // 12% brighter.
    brightened: await raw(base).linear(1.12, 6).jpeg({ quality: 90 }).toBuffer(),
  };
}

/** An image unrelated to any other seed's, as a PNG or a JPEG. */
export async function otherImage(
  seed: number,
  format: 'png' | 'jpeg' = 'jpeg',
  width = 400,
  height = 300,
): Promise<Buffer> {
  const image = raw(syntheticImage(width, height, seed));
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 88 }).toBuffer();
}
