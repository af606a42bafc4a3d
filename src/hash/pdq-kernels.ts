/**
 * The hot loops of the PDQ blur (pdq-blur.ts), bit for bit with the
 * reference's `box1DFloat`, and the luma they read.
 *
 * A box filter along a row is a running float32 sum: a serial chain of
 * rounded additions and subtractions, each a double operation plus two
 * conversions in a JIT. One row at a time leaves the CPU waiting on that
 * chain, so the kernels run eight rows ("lanes") together. Each lane keeps
 * exactly the reference's order of operations; the lanes just overlap.
 *
 * Block layout: the eight rows are interleaved, value (lane k, column x) at
 * `at + x * 8 + k`. One index then addresses all eight lanes with constant
 * offsets, so a loop needs one induction variable instead of eight row
 * pointers, and the eight values of a column share one cache line.
 *
 * Inputs carry zero padding: `fw` zero columns before column 0 and at least
 * `half - 1` after the last one. Then every step is "add the new value,
 * subtract the one leaving the window", without the reference's separate
 * head and tail phases: adding or subtracting a zero returns the float32 sum
 * unchanged (the sum is never -0: sums of non-negative values, and x - x is
 * +0), so f(f(s + x) - 0) = f(s + x) and f(f(s + 0) - y) = f(s - y), exactly
 * what those phases compute. Only the divisor changes, and it comes from a
 * per-step table.
 *
 * Division by the window count is replaced by multiplication with the
 * reciprocal: for a float32 sum s and an integer n, round32(s * (1/n)) equals
 * round32(s / n), because s / n is never exactly halfway between two float32
 * values and the double product is far closer to it than any such midpoint.
 * (pdq.test.ts checks the whole filter against a literal port on random images.)
 *
 * Phases for window fw, half = (fw + 2) >> 1, row length len: output o is
 * produced at step o + half - 1, and the window count at step s is
 * `countAt(s, len, fw)`.
 *
 * Shaped for a JIT (measured in V8; each point removes work a JIT does on
 * every access or every call, so other engines should not mind):
 *  - One working buffer, `WORK.buf`, read from a module-level constant object
 *    inside each kernel rather than passed in: its base and length then
 *    become constants in the compiled code instead of being reloaded and
 *    re-checked on every iteration (about 10% of the blur). This only works
 *    within one module, hence one module for all kernels and the luma tables.
 *  - Bounded indices. Every index into the buffer is below 2^28
 *    (`blurAndDecimate` checks). `i & SMALL` changes nothing then, but tells
 *    the JIT the range, so it can prove that `base + x * 8 + 7` does not
 *    overflow int32 and drops the overflow check it otherwise emits for every
 *    index. SMALL is declared in each kernel: a module-level number is
 *    reloaded (with a check) on every use, and the range needs a constant.
 *  - Short calls. Each call processes at most CHUNK steps and keeps its
 *    running sums in the buffer between calls. A kernel whose first call runs
 *    a long loop gets compiled in the middle of that call, before the lines
 *    around the loop have type feedback; that code is thrown away when they
 *    run, and V8 then keeps entering the loop through on-stack-replacement
 *    code in which the running sums are boxed numbers: 2-3x slower, for the
 *    rest of the process. With short calls every line has run before the
 *    compiler sees the kernel.
 */

const f = Math.fround;

/** Rows (or columns) processed together; the layouts above assume 8. */
export const LANES = 8;

/** Most steps (columns) a kernel call processes; see "Short calls". */
export const CHUNK = 256;

/** Indices into the working buffer stay at or below this; see "Bounded indices". */
export const MAX_INDEX = 0xfffffff;

/** Window count at step `step`: growing, full, then shrinking. */
export function countAt(step: number, len: number, fw: number): number {
  return step < fw ? step + 1 : step < len ? fw : fw - (step - len + 1);
}

// The working buffer (see "One working buffer"). 8 MiB holds everything a
// 48-megapixel photo needs; the pages a smaller image never touches are never
// committed. A larger image replaces it, which costs the constant-base
// speed-up from then on, never correctness.
const WORK = { buf: new Float64Array(2 ** 20) };

