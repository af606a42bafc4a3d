import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSet } from '../../../test/support/image-files.js';
import { writeImageSet } from '../../../test/support/image-files.js';
import { readImageHeader } from './header.js';

let dir: string;
let set: ImageSet;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-header-'));
  set = await writeImageSet(dir, { width: 123, height: 45 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readImageHeader', () => {
  it.each(['jpeg', 'jpeg-orientation-6', 'png', 'png-16bit', 'png-palette', 'png-1bit'] as const)(
    'reads the size of %s as libvips does',
    async (name) => {
      const bytes = await readFile(set.files[name]);
      const meta = await sharp(bytes).metadata();
      expect(readImageHeader(bytes)).toEqual({
        format: meta.format,
        width: meta.width,
        height: meta.height,
        cmyk: false,
        grey: meta.space === 'b-w' && meta.depth === 'uchar',
      });
    },
  );

  it('tells 8-bit grey, which libvips loads as it is, from 16-bit grey', async () => {
    const png = await readFile(set.files.png);
    const grey = (image: Sharp) => image.toColourspace('b-w');
    const header = async (image: Sharp) => readImageHeader(await image.toBuffer());
    expect(await header(grey(sharp(png)).png())).toMatchObject({ grey: true });
    expect(await header(grey(sharp(png)).ensureAlpha().png())).toMatchObject({ grey: true });
    expect(await header(grey(sharp(png)).jpeg())).toMatchObject({ grey: true });
    expect(await header(sharp(png).toColourspace('grey16').png())).toMatchObject({ grey: false });
  });

  it('recognises a CMYK JPEG', async () => {
    expect(readImageHeader(await readFile(set.files['jpeg-cmyk']))).toMatchObject({ cmyk: true });
  });

  it('reads a progressive JPEG', async () => {
    const bytes = await sharp(await readFile(set.files.png))
      .jpeg({ progressive: true })
      .toBuffer();
    expect(readImageHeader(bytes)).toMatchObject({ format: 'jpeg', width: 123, height: 45 });
  });

  it('leaves other formats and damaged headers to libvips', async () => {
    for (const name of ['webp', 'gif', 'tiff', 'avif'] as const) {
      expect(readImageHeader(await readFile(set.files[name]))).toBeUndefined();
    }
    const jpeg = await readFile(set.files.jpeg);
    expect(readImageHeader(jpeg.subarray(0, 20))).toBeUndefined();
    expect(readImageHeader(Buffer.from([0xff, 0xd8, 0x00, 0x00, 0x00]))).toBeUndefined();
    expect(readImageHeader(Buffer.from('plain text that is long enough'))).toBeUndefined();
    const png = Buffer.from(await readFile(set.files.png));
    png.write('zzzz', 12, 'latin1'); // first chunk is no longer IHDR
    expect(readImageHeader(png)).toBeUndefined();
  });
});
