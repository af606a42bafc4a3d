import type { PixelImage } from './pixels.js';
import { isAllGrey } from './pixels.js';

const f = Math.fround;

/** float32 luma weights of the reference (`(float)0.299` …). */
const RC = f(0.299);
const GC = f(0.587);
const BC = f(0.114);

// fround(RC * v) for every byte value: the product of a float32 and an 8-bit
// integer is exact in double, so a table lookup gives the same rounded value.
const R_TABLE = new Float64Array(256);
const G_TABLE = new Float64Array(256);
const B_TABLE = new Float64Array(256);
for (let v = 0; v < 256; v++) {
  R_TABLE[v] = f(RC * v);
  G_TABLE[v] = f(GC * v);
  B_TABLE[v] = f(BC * v);
}

/**
 * Writes luma of image row `y` (`width` values) into `out` from `offset`.
 * Float32 values held in a Float64Array: a JIT converts on every Float32Array
 * load, and the blur loads each value twice.
 */
export type LumaRowReader = (y: number, out: Float64Array, offset: number) => void;

export interface LumaSource {
  readonly width: number;
  readonly height: number;
  readonly readRow: LumaRowReader;
}

/**
 * The luma image the PDQ core hashes, row by row, without materialising it.
 * Y = ((0.299 R + 0.587 G) + 0.114 B) in float32; Y = v for all-grey images.
 *
 * `cli` semantics reproduces the reference tool: an image wider or taller than
 * 512 is first resized to exactly 512x512 by nearest neighbour (source
 * floor(x * W / 512)), aspect ratio not kept. Sampling luma at those positions
 * equals computing luma of the resized image.
 */
export function lumaSource(image: PixelImage, semantics: 'fullres' | 'cli'): LumaSource {
  const { width: W, height: H, channels, data } = image;
  const grey = isAllGrey(image);
  const rowBytes = W * channels;
  if (semantics === 'fullres' || (W <= 512 && H <= 512)) {
    return {
      width: W,
      height: H,
      readRow: grey
        ? (y, out, offset) => greyRow(data, y * rowBytes, channels, W, out, offset)
        : (y, out, offset) => rgbRow(data, y * rowBytes, channels, W, out, offset),
    };
  }
  const colOffset = new Int32Array(512);
  for (let x = 0; x < 512; x++) colOffset[x] = Math.floor((x * W) / 512) * channels;
  const rowStart = (y: number): number => Math.floor((y * H) / 512) * rowBytes;
  return {
    width: 512,
    height: 512,
    readRow: grey
      ? (y, out, offset) => sampledGreyRow(data, rowStart(y), colOffset, out, offset)
      : (y, out, offset) => sampledRgbRow(data, rowStart(y), colOffset, out, offset),
  };
}

function rgbRow(
  data: Uint8Array | Uint8ClampedArray,
  p: number,
  channels: number,
  width: number,
  out: Float64Array,
  o: number,
): void {
  const rt = R_TABLE;
  const gt = G_TABLE;
  const bt = B_TABLE;
  for (const end = o + width; o < end; o++, p += channels) {
    out[o] = f(f(rt[data[p]] + gt[data[p + 1]]) + bt[data[p + 2]]);
  }
}

function greyRow(
  data: Uint8Array | Uint8ClampedArray,
  p: number,
  channels: number,
  width: number,
  out: Float64Array,
  o: number,
): void {
  for (const end = o + width; o < end; o++, p += channels) out[o] = data[p];
}

function sampledRgbRow(
  data: Uint8Array | Uint8ClampedArray,
  base: number,
  colOffset: Int32Array,
  out: Float64Array,
  o: number,
): void {
  for (let x = 0; x < colOffset.length; x++) {
    const p = base + colOffset[x];
    out[o + x] = f(f(R_TABLE[data[p]] + G_TABLE[data[p + 1]]) + B_TABLE[data[p + 2]]);
  }
}

function sampledGreyRow(
  data: Uint8Array | Uint8ClampedArray,
  base: number,
  colOffset: Int32Array,
  out: Float64Array,
  o: number,
): void {
  for (let x = 0; x < colOffset.length; x++) out[o + x] = data[base + colOffset[x]];
}