/** The working buffer, with room for `length` values. */
export function workBuffer(length: number): Float64Array {
  if (WORK.buf.length < length) WORK.buf = new Float64Array(length);
  return WORK.buf;
}

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

// f(R_TABLE[r] + G_TABLE[g]) at index r | g << 8, the reference's first
// rounded sum, for rgbRows8: one lookup instead of two lookups, an addition
// and a rounding. Float32 (exact for these values) to keep it at 256 KiB.
const RG_TABLE = new Float32Array(65536);
let rgTableFilled = false;

/** Fills RG_TABLE; called before the first `rgbRows8`. */
export function fillRgTable(): void {
  if (rgTableFilled) return;
  for (let g = 0; g < 256; g++) {
    for (let r = 0; r < 256; r++) RG_TABLE[r | (g << 8)] = f(R_TABLE[r] + G_TABLE[g]);
  }
  rgTableFilled = true;
}

/**
 * Luma of the pixels at `data[row + columns[x]]`, x in [from, to), into
 * `out[offset + x * 8]`: Y = ((0.299 R + 0.587 G) + 0.114 B) in float32.
 */
export function rgbRow(
  data: Uint8Array | Uint8ClampedArray,
  row: number,
  columns: Int32Array,
  from: number,
  to: number,
  out: Float64Array,
  offset: number,
): void {
  for (let x = from; x < to; x++) {
    const p = row + columns[x];
    out[offset + x * 8] = f(f(R_TABLE[data[p]] + G_TABLE[data[p + 1]]) + B_TABLE[data[p + 2]]);
  }
}

/** Like `rgbRow` for grey images: Y = v. */
export function greyRow(
  data: Uint8Array | Uint8ClampedArray,
  row: number,
  columns: Int32Array,
  from: number,
  to: number,
  out: Float64Array,
  offset: number,
): void {
  for (let x = from; x < to; x++) out[offset + x * 8] = data[row + columns[x]];
}

/**
 * Luma of eight image rows fused with steps [from, to) of pass 1 of the row
 * filter, for steps below the row length (`boxRows8` does the rest, same
 * float32 operations). Each new luma value enters its row's running sum
 * straight from a register, and is also stored in the padded luma block at
 * `src`, because it leaves the window fw steps later. Rows start at byte
 * `pixel`, `pixel + rowBytes`, ...; all eight must exist, plus one byte after
 * the last pixel read. Sums and outputs as for `boxRows8`.
 *
 * One little-endian 32-bit read gets a pixel's R, G and B (and a byte of the
 * next pixel, or alpha): a JIT checks bounds and computes an address for
 * every typed-array access, so one read instead of three byte reads saves
 * more than the shifts and masks cost. R and G then index RG_TABLE.
 */
