import { fillRgTable, greyRow, rgbRow } from './pdq-kernels.js';
import type { PixelImage } from './pixels.js';
import { isAllGrey } from './pixels.js';

/**
 * Writes luma of columns [from, to) of image row `y` into
 * `out[offset + x * 8]`: one lane of a block of eight interleaved rows (see
 * pdq-kernels.ts). Float32 values held in a Float64Array: a JIT converts on
 * every Float32Array load, and the blur loads each value twice. The blur
 * calls it for at most CHUNK columns at a time (see "Short calls" there).
 */
export type LumaRowReader = (
  y: number,
  from: number,
  to: number,
  out: Float64Array,
  offset: number,
) => void;

/** Full-resolution pixels for `rgbRows8` and `greyRows8` (pdq-kernels.ts). */
export interface FusedPixels {
  readonly view: DataView;
  readonly channels: number;
  /** Y = v (the first channel) rather than the RGB formula. */
  readonly grey: boolean;
}

export interface LumaSource {
  readonly width: number;
  readonly height: number;
  readonly readRow: LumaRowReader;
  /** Set at full resolution: the blur then fuses luma into its row filter. */
  readonly pixels?: FusedPixels;
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
  const columns = new Int32Array(semantics === 'fullres' || (W <= 512 && H <= 512) ? W : 512);
  for (let x = 0; x < columns.length; x++) {
    columns[x] = (columns.length === W ? x : Math.floor((x * W) / 512)) * channels;
  }
  if (columns.length === W) {
    return {
      width: W,
      height: H,
      pixels: fusedPixels(image, grey),
      readRow: grey
        ? (y, from, to, out, offset) => greyRow(data, y * rowBytes, columns, from, to, out, offset)
        : (y, from, to, out, offset) => rgbRow(data, y * rowBytes, columns, from, to, out, offset),
    };
  }
  const rowStart = (y: number): number => Math.floor((y * H) / 512) * rowBytes;
  return {
    width: 512,
    height: 512,
    readRow: grey
      ? (y, from, to, out, offset) => greyRow(data, rowStart(y), columns, from, to, out, offset)
      : (y, from, to, out, offset) => rgbRow(data, rowStart(y), columns, from, to, out, offset),
  };
}

function fusedPixels({ data, channels }: PixelImage, grey: boolean): FusedPixels {
  if (!grey) fillRgTable();
  return { view: new DataView(data.buffer, data.byteOffset, data.byteLength), channels, grey };
}
