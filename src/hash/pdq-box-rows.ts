/**
 * Row kernels of the reference's `box1DFloat`, bit for bit.
 *
 * A box filter along a row is a running float32 sum: a serial chain of
 * rounded additions and subtractions, each a double operation plus two
 * conversions in a JIT. One row at a time leaves the CPU waiting on that
 * chain, so the middle of the row (where every step adds one value and
 * subtracts another) runs eight rows in one loop. Each row keeps exactly the
 * reference's order of operations; the rows just overlap in time.
 *
 * Division by the window count is replaced by multiplication with the
 * reciprocal: for a float32 sum s and an integer n, round32(s * (1/n)) equals
 * round32(s / n), because s / n is never exactly halfway between two float32
 * values and the double product is far closer to it than any such midpoint.
 * (pdq.test.ts checks the whole filter against a literal port on random images.)
 *
 * Phases for window fw, half = (fw + 2) >> 1, row length len: steps 0..half-2
 * add; steps half-1..fw-1 add and output with n = step + 1; steps fw..len-1
 * add, subtract and output with n = fw; steps len..len+half-2 subtract and
 * output with n shrinking. Output o is produced at step o + half - 1.
 */

const f = Math.fround;

export const ROW_BLOCK = 8;

/** 1/n for n = 0..fw (index 0 unused). */
export function reciprocals(fw: number): Float64Array {
  const r = new Float64Array(fw + 1);
  for (let n = 1; n <= fw; n++) r[n] = 1 / n;
  return r;
}

/** Window count at output step `step` (see the phases above). */
function countAt(step: number, len: number, fw: number): number {
  return step < fw ? step + 1 : step < len ? fw : fw - (step - len + 1);
}

/**
 * Filters `rows` rows of `len` values starting at `src[srcOff]` (stride len)
 * into `dst[dstOff]` (stride len). Eight rows at a time when possible.
 */
export function boxRows(
  src: Float64Array,
  srcOff: number,
  rows: number,
  len: number,
  fw: number,
  rcp: Float64Array,
  dst: Float64Array,
  dstOff: number,
): void {
  const half = (fw + 2) >> 1;
  const sums = new Float64Array(ROW_BLOCK);
  let r = 0;
  for (; r + ROW_BLOCK <= rows; r += ROW_BLOCK) {
    for (let k = 0; k < ROW_BLOCK; k++) {
      const s = srcOff + (r + k) * len;
      const d = dstOff + (r + k) * len;
      sums[k] = rowHead(src, s, fw, half, rcp, dst, d);
    }
    rowMiddle8(src, srcOff + r * len, len, fw, rcp[fw], sums, dst, dstOff + r * len);
    for (let k = 0; k < ROW_BLOCK; k++) {
      const s = srcOff + (r + k) * len;
      const d = dstOff + (r + k) * len;
      rowTail(src, s, len, fw, half, rcp, sums[k], dst, d);
    }
  }
  for (; r < rows; r++) {
    const s = srcOff + r * len;
    const d = dstOff + r * len;
    let sum = rowHead(src, s, fw, half, rcp, dst, d);
    const inv = rcp[fw];
    for (let i = fw; i < len; i++) {
      sum = f(f(sum + src[s + i]) - src[s + i - fw]);
      dst[d + i - half + 1] = f(sum * inv);
    }
    rowTail(src, s, len, fw, half, rcp, sum, dst, d);
  }
}

/** Steps 0..fw-1 of one row; returns the running sum. */
function rowHead(
  src: Float64Array,
  s: number,
  fw: number,
  half: number,
  rcp: Float64Array,
  dst: Float64Array,
  d: number,
): number {
  let sum = 0;
  let i = 0;
  for (; i < half - 1; i++) sum = f(sum + src[s + i]);
  for (; i < fw; i++) {
    sum = f(sum + src[s + i]);
    dst[d + i - half + 1] = f(sum * rcp[i + 1]);
  }
  return sum;
}

/** Steps len..len+half-2 of one row. */
function rowTail(
  src: Float64Array,
  s: number,
  len: number,
  fw: number,
  half: number,
  rcp: Float64Array,
  sum: number,
  dst: Float64Array,
  d: number,
): void {
  for (let step = len; step < len + half - 1; step++) {
    sum = f(sum - src[s + step - fw]);
    dst[d + step - half + 1] = f(sum * rcp[countAt(step, len, fw)]);
  }
}

/** Steps fw..len-1 of eight consecutive rows, interleaved. */
function rowMiddle8(
  src: Float64Array,
  s0: number,
  len: number,
  fw: number,
  inv: number,
  sums: Float64Array,
  dst: Float64Array,
  d0: number,
): void {
  const s1 = s0 + len, s2 = s1 + len, s3 = s2 + len, s4 = s3 + len, s5 = s4 + len, s6 = s5 + len, s7 = s6 + len; // prettier-ignore
  let a0 = sums[0], a1 = sums[1], a2 = sums[2], a3 = sums[3], a4 = sums[4], a5 = sums[5], a6 = sums[6], a7 = sums[7]; // prettier-ignore
  // dst index of output (step - half + 1) is d + step - shift
  const shift = ((fw + 2) >> 1) - 1;
  for (let i = fw; i < len; i++) {
    const l = i - fw;
    const o = d0 + i - shift;
    a0 = f(f(a0 + src[s0 + i]) - src[s0 + l]);
    a1 = f(f(a1 + src[s1 + i]) - src[s1 + l]);
    a2 = f(f(a2 + src[s2 + i]) - src[s2 + l]);
    a3 = f(f(a3 + src[s3 + i]) - src[s3 + l]);
    a4 = f(f(a4 + src[s4 + i]) - src[s4 + l]);
    a5 = f(f(a5 + src[s5 + i]) - src[s5 + l]);
    a6 = f(f(a6 + src[s6 + i]) - src[s6 + l]);
    a7 = f(f(a7 + src[s7 + i]) - src[s7 + l]);
    dst[o] = f(a0 * inv);
    dst[o + len] = f(a1 * inv);
    dst[o + 2 * len] = f(a2 * inv);
    dst[o + 3 * len] = f(a3 * inv);
    dst[o + 4 * len] = f(a4 * inv);
    dst[o + 5 * len] = f(a5 * inv);
    dst[o + 6 * len] = f(a6 * inv);
    dst[o + 7 * len] = f(a7 * inv);
  }
  sums[0] = a0;
  sums[1] = a1;
  sums[2] = a2;
  sums[3] = a3;
  sums[4] = a4;
  sums[5] = a5;
  sums[6] = a6;
  sums[7] = a7;
}