export function rgbRows8(
  pixels: DataView,
  pixel: number,
  rowBytes: number,
  channels: number,
  src: number,
  fw: number,
  invAt: number,
  dst: number,
  sums: number,
  from: number,
  to: number,
): void {
  const buf = WORK.buf;
  // Bounded indices: the caller checks that pixel indices are below 2^30 and
  // rows below 2^26 bytes, so p + 7 * row + 3 stays in int32.
  const SMALL = 0xfffffff;
  const base = pixel & 0x3fffffff;
  const row = rowBytes & 0x3ffffff;
  const ch = channels & 7;
  const half = (fw + 2) >> 1;
  const leave = src & SMALL;
  const enter = (src + fw * 8) & SMALL;
  const out = (dst - (half - 1) * 8) & SMALL;
  const inverse = invAt & SMALL;
  const st = sums & SMALL;
  let a0 = buf[st], a1 = buf[st + 1], a2 = buf[st + 2], a3 = buf[st + 3]; // prettier-ignore
  let a4 = buf[st + 4], a5 = buf[st + 5], a6 = buf[st + 6], a7 = buf[st + 7]; // prettier-ignore
  for (let s = from & 0xffffff, n = to & 0xffffff; s < n; s++) {
    const e = enter + s * 8;
    const q = leave + s * 8;
    const o = out + s * 8;
    const inv = buf[inverse + s];
    let p = base + s * ch;
    let w = pixels.getUint32(p, true); // R | G << 8 | B << 16 | next << 24
    const y0 = f(RG_TABLE[w & 0xffff] + B_TABLE[(w >>> 16) & 255]);
    w = pixels.getUint32((p += row), true);
    const y1 = f(RG_TABLE[w & 0xffff] + B_TABLE[(w >>> 16) & 255]);
    w = pixels.getUint32((p += row), true);
    const y2 = f(RG_TABLE[w & 0xffff] + B_TABLE[(w >>> 16) & 255]);
    w = pixels.getUint32((p += row), true);
    const y3 = f(RG_TABLE[w & 0xffff] + B_TABLE[(w >>> 16) & 255]);
    w = pixels.getUint32((p += row), true);
    const y4 = f(RG_TABLE[w & 0xffff] + B_TABLE[(w >>> 16) & 255]);
    w = pixels.getUint32((p += row), true);
    const y5 = f(RG_TABLE[w & 0xffff] + B_TABLE[(w >>> 16) & 255]);
    w = pixels.getUint32((p += row), true);
    const y6 = f(RG_TABLE[w & 0xffff] + B_TABLE[(w >>> 16) & 255]);
    w = pixels.getUint32(p + row, true);
    const y7 = f(RG_TABLE[w & 0xffff] + B_TABLE[(w >>> 16) & 255]);
    buf[e] = y0;
    buf[e + 1] = y1;
    buf[e + 2] = y2;
    buf[e + 3] = y3;
    buf[e + 4] = y4;
    buf[e + 5] = y5;
    buf[e + 6] = y6;
    buf[e + 7] = y7;
    a0 = f(f(a0 + y0) - buf[q]);
    a1 = f(f(a1 + y1) - buf[q + 1]);
    a2 = f(f(a2 + y2) - buf[q + 2]);
    a3 = f(f(a3 + y3) - buf[q + 3]);
    a4 = f(f(a4 + y4) - buf[q + 4]);
    a5 = f(f(a5 + y5) - buf[q + 5]);
    a6 = f(f(a6 + y6) - buf[q + 6]);
    a7 = f(f(a7 + y7) - buf[q + 7]);
    buf[o] = f(a0 * inv);
    buf[o + 1] = f(a1 * inv);
    buf[o + 2] = f(a2 * inv);
    buf[o + 3] = f(a3 * inv);
    buf[o + 4] = f(a4 * inv);
    buf[o + 5] = f(a5 * inv);
    buf[o + 6] = f(a6 * inv);
    buf[o + 7] = f(a7 * inv);
  }
  buf[st] = a0;
  buf[st + 1] = a1;
  buf[st + 2] = a2;
  buf[st + 3] = a3;
  buf[st + 4] = a4;
  buf[st + 5] = a5;
  buf[st + 6] = a6;
  buf[st + 7] = a7;
}

/**
 * `rgbRows8` for grey images: Y = v, the first byte of each pixel.
 */
