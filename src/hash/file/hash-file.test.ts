import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageFixture, ImageSet } from '../../../test/support/image-files.js';
import { HEIF_ENC, hasHeifEnc, writeImageSet } from '../../../test/support/image-files.js';
import type { RawImage } from '../../../test/support/synthetic.js';
import { syntheticImage } from '../../../test/support/synthetic.js';
import { hammingDistance } from '../pdq-hash.js';
import { pdq } from '../pdq.js';
import { hashBytes, hashFile } from './hash-file.js';

/**
 * Bits between each file's PDQ and the PDQ of the pixels it was written
 * from, as measured with libvips 8.18.7 (sharp 0.35.5) and heif-enc 1.15.1,
 * for seeds 7 and 8. Lossless formats must give the very same hash; lossy
 * ones "within a few bits". The bound leaves room for encoder updates.
 */
const MEASURED: Readonly<Record<ImageFixture, { seed7: number; seed8: number; bound: number }>> = {
  png: { seed7: 0, seed8: 0, bound: 0 },
  'webp-lossless': { seed7: 0, seed8: 0, bound: 0 },
  tiff: { seed7: 0, seed8: 0, bound: 0 },
  'png-16bit': { seed7: 0, seed8: 0, bound: 0 }, // high byte kept (>> 8), not the low byte
  'png-alpha': { seed7: 0, seed8: 0, bound: 0 }, // alpha dropped, not composited
  'png-1bit': { seed7: 0, seed8: 0, bound: 0 }, // against the 0/255 pixels it encodes
  jpeg: { seed7: 0, seed8: 2, bound: 6 },
  'jpeg-orientation-6': { seed7: 0, seed8: 2, bound: 6 },
  'jpeg-cmyk': { seed7: 0, seed8: 0, bound: 6 },
  webp: { seed7: 0, seed8: 2, bound: 6 },
  avif: { seed7: 0, seed8: 2, bound: 6 },
  heic: { seed7: 0, seed8: 0, bound: 6 },
  gif: { seed7: 2, seed8: 0, bound: 6 },
  'gif-animated': { seed7: 2, seed8: 0, bound: 6 },
  'png-palette': { seed7: 2, seed8: 0, bound: 6 },
};

const FORMAT: Readonly<Record<ImageFixture, string>> = {
  png: 'png',
  'webp-lossless': 'webp',
  tiff: 'tiff',
  'png-16bit': 'png',
  'png-alpha': 'png',
  'png-1bit': 'png',
  jpeg: 'jpeg',
  'jpeg-orientation-6': 'jpeg',
  'jpeg-cmyk': 'jpeg',
  webp: 'webp',
  avif: 'avif',
  heic: 'heic',
  gif: 'gif',
  'gif-animated': 'gif',
  'png-palette': 'png',
};

