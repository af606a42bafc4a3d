import type { LumaSource } from './pdq-luma.js';
import {
  CHUNK,
  LANES,
  MAX_INDEX,
  boxRows8,
  boxSamples8,
  columnSteps,
  countAt,
  greyRows8,
  rgbRows8,
  setColumnStep,
  workBuffer,
} from './pdq-kernels.js';

const f = Math.fround;

/**
 * The reference's two-pass Jarosz box filter followed by 64x64 decimation,
 * bit for bit, but streamed.
 *
 * The reference blurs the whole image four times (rows, columns, rows,
 * columns) and then reads 64x64 pixel centres. Only those 4096 outputs
 * matter, so here, eight rows (one block) at a time:
 *  - pass 1 rows computes luma and filters a block of rows into a ring of
 *    blocks (luma and filter fused for full-resolution images);
 *  - pass 1 columns advances every column's running sum by eight rows,
 *    reading rows from the ring (zero rows stand in for rows outside the
 *    image, see pdq-kernels.ts for why that is exact);
 *  - pass 2 rows filters those eight rows but outputs only the 64 sampled
 *    columns;
 *  - pass 2 columns finally runs over the 64 sampled columns only.
 * Every kept value comes from exactly the reference's sequence of float32
 * operations, so the result is identical. The loops themselves, and why they
 * are shaped as they are, are in pdq-kernels.ts.
 *
 * Working data lives in one Float64Array (pdq-kernels.ts) and the pass-2 row
 * outputs in another, both reused from call to call, so a hash allocates
 * (and the garbage collector frees) almost nothing. Values are float32 held
 * in doubles: a JIT converts on every Float32Array load, and most values are
 * loaded twice (entering and leaving a window).
 */