export function greyRows8(
  pixels: DataView,
  pixel: number,
  rowBytes: number,
  channels: number,
  src: number,
  fw: number,
  invAt: number,
  dst: number,
  sums: number,
  from: number,
  to: number,
): void {
  const buf = WORK.buf;
  const SMALL = 0xfffffff;
  const base = pixel & 0x3fffffff;
  const row = rowBytes & 0x3ffffff;
  const ch = channels & 7;
  const half = (fw + 2) >> 1;
  const leave = src & SMALL;
  const enter = (src + fw * 8) & SMALL;
  const out = (dst - (half - 1) * 8) & SMALL;
  const inverse = invAt & SMALL;
  const st = sums & SMALL;
  let a0 = buf[st], a1 = buf[st + 1], a2 = buf[st + 2], a3 = buf[st + 3]; // prettier-ignore
  let a4 = buf[st + 4], a5 = buf[st + 5], a6 = buf[st + 6], a7 = buf[st + 7]; // prettier-ignore
  for (let s = from & 0xffffff, n = to & 0xffffff; s < n; s++) {
    const e = enter + s * 8;
    const q = leave + s * 8;
    const o = out + s * 8;
    const inv = buf[inverse + s];
    let p = base + s * ch;
    const y0 = pixels.getUint8(p);
    const y1 = pixels.getUint8((p += row));
    const y2 = pixels.getUint8((p += row));
    const y3 = pixels.getUint8((p += row));
    const y4 = pixels.getUint8((p += row));
    const y5 = pixels.getUint8((p += row));
    const y6 = pixels.getUint8((p += row));
    const y7 = pixels.getUint8(p + row);
    buf[e] = y0;
    buf[e + 1] = y1;
    buf[e + 2] = y2;
    buf[e + 3] = y3;
    buf[e + 4] = y4;
    buf[e + 5] = y5;
    buf[e + 6] = y6;
    buf[e + 7] = y7;
    a0 = f(f(a0 + y0) - buf[q]);
    a1 = f(f(a1 + y1) - buf[q + 1]);
    a2 = f(f(a2 + y2) - buf[q + 2]);
    a3 = f(f(a3 + y3) - buf[q + 3]);
    a4 = f(f(a4 + y4) - buf[q + 4]);
    a5 = f(f(a5 + y5) - buf[q + 5]);
    a6 = f(f(a6 + y6) - buf[q + 6]);
    a7 = f(f(a7 + y7) - buf[q + 7]);
    buf[o] = f(a0 * inv);
    buf[o + 1] = f(a1 * inv);
    buf[o + 2] = f(a2 * inv);
    buf[o + 3] = f(a3 * inv);
    buf[o + 4] = f(a4 * inv);
    buf[o + 5] = f(a5 * inv);
    buf[o + 6] = f(a6 * inv);
    buf[o + 7] = f(a7 * inv);
  }
  buf[st] = a0;
  buf[st + 1] = a1;
  buf[st + 2] = a2;
  buf[st + 3] = a3;
  buf[st + 4] = a4;
  buf[st + 5] = a5;
  buf[st + 6] = a6;
  buf[st + 7] = a7;
}

/**
 * Steps [from, to) of pass 1 along rows for one block of eight rows.
 * Input: the padded block at `src` (column x at `src + (x + fw) * 8`).
 * Step s writes output s - half + 1 to `dst + (s - half + 1) * 8`: the first
 * half - 1 steps write into a gap the caller leaves before `dst`.
 * `buf[invAt + s]` is 1 / the window count of step s; the eight running sums
 * are `buf[sums .. sums + 7]`.
 */
export function boxRows8(
  src: number,
  fw: number,
  invAt: number,
  dst: number,
  sums: number,
  from: number,
  to: number,
): void {
  const buf = WORK.buf;
  const SMALL = 0xfffffff;
  const half = (fw + 2) >> 1;
  const leave = src & SMALL; // column s - fw leaves at step s
  const enter = (src + fw * 8) & SMALL; // column s enters
  const out = (dst - (half - 1) * 8) & SMALL;
  const inverse = invAt & SMALL;
  const st = sums & SMALL;
  let a0 = buf[st], a1 = buf[st + 1], a2 = buf[st + 2], a3 = buf[st + 3]; // prettier-ignore
  let a4 = buf[st + 4], a5 = buf[st + 5], a6 = buf[st + 6], a7 = buf[st + 7]; // prettier-ignore
  for (let s = from & 0xffffff, n = to & 0xffffff; s < n; s++) {
    const p = enter + s * 8;
    const q = leave + s * 8;
    const o = out + s * 8;
    const inv = buf[inverse + s];
    a0 = f(f(a0 + buf[p]) - buf[q]);
    a1 = f(f(a1 + buf[p + 1]) - buf[q + 1]);
    a2 = f(f(a2 + buf[p + 2]) - buf[q + 2]);
    a3 = f(f(a3 + buf[p + 3]) - buf[q + 3]);
    a4 = f(f(a4 + buf[p + 4]) - buf[q + 4]);
    a5 = f(f(a5 + buf[p + 5]) - buf[q + 5]);
    a6 = f(f(a6 + buf[p + 6]) - buf[q + 6]);
    a7 = f(f(a7 + buf[p + 7]) - buf[q + 7]);
    buf[o] = f(a0 * inv);
    buf[o + 1] = f(a1 * inv);
    buf[o + 2] = f(a2 * inv);
    buf[o + 3] = f(a3 * inv);
    buf[o + 4] = f(a4 * inv);
    buf[o + 5] = f(a5 * inv);
    buf[o + 6] = f(a6 * inv);
    buf[o + 7] = f(a7 * inv);
  }
  buf[st] = a0;
  buf[st + 1] = a1;
  buf[st + 2] = a2;
  buf[st + 3] = a3;
  buf[st + 4] = a4;
  buf[st + 5] = a5;
  buf[st + 6] = a6;
  buf[st + 7] = a7;
}