function digests(bytes: Uint8Array) {
  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    sha1: createHash('sha1').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** The image turned a quarter clockwise, as a viewer shows EXIF orientation 6. */
function rotateClockwise(image: RawImage): RawImage {
  const { width, height, channels } = image;
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const to = (x * height + (height - 1 - y)) * channels;
      for (let k = 0; k < channels; k++) data[to + k] = image.data[(y * width + x) * channels + k];
    }
  }
  return { width: height, height: width, channels, data };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-hashfile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each([7, 8])('every image format, synthetic seed %i', (seed) => {
  let set: ImageSet;
  let want: string;
  beforeAll(async () => {
    const sub = await mkdtemp(path.join(dir, `set-${seed}-`));
    // No file name extensions: images are recognised by content alone.
    set = await writeImageSet(sub, { seed, withExtensions: false });
    want = pdq(set.base).hash;
  });

  async function check(name: ImageFixture): Promise<void> {
    const file = set.files[name];
    const record = await hashFile(file);
    const bytes = await readFile(file);
    expect(record.error).toBeUndefined();
    expect(record).toMatchObject({ path: file, bytes: bytes.length, ...digests(bytes) });
    expect(record.format).toBe(FORMAT[name]);
    const reference = name === 'png-1bit' ? pdq(set.bilevel).hash : want;
    const distance = hammingDistance(record.pdq as string, reference);
    const measured = MEASURED[name][seed === 7 ? 'seed7' : 'seed8'];
    expect(distance, `${name}: ${measured} bits when measured`).toBeLessThanOrEqual(
      MEASURED[name].bound,
    );
    expect(record.pdqQuality).toBeGreaterThan(0);
  }

  const names = (Object.keys(MEASURED) as ImageFixture[]).filter((name) => name !== 'heic');
  it.each(names)('%s', check);
  it.skipIf(!hasHeifEnc())(`heic (needs ${HEIF_ENC}: apt-get install libheif-examples)`, () =>
    check('heic'),
  );

  it('the CMYK and 16-bit fixtures really are CMYK and 16-bit', async () => {
    expect((await sharp(set.files['jpeg-cmyk']).metadata()).space).toBe('cmyk');
    expect((await sharp(set.files['png-16bit']).metadata()).depth).toBe('ushort');
    const oneBit = await readFile(set.files['png-1bit']);
    expect([oneBit[24], oneBit[25]]).toEqual([1, 0]); // IHDR: bit depth 1, greyscale
  });

  it('ignores EXIF orientation: orientation 6 hashes as its stored pixels', async () => {
    expect((await sharp(set.files['jpeg-orientation-6']).metadata()).orientation).toBe(6);
    const oriented = await hashFile(set.files['jpeg-orientation-6']);
    const plain = await hashFile(set.files.jpeg);
    expect(oriented.pdq).toBe(plain.pdq);
    const upright = pdq(rotateClockwise(set.base)).hash;
    expect(hammingDistance(oriented.pdq as string, upright)).toBeGreaterThan(31);
  });

  it('hashes the first frame of an animated GIF', async () => {
    const second = pdq(syntheticImage(set.base.width, set.base.height, seed + 1)).hash;
    const record = await hashFile(set.files['gif-animated']);
    expect(hammingDistance(record.pdq as string, want)).toBeLessThanOrEqual(6);
    expect(hammingDistance(record.pdq as string, second)).toBeGreaterThan(31);
  });

  it('gives the dihedral variants, the same as the core does on the same pixels', async () => {
    const record = await hashFile(set.files.png, { variants: true });
    expect(record.pdqVariants).toEqual(pdq(set.base, { variants: true }).variants);
  });

  it('gives cli semantics on request', async () => {
    const record = await hashFile(set.files.png, { semantics: 'cli' });
    expect(record.pdq).toBe(pdq(set.base, { semantics: 'cli' }).hash);
  });
});

describe('hashBytes', () => {
  it('hashes an image in memory like the same file', async () => {
    const image = syntheticImage(200, 150, 3);
    const bytes = await sharp(image.data, { raw: { width: 200, height: 150, channels: 3 } })
      .png()
      .toBuffer();
    const file = path.join(dir, 'in-memory.png');
    await writeFile(file, bytes);
    const { path: _path, ...fromFile } = await hashFile(file);
    expect(await hashBytes(bytes)).toEqual(fromFile);
    expect(fromFile.pdq).toBe(pdq(image).hash);
  });

  it('gives exact hashes only for content that is not an image', async () => {
    const bytes = new TextEncoder().encode('just some text, not an image\n');
    expect(await hashBytes(bytes)).toEqual({ bytes: bytes.length, ...digests(bytes) });
    expect((await hashBytes(bytes, { requireImage: true })).error?.code).toBe('not-an-image');
  });

  it('reports an empty input with the digests of nothing', async () => {
    const record = await hashBytes(new Uint8Array());
    expect(record).toMatchObject({ bytes: 0, ...digests(new Uint8Array()) });
    expect(record.error?.code).toBe('empty-file');
  });
});
