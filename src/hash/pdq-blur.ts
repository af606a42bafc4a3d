import { ROW_BLOCK, boxRows, boxRowsAtSamples, reciprocals } from './pdq-box-rows.js';
import type { LumaSource } from './pdq-luma.js';

const f = Math.fround;

/**
 * The reference's two-pass Jarosz box filter followed by 64x64 decimation,
 * bit for bit, but streamed.
 *
 * The reference blurs the whole image four times (rows, columns, rows,
 * columns) and then reads 64x64 pixel centres. Only those 4096 outputs
 * matter, so here:
 *  - pass 1 rows and pass 1 columns run over the whole image, a block of rows
 *    at a time; the column filter advances all columns in lock-step with one
 *    running sum per column, which keeps each column's order of float32
 *    operations and stays in cache (the reference's column walk does not);
 *  - pass 2 rows keeps its full running sums but outputs only the 64 sampled
 *    columns;
 *  - pass 2 columns runs over those 64 columns only.
 * Every kept value comes from exactly the reference's sequence of float32
 * operations, so the result is identical.
 */
export function blurAndDecimate(source: LumaSource): Float32Array {
  const { width: W, height: H } = source;
  const fwRow = windowSize(W);
  const fwCol = windowSize(H);
  const halfCol = (fwCol + 2) >> 1;
  const rcpRow = reciprocals(fwRow);
  const rcpCol = reciprocals(fwCol);
  const sampleCols = samplePositions(W);

  // Pass 1 row outputs, kept while the column filter still needs them
  // (row t and row t - fwCol). A multiple of ROW_BLOCK so a block never wraps.
  const ringRows = Math.ceil((fwCol + ROW_BLOCK) / ROW_BLOCK) * ROW_BLOCK;
  const rowBlurred = new Float64Array(ringRows * W);
  const luma = new Float64Array(ROW_BLOCK * W);
  const colSum = new Float64Array(W);
  // Pass 1 column outputs waiting for pass 2 rows (a block of ROW_BLOCK
  // rows), and pass 2 row outputs at the sampled columns for every row.
  const colBlurred = new Float64Array(ROW_BLOCK * W);
  const narrow = new Float32Array(H * 64);
  let pending = 0; // rows waiting in colBlurred
  let emitted = 0; // rows already in narrow

  // Column-filter step t adds pass-1 row t, subtracts row t - fwCol once the
  // window is full, and outputs row t - halfCol + 1 once there is one.
  for (let t = 0; t < H + halfCol - 1; t++) {
    if (t < H && t % ROW_BLOCK === 0) {
      const rows = Math.min(ROW_BLOCK, H - t);
      for (let k = 0; k < rows; k++) source.readRow(t + k, luma, k * W);
      boxRows(luma, 0, rows, W, fwRow, rcpRow, rowBlurred, (t % ringRows) * W);
    }
    const add = (t % ringRows) * W;
    const sub = ((t - fwCol + ringRows) % ringRows) * W;
    const out = pending * W;
    if (t >= fwCol && t < H) {
      columnStep(colSum, rowBlurred, add, sub, W, rcpCol[fwCol], colBlurred, out);
    } else {
      if (t < H) columnAdd(colSum, rowBlurred, add, W);
      else columnSubtract(colSum, rowBlurred, sub, W);
      if (t < halfCol - 1) continue;
      const n = t < fwCol ? t + 1 : fwCol - (t - H + 1);
      columnOutput(colSum, W, rcpCol[n], colBlurred, out);
    }
    if (++pending === ROW_BLOCK || t === H + halfCol - 2) {
      boxRowsAtSamples(colBlurred, 0, pending, W, fwRow, rcpRow, sampleCols, narrow, emitted * 64);
      emitted += pending;
      pending = 0;
    }
  }

  return columnsAtSamples(narrow, H, fwCol, rcpCol, samplePositions(H));
}

function columnAdd(colSum: Float64Array, rows: Float64Array, add: number, W: number): void {
  for (let c = 0; c < W; c++) colSum[c] = f(colSum[c] + rows[add + c]);
}

function columnSubtract(colSum: Float64Array, rows: Float64Array, sub: number, W: number): void {
  for (let c = 0; c < W; c++) colSum[c] = f(colSum[c] - rows[sub + c]);
}

function columnOutput(
  colSum: Float64Array,
  W: number,
  inv: number,
  out: Float64Array,
  outOff: number,
): void {
  for (let c = 0; c < W; c++) out[outOff + c] = f(colSum[c] * inv);
}

/** One step of the column filter in its middle phase, all columns at once. */
function columnStep(
  colSum: Float64Array,
  rows: Float64Array,
  add: number,
  sub: number,
  W: number,
  inv: number,
  out: Float64Array,
  outOff: number,
): void {
  let c = 0;
  for (; c + 1 < W; c += 2) {
    const s0 = f(f(colSum[c] + rows[add + c]) - rows[sub + c]);
    const s1 = f(f(colSum[c + 1] + rows[add + c + 1]) - rows[sub + c + 1]);
    colSum[c] = s0;
    colSum[c + 1] = s1;
    out[outOff + c] = f(s0 * inv);
    out[outOff + c + 1] = f(s1 * inv);
  }
  for (; c < W; c++) {
    const s = f(f(colSum[c] + rows[add + c]) - rows[sub + c]);
    colSum[c] = s;
    out[outOff + c] = f(s * inv);
  }
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
 * Pass 2 along columns over the 64 sampled columns (`narrow` is len x 64),
 * keeping the sampled rows: the 64x64 matrix A.
 */
function columnsAtSamples(
  narrow: Float32Array,
  len: number,
  fw: number,
  rcp: Float64Array,
  rows: Int32Array,
): Float32Array {
  const half = (fw + 2) >> 1;
  const out = new Float32Array(64 * 64);
  const sum = new Float64Array(64);
  let next = 0;
  for (let t = 0; t < len + half - 1 && next < 64; t++) {
    const add = t * 64;
    const sub = (t - fw) * 64;
    if (t < fw) for (let c = 0; c < 64; c++) sum[c] = f(sum[c] + narrow[add + c]);
    else if (t < len)
      for (let c = 0; c < 64; c++) sum[c] = f(f(sum[c] + narrow[add + c]) - narrow[sub + c]);
    else for (let c = 0; c < 64; c++) sum[c] = f(sum[c] - narrow[sub + c]);
    const o = t - half + 1;
    if (o < 0) continue;
    const inv = rcp[t < fw ? t + 1 : t < len ? fw : fw - (t - len + 1)];
    // Several sample rows coincide when the image has fewer than 64 rows.
    while (next < 64 && rows[next] === o) {
      for (let c = 0; c < 64; c++) out[next * 64 + c] = sum[c] * inv;
      next++;
    }
  }
  return out;
}