/**
 * Samples [from, to) of pass 2 along rows for one block of eight rows,
 * keeping only the outputs at the 64 sample columns `cols` (ascending,
 * possibly repeated): lane k's output at cols[j] goes to
 * `out[dst + k * 64 + j]`. The running sums still visit every column; they
 * are `buf[sums .. sums + 7]`, and `buf[sums + 8]` is the next step. Input
 * padded as for `boxRows8`; `buf[invAt + j]` is 1 / the window count at
 * sample j.
 */
export function boxSamples8(
  src: number,
  fw: number,
  cols: Int32Array,
  invAt: number,
  out: Float64Array,
  dst: number,
  sums: number,
  from: number,
  to: number,
): void {
  const buf = WORK.buf;
  const SMALL = 0xfffffff;
  const half = (fw + 2) >> 1;
  const leave = src & SMALL;
  const enter = (src + fw * 8) & SMALL;
  const inverse = invAt & SMALL;
  const st = sums & SMALL;
  let a0 = buf[st], a1 = buf[st + 1], a2 = buf[st + 2], a3 = buf[st + 3]; // prettier-ignore
  let a4 = buf[st + 4], a5 = buf[st + 5], a6 = buf[st + 6], a7 = buf[st + 7]; // prettier-ignore
  let s = buf[st + 8] & 0xffffff;
  for (let j = from & 63, m = to & 127; j < m; j++) {
    // The output at column c is ready after step c + half - 1.
    for (const end = (cols[j] + half) & 0xffffff; s < end; s++) {
      const p = enter + s * 8;
      const q = leave + s * 8;
      a0 = f(f(a0 + buf[p]) - buf[q]);
      a1 = f(f(a1 + buf[p + 1]) - buf[q + 1]);
      a2 = f(f(a2 + buf[p + 2]) - buf[q + 2]);
      a3 = f(f(a3 + buf[p + 3]) - buf[q + 3]);
      a4 = f(f(a4 + buf[p + 4]) - buf[q + 4]);
      a5 = f(f(a5 + buf[p + 5]) - buf[q + 5]);
      a6 = f(f(a6 + buf[p + 6]) - buf[q + 6]);
      a7 = f(f(a7 + buf[p + 7]) - buf[q + 7]);
    }
    const inv = buf[inverse + j];
    const d = dst + j;
    out[d] = f(a0 * inv);
    out[d + 64] = f(a1 * inv);
    out[d + 128] = f(a2 * inv);
    out[d + 192] = f(a3 * inv);
    out[d + 256] = f(a4 * inv);
    out[d + 320] = f(a5 * inv);
    out[d + 384] = f(a6 * inv);
    out[d + 448] = f(a7 * inv);
  }
  buf[st] = a0;
  buf[st + 1] = a1;
  buf[st + 2] = a2;
  buf[st + 3] = a3;
  buf[st + 4] = a4;
  buf[st + 5] = a5;
  buf[st + 6] = a6;
  buf[st + 7] = a7;
  buf[st + 8] = s;
}