export function blurAndDecimate(source: LumaSource): Float64Array {
  const { width: W, height: H } = source;
  const fwRow = windowSize(W);
  const fwCol = windowSize(H);
  const halfRow = (fwRow + 2) >> 1;
  const halfCol = (fwCol + 2) >> 1;
  const rowSteps = W + halfRow - 1;
  const sampleCols = samplePositions(W);

  // Layout of the working buffer. Blocks are interleaved (pdq-kernels.ts):
  // row-filter inputs padded with zero columns, pass-1 row outputs with the
  // width rounded up to whole 8-column tiles for the column filter.
  const tileCols = (W + 7) & ~7;
  const tiles = tileCols * LANES; // one block of pass-1 row outputs
  // Columns -fwRow .. W + halfRow - 1, and at least the tile columns.
  const padded = (fwRow + Math.max(W + halfRow, tileCols)) * LANES;
  const ringBlocks = ((fwCol + 7) >> 3) + 2; // rows t - fwCol .. t + 7, by block
  const lumaAt = 0; // padded luma block (pass-1 row input)
  const colAt = lumaAt + padded; // padded pass-1 column output (pass-2 row input)
  const zeroAt = colAt + padded; // a block of zeros: rows outside the image
  // Pass-1 row outputs, ringBlocks blocks, each after a gap that takes the
  // outputs the row filter writes before the first real one.
  const gap = halfRow * LANES;
  const ringStride = gap + tiles;
  const ringAt = zeroAt + tiles + gap;
  const colSumAt = ringAt + ringBlocks * ringStride; // column running sums
  const rowSumAt = colSumAt + tileCols; // row-filter running sums (8)
  const sampleSumAt = rowSumAt + LANES; // pass-2 running sums (8) and step
  const stepInvAt = sampleSumAt + LANES + 1; // 1/count per row-filter step
  const sampleInvAt = stepInvAt + rowSteps; // 1/count at the 64 samples
  const colInvAt = sampleInvAt + 64; // 1/count for the 8 column steps
  const size = colInvAt + LANES;
  if (size > MAX_INDEX) {
    throw new RangeError(`A ${W}x${H} image is too large for the PDQ blur.`);
  }
  const buf = workBuffer(size);
  // Pass-2 row outputs, 64 per row, with zero rows around (see columnsAtSamples).
  const narrow = narrowBuffer((fwCol + H + LANES + halfCol) * 64);
  narrow.fill(0, 0, fwCol * 64);
  buf.fill(0, 0, stepInvAt); // padding, zero rows, unused tile columns, sums
  for (let s = 0; s < rowSteps; s++) {
    buf[stepInvAt + s] = s < halfRow - 1 ? 0 : 1 / countAt(s, W, fwRow);
  }
  for (let j = 0; j < 64; j++) {
    buf[sampleInvAt + j] = 1 / countAt(sampleCols[j] + halfRow - 1, W, fwRow);
  }

  // Where row r's pass-1 output lives (lane r & 7 of its block), or zeros.
  const rowAt = (r: number): number =>
    r < 0 || r >= H ? zeroAt : ringAt + ((r >> 3) % ringBlocks) * ringStride + (r & 7);
  const pixels = source.pixels;
  const rowBytes = pixels ? W * pixels.channels : 0;
  // The fused kernels need pixel indices below 2^30 and rows below 2^26
  // bytes. rgbRows8 reads 4 bytes per pixel, one past the last pixel of a
  // block: a block ending at the last byte of the image takes the general path.
  const fusable = pixels && pixels.view.byteLength < 2 ** 30 && rowBytes < 2 ** 26;
  const fusedRows = !fusable ? 0 : pixels.grey ? H : Math.floor((pixels.view.byteLength - 1) / rowBytes); // prettier-ignore
  let rowsReady = 0;
  // Pass 1 along rows for the blocks up to the one holding row r.
  const rowsUpTo = (r: number): void => {
    for (; rowsReady <= r && rowsReady < H; rowsReady += LANES) {
      const dst = rowAt(rowsReady);
      buf.fill(0, rowSumAt, rowSumAt + LANES);
      let s = 0;
      if (pixels && rowsReady + LANES <= fusedRows) {
        // Luma fused with the row filter for the steps that read pixels.
        const { view, channels, grey } = pixels;
        const pixel = rowsReady * rowBytes;
        for (; s < W; s += CHUNK) {
          const to = Math.min(W, s + CHUNK);
          if (grey) greyRows8(view, pixel, rowBytes, channels, lumaAt, fwRow, stepInvAt, dst, rowSumAt, s, to); // prettier-ignore
          else rgbRows8(view, pixel, rowBytes, channels, lumaAt, fwRow, stepInvAt, dst, rowSumAt, s, to); // prettier-ignore
        }
        s = W;
      } else {
        for (let k = 0; k < LANES && rowsReady + k < H; k++) {
          for (let x = 0; x < W; x += CHUNK) {
            source.readRow(rowsReady + k, x, Math.min(W, x + CHUNK), buf, lumaAt + fwRow * LANES + k); // prettier-ignore
          }
        }
      }
      for (; s < rowSteps; s += CHUNK) {
        const to = Math.min(rowSteps, s + CHUNK);
        boxRows8(lumaAt, fwRow, stepInvAt, dst, rowSumAt, s, to);
      }
    }
  };
  const columnsStep = (steps: number): void => {
    for (let x = 0; x < tiles; x += CHUNK * LANES) {
      columnSteps(steps, colInvAt, colSumAt, x, Math.min(tiles, x + CHUNK * LANES)); // prettier-ignore
    }
  };

  // Column-filter step t adds pass-1 row t, subtracts row t - fwCol and
  // outputs row t - halfCol + 1. The first halfCol - 1 steps output nothing
  // (their outputs go to the pass-2 input block, overwritten later).
  for (let t0 = 0; t0 < halfCol - 1; t0 += LANES) {
    const steps = Math.min(LANES, halfCol - 1 - t0);
    for (let k = 0; k < steps; k++)
      setColumnStep(k, rowAt(t0 + k), zeroAt, colAt + fwRow * LANES + k);
    rowsUpTo(t0 + steps - 1);
    columnsStep(steps);
  }
  for (let o0 = 0; o0 < H; o0 += LANES) {
    // Output rows o0 .. o0 + 7; rows past the image produce unused lanes.
    for (let k = 0; k < LANES; k++) {
      const t = o0 + k + halfCol - 1;
      const live = o0 + k < H;
      const output = colAt + fwRow * LANES + k;
      setColumnStep(k, live ? rowAt(t) : zeroAt, live ? rowAt(t - fwCol) : zeroAt, output);
      buf[colInvAt + k] = live ? 1 / countAt(t, H, fwCol) : 0;
    }
    rowsUpTo(o0 + LANES - 1 + halfCol - 1);
    columnsStep(LANES);
    // Pass 2 along rows, a few samples (about CHUNK steps) per call.
    buf.fill(0, sampleSumAt, sampleSumAt + LANES + 1);
    const samples = Math.max(1, Math.min(64, Math.floor((64 * CHUNK) / W)));
    for (let j = 0; j < 64; j += samples) {
      boxSamples8(colAt, fwRow, sampleCols, sampleInvAt, narrow, (fwCol + o0) * 64, sampleSumAt, j, Math.min(64, j + samples)); // prettier-ignore
    }
  }

  narrow.fill(0, (fwCol + H) * 64, (fwCol + H + halfCol) * 64); // over the unused lanes
  return columnsAtSamples(narrow, H, fwCol, samplePositions(H));
}

