/**
 * A deliberately literal transcription of SPEC.md (Meta's C++ reference), one
 * step per function, full-size buffers, no fusion. It is slow and only used by
 * tests: the optimized core in src/hash must agree with it bit for bit on any
 * image, including sizes and shapes the conformance set does not cover.
 */
const f = Math.fround;

export interface LiteralResult {
  words: Uint16Array; // w[0..15], w[i] = DCT row i, column j at bit j
  hex: string;
  quality: number;
}

export function literalLuma(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  grey: boolean,
): Float32Array {
  const out = new Float32Array(width * height);
  const rc = f(0.299);
  const gc = f(0.587);
  const bc = f(0.114);
  for (let i = 0; i < width * height; i++) {
    const p = i * channels;
    if (grey || channels < 3) out[i] = data[p];
    else out[i] = f(f(f(rc * data[p]) + f(gc * data[p + 1])) + f(bc * data[p + 2]));
  }
  return out;
}

function box1D(
  input: Float32Array,
  inOff: number,
  output: Float32Array,
  outOff: number,
  len: number,
  stride: number,
  fw: number,
): void {
  const half = Math.trunc((fw + 2) / 2);
  let ri = 0;
  let li = 0;
  let oi = 0;
  let sum = 0;
  let n = 0;
  for (let k = 0; k < half - 1; k++) {
    sum = f(sum + input[inOff + ri * stride]);
    ri++;
    n++;
  }
  for (let k = 0; k < fw - half + 1; k++) {
    sum = f(sum + input[inOff + ri * stride]);
    ri++;
    n++;
    output[outOff + oi * stride] = f(sum / n);
    oi++;
  }
  for (let k = 0; k < len - fw; k++) {
    sum = f(sum + input[inOff + ri * stride]);
    ri++;
    sum = f(sum - input[inOff + li * stride]);
    li++;
    output[outOff + oi * stride] = f(sum / n);
    oi++;
  }
  for (let k = 0; k < half - 1; k++) {
    sum = f(sum - input[inOff + li * stride]);
    li++;
    n--;
    output[outOff + oi * stride] = f(sum / n);
    oi++;
  }
}

export function literalHash(luma: Float32Array, width: number, height: number): LiteralResult {
  if (width < 5 || height < 5) {
    return { words: new Uint16Array(16), hex: '0'.repeat(64), quality: 0 };
  }
  const rows = height;
  const cols = width;
  let buf1 = Float32Array.from(luma);
  const buf2 = new Float32Array(rows * cols);
  if (!(rows === 64 && cols === 64)) {
    const wAlongRows = Math.trunc((cols + 2 * 64 - 1) / (2 * 64));
    const wAlongCols = Math.trunc((rows + 2 * 64 - 1) / (2 * 64));
    for (let rep = 0; rep < 2; rep++) {
      for (let r = 0; r < rows; r++) box1D(buf1, r * cols, buf2, r * cols, cols, 1, wAlongRows);
      for (let c = 0; c < cols; c++) box1D(buf2, c, buf1, c, rows, cols, wAlongCols);
    }
  } else {
    buf1 = Float32Array.from(luma);
  }
  const A = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const ini = Math.trunc(((i + 0.5) * rows) / 64);
    for (let j = 0; j < 64; j++) {
      const inj = Math.trunc(((j + 0.5) * cols) / 64);
      A[i * 64 + j] = buf1[ini * cols + inj];
    }
  }
  // quality
  let gs = 0;
  for (let i = 0; i < 63; i++)
    for (let j = 0; j < 64; j++) {
      const d = Math.trunc(f(f(f(A[i * 64 + j] - A[(i + 1) * 64 + j]) * 100) / 255));
      gs += Math.abs(d);
    }
  for (let i = 0; i < 64; i++)
    for (let j = 0; j < 63; j++) {
      const d = Math.trunc(f(f(f(A[i * 64 + j] - A[i * 64 + j + 1]) * 100) / 255));
      gs += Math.abs(d);
    }
  const quality = Math.min(100, Math.trunc(gs / 90));
  // DCT
  const scale = f(Math.sqrt(2.0 / 64));
  const D = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++)
    for (let j = 0; j < 64; j++)
      D[i * 64 + j] = f(scale * Math.cos((Math.PI / 2.0 / 64) * (i + 1) * (2 * j + 1)));
  const T = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++)
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f(s + f(D[i * 64 + k] * A[k * 64 + j]));
      T[i * 64 + j] = s;
    }
  const B = new Float32Array(256);
  for (let i = 0; i < 16; i++)
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f(s + f(T[i * 64 + k] * D[j * 64 + k]));
      B[i * 16 + j] = s;
    }
  return { ...literalBits(B), quality };
}

export function literalBits(B: Float32Array): { words: Uint16Array; hex: string } {
  const sorted = Float32Array.from(B).sort();
  const m = sorted[127];
  const words = new Uint16Array(16);
  for (let k = 0; k < 256; k++) if (B[k] > m) words[k >> 4] |= 1 << (k & 15);
  let hex = '';
  for (let w = 15; w >= 0; w--) hex += words[w].toString(16).padStart(4, '0');
  return { words, hex };
}