// Per column step: add-row, subtract-row and output offsets (see
// columnSteps). Not exported, so that it stays a compile-time constant
// there; `setColumnStep` fills it.
const STEP_OFFSETS = new Int32Array(3 * LANES);

/** Sets column step k's add-row, subtract-row and output offsets. */
export function setColumnStep(k: number, add: number, subtract: number, output: number): void {
  STEP_OFFSETS[k] = add;
  STEP_OFFSETS[LANES + k] = subtract;
  STEP_OFFSETS[2 * LANES + k] = output;
}

/**
 * `steps` (<= 8) steps of pass 1 along columns, for the columns from x / 8
 * to to / 8, 8 columns (a tile) at a time. With offs = STEP_OFFSETS, step k
 * adds the row at `buf[offs[k] + x]`, subtracts the row at
 * `buf[offs[8 + k] + x]` and writes f(sum / count) to `buf[offs[16 + k] + x]`
 * (x = 8 * column: rows are lanes of interleaved blocks);
 * `buf[invAt + k]` = 1/count. Column c's running sum is `buf[sumAt + c]`.
 *
 * A column's sum is a serial chain, but the eight columns of a tile are
 * independent: their eight chains advance together in registers, and each
 * tile reads and writes the same eight cache lines for all its steps.
 */
export function columnSteps(
  steps: number,
  invAt: number,
  sumAt: number,
  from: number,
  to: number,
): void {
  const buf = WORK.buf;
  const offs = STEP_OFFSETS;
  const SMALL = 0xfffffff;
  const sums = sumAt & SMALL;
  const invs = invAt & SMALL;
  const m = steps & 15;
  for (let x = from & SMALL, n = to & SMALL; x < n; x += 64) {
    const c = sums + (x >> 3);
    let s0 = buf[c], s1 = buf[c + 1], s2 = buf[c + 2], s3 = buf[c + 3]; // prettier-ignore
    let s4 = buf[c + 4], s5 = buf[c + 5], s6 = buf[c + 6], s7 = buf[c + 7]; // prettier-ignore
    for (let k = 0; k < m; k++) {
      const a = (offs[k] & SMALL) + x;
      const b = (offs[8 + k] & SMALL) + x;
      const o = (offs[16 + k] & SMALL) + x;
      const inv = buf[invs + k];
      // Each output stored as soon as it is known: a JIT keeps loads and
      // stores of one array in program order, so the next column's loads
      // cannot be hoisted above this store and fewer values wait in registers.
      s0 = f(f(s0 + buf[a]) - buf[b]);
      buf[o] = f(s0 * inv);
      s1 = f(f(s1 + buf[a + 8]) - buf[b + 8]);
      buf[o + 8] = f(s1 * inv);
      s2 = f(f(s2 + buf[a + 16]) - buf[b + 16]);
      buf[o + 16] = f(s2 * inv);
      s3 = f(f(s3 + buf[a + 24]) - buf[b + 24]);
      buf[o + 24] = f(s3 * inv);
      s4 = f(f(s4 + buf[a + 32]) - buf[b + 32]);
      buf[o + 32] = f(s4 * inv);
      s5 = f(f(s5 + buf[a + 40]) - buf[b + 40]);
      buf[o + 40] = f(s5 * inv);
      s6 = f(f(s6 + buf[a + 48]) - buf[b + 48]);
      buf[o + 48] = f(s6 * inv);
      s7 = f(f(s7 + buf[a + 56]) - buf[b + 56]);
      buf[o + 56] = f(s7 * inv);
    }
    buf[c] = s0;
    buf[c + 1] = s1;
    buf[c + 2] = s2;
    buf[c + 3] = s3;
    buf[c + 4] = s4;
    buf[c + 5] = s5;
    buf[c + 6] = s6;
    buf[c + 7] = s7;
  }
}