let narrowStore = new Float64Array(0);

/** Pass-2 row outputs, kept from call to call (grown when needed). */
function narrowBuffer(length: number): Float64Array {
  if (narrowStore.length < length) narrowStore = new Float64Array(length);
  return narrowStore;
}

/** `computeJaroszFilterWindowSize(old, 64)`: ceil(old / 128). */
export function windowSize(length: number): number {
  return Math.trunc((length + 2 * 64 - 1) / (2 * 64));
}

/** Decimation picks pixel centres: (int)(((i + 0.5) * length) / 64). */
export function samplePositions(length: number): Int32Array {
  const out = new Int32Array(64);
  for (let i = 0; i < 64; i++) out[i] = Math.trunc(((i + 0.5) * length) / 64);
  return out;
}

/**
 * Pass 2 along columns over the 64 sampled columns, keeping the sampled rows:
 * the 64x64 matrix A. `narrow` holds the pass-2 row outputs, row t at
 * `(t + fw) * 64`, with fw zero rows before row 0 and half - 1 after the last
 * (zero padding as in pdq-kernels.ts). Eight columns advance together, like
 * the lanes of a block, with sums in registers.
 */
function columnsAtSamples(
  narrow: Float64Array,
  len: number,
  fw: number,
  rows: Int32Array,
): Float64Array {
  const half = (fw + 2) >> 1;
  const out = new Float64Array(64 * 64);
  for (let c = 0; c < 64; c += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0; // prettier-ignore
    let t = 0; // step t adds row t and subtracts row t - fw
    for (let j = 0; j < 64; j++) {
      // Output row o is ready after step o + half - 1; rows repeat when len < 64.
      for (const end = rows[j] + half; t < end; t++) {
        const p = (t + fw) * 64 + c;
        const q = t * 64 + c;
        s0 = f(f(s0 + narrow[p]) - narrow[q]);
        s1 = f(f(s1 + narrow[p + 1]) - narrow[q + 1]);
        s2 = f(f(s2 + narrow[p + 2]) - narrow[q + 2]);
        s3 = f(f(s3 + narrow[p + 3]) - narrow[q + 3]);
        s4 = f(f(s4 + narrow[p + 4]) - narrow[q + 4]);
        s5 = f(f(s5 + narrow[p + 5]) - narrow[q + 5]);
        s6 = f(f(s6 + narrow[p + 6]) - narrow[q + 6]);
        s7 = f(f(s7 + narrow[p + 7]) - narrow[q + 7]);
      }
      const inv = 1 / countAt(rows[j] + half - 1, len, fw);
      const o = j * 64 + c;
      out[o] = f(s0 * inv);
      out[o + 1] = f(s1 * inv);
      out[o + 2] = f(s2 * inv);
      out[o + 3] = f(s3 * inv);
      out[o + 4] = f(s4 * inv);
      out[o + 5] = f(s5 * inv);
      out[o + 6] = f(s6 * inv);
      out[o + 7] = f(s7 * inv);
    }
  }
  return out;
}