/**
 * Like `boxRows`, but keeps only the outputs at the 64 sample columns `cols`
 * (ascending): row r's output at cols[j] goes to `dst[dstOff + r * 64 + j]`.
 * The running sums still visit every value.
 */
export function boxRowsAtSamples(
  src: Float64Array,
  srcOff: number,
  rows: number,
  len: number,
  fw: number,
  rcp: Float64Array,
  cols: Int32Array,
  dst: Float32Array,
  dstOff: number,
): void {
  const half = (fw + 2) >> 1;
  let r = 0;
  for (; r + ROW_BLOCK <= rows; r += ROW_BLOCK) {
    samples8(src, srcOff + r * len, len, fw, half, rcp, cols, dst, dstOff + r * 64);
  }
  for (; r < rows; r++)
    samples1(src, srcOff + r * len, len, fw, half, rcp, cols, dst, dstOff + r * 64);
}

function samples1(
  src: Float64Array,
  s: number,
  len: number,
  fw: number,
  half: number,
  rcp: Float64Array,
  cols: Int32Array,
  dst: Float32Array,
  d: number,
): void {
  let sum = 0;
  let step = 0;
  for (let j = 0; j < 64; j++) {
    const last = cols[j] + half - 1;
    for (; step <= last && step < fw; step++) sum = f(sum + src[s + step]);
    for (const end = Math.min(last, len - 1); step <= end; step++) {
      sum = f(f(sum + src[s + step]) - src[s + step - fw]);
    }
    for (; step <= last; step++) sum = f(sum - src[s + step - fw]);
    dst[d + j] = sum * rcp[countAt(last, len, fw)];
  }
}

function samples8(
  src: Float64Array,
  s0: number,
  len: number,
  fw: number,
  half: number,
  rcp: Float64Array,
  cols: Int32Array,
  dst: Float32Array,
  d: number,
): void {
  const s1 = s0 + len, s2 = s1 + len, s3 = s2 + len, s4 = s3 + len, s5 = s4 + len, s6 = s5 + len, s7 = s6 + len; // prettier-ignore
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0; // prettier-ignore
  let step = 0;
  for (let j = 0; j < 64; j++) {
    const last = cols[j] + half - 1;
    for (; step <= last && step < fw; step++) {
      a0 = f(a0 + src[s0 + step]);
      a1 = f(a1 + src[s1 + step]);
      a2 = f(a2 + src[s2 + step]);
      a3 = f(a3 + src[s3 + step]);
      a4 = f(a4 + src[s4 + step]);
      a5 = f(a5 + src[s5 + step]);
      a6 = f(a6 + src[s6 + step]);
      a7 = f(a7 + src[s7 + step]);
    }
    for (const end = Math.min(last, len - 1); step <= end; step++) {
      const l = step - fw;
      a0 = f(f(a0 + src[s0 + step]) - src[s0 + l]);
      a1 = f(f(a1 + src[s1 + step]) - src[s1 + l]);
      a2 = f(f(a2 + src[s2 + step]) - src[s2 + l]);
      a3 = f(f(a3 + src[s3 + step]) - src[s3 + l]);
      a4 = f(f(a4 + src[s4 + step]) - src[s4 + l]);
      a5 = f(f(a5 + src[s5 + step]) - src[s5 + l]);
      a6 = f(f(a6 + src[s6 + step]) - src[s6 + l]);
      a7 = f(f(a7 + src[s7 + step]) - src[s7 + l]);
    }
    for (; step <= last; step++) {
      const l = step - fw;
      a0 = f(a0 - src[s0 + l]);
      a1 = f(a1 - src[s1 + l]);
      a2 = f(a2 - src[s2 + l]);
      a3 = f(a3 - src[s3 + l]);
      a4 = f(a4 - src[s4 + l]);
      a5 = f(a5 - src[s5 + l]);
      a6 = f(a6 - src[s6 + l]);
      a7 = f(a7 - src[s7 + l]);
    }
    const inv = rcp[countAt(last, len, fw)];
    dst[d + j] = f(a0 * inv);
    dst[d + 64 + j] = f(a1 * inv);
    dst[d + 128 + j] = f(a2 * inv);
    dst[d + 192 + j] = f(a3 * inv);
    dst[d + 256 + j] = f(a4 * inv);
    dst[d + 320 + j] = f(a5 * inv);
    dst[d + 384 + j] = f(a6 * inv);
    dst[d + 448 + j] = f(a7 * inv);
  }
}
