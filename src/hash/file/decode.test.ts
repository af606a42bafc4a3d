import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { syntheticImage } from '../../../test/support/synthetic.js';
import { pdq } from '../pdq.js';
import type { PixelImage } from '../pixels.js';
import { decodeImage, DEFAULT_MAX_PIXELS } from './decode.js';

const rgba = syntheticImage(97, 61, 3, 4);
const raw = () =>
  sharp(Buffer.from(rgba.data), { raw: { width: rgba.width, height: rgba.height, channels: 4 } });

/** What the decoder used to hand over: alpha removed, grey widened to RGB. */
async function rgbOf(bytes: Buffer): Promise<PixelImage> {
  const { data, info } = await sharp(bytes)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data };
}

describe('decodeImage leaves the channels it can', () => {
  it.each([
    ['RGBA PNG', () => raw().png(), 4],
    ['RGB PNG', () => raw().removeAlpha().png(), 3],
    ['grey PNG', () => raw().removeAlpha().toColourspace('b-w').png(), 1],
    ['grey + alpha PNG', () => raw().toColourspace('b-w').png(), 1],
    ['grey JPEG', () => raw().removeAlpha().toColourspace('b-w').jpeg(), 1],
    ['grey TIFF', () => raw().removeAlpha().toColourspace('b-w').tiff(), 1],
    ['16-bit grey PNG', () => raw().removeAlpha().toColourspace('grey16').png(), 3],
    ['16-bit RGBA PNG', () => raw().toColourspace('rgb16').png(), 4],
  ] as const)('%s, hashing as the RGB pixels', async (_, encode, channels) => {
    const bytes = await encode().toBuffer();
    const image = await decodeImage(bytes, { maxPixels: DEFAULT_MAX_PIXELS });
    expect(image.channels).toBe(channels);
    const want = pdq(await rgbOf(bytes), { variants: true });
    expect(pdq(image, { variants: true })).toEqual(want);
    expect(pdq(image, { semantics: 'cli' })).toEqual(pdq(await rgbOf(bytes), { semantics: 'cli' }));
  });
});
