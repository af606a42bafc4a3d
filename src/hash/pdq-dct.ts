import { DCT_MATRIX } from './pdq-dct-matrix.js';

const f = Math.fround;

/**
 * `pdqImageDomainQualityMetric`: how much the 64x64 image varies between
 * neighbours, 0..100. Flat or near-flat images score low and their hashes
 * are not reliable.
 */
export function imageQuality(A: Float64Array): number {
  let gs = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      gs += Math.abs(Math.trunc(f(f(f(A[i * 64 + j] - A[(i + 1) * 64 + j]) * 100) / 255)));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      gs += Math.abs(Math.trunc(f(f(f(A[i * 64 + j] - A[i * 64 + j + 1]) * 100) / 255)));
    }
  }
  return Math.min(100, Math.trunc(gs / 90));
}

/** The DCT matrix as doubles (exact: float32 values), loaded without conversion. */
const D = Float64Array.from(DCT_MATRIX);

/**
 * `dct64To16`: B = D * A * D^T (16x16), float32 accumulators with the
 * reference's summation order (k ascending). A holds float32 values in
 * doubles. Eight independent sums advance together in registers (eight
 * outputs of a row), each adding its terms in the reference's order.
 */
export function dct64To16(A: Float64Array): Float32Array {
  const T = new Float64Array(16 * 64); // T = D * A, T[i][j] = sum_k D[i][k] * A[k][j]
  const B = new Float32Array(256); // B = T * D^T, B[i][j] = sum_k T[i][k] * D[j][k]
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j += 8) {
      let t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0; // prettier-ignore
      for (let k = 0; k < 64; k++) {
        const d = D[i * 64 + k];
        const a = k * 64 + j;
        t0 = f(t0 + f(d * A[a]));
        t1 = f(t1 + f(d * A[a + 1]));
        t2 = f(t2 + f(d * A[a + 2]));
        t3 = f(t3 + f(d * A[a + 3]));
        t4 = f(t4 + f(d * A[a + 4]));
        t5 = f(t5 + f(d * A[a + 5]));
        t6 = f(t6 + f(d * A[a + 6]));
        t7 = f(t7 + f(d * A[a + 7]));
      }
      const o = i * 64 + j;
      T[o] = t0;
      T[o + 1] = t1;
      T[o + 2] = t2;
      T[o + 3] = t3;
      T[o + 4] = t4;
      T[o + 5] = t5;
      T[o + 6] = t6;
      T[o + 7] = t7;
    }
  }
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j += 8) {
      let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0; // prettier-ignore
      for (let k = 0; k < 64; k++) {
        const t = T[i * 64 + k];
        const d = j * 64 + k;
        b0 = f(b0 + f(t * D[d]));
        b1 = f(b1 + f(t * D[d + 64]));
        b2 = f(b2 + f(t * D[d + 128]));
        b3 = f(b3 + f(t * D[d + 192]));
        b4 = f(b4 + f(t * D[d + 256]));
        b5 = f(b5 + f(t * D[d + 320]));
        b6 = f(b6 + f(t * D[d + 384]));
        b7 = f(b7 + f(t * D[d + 448]));
      }
      const o = i * 16 + j;
      B[o] = b0;
      B[o + 1] = b1;
      B[o + 2] = b2;
      B[o + 3] = b3;
      B[o + 4] = b4;
      B[o + 5] = b5;
      B[o + 6] = b6;
      B[o + 7] = b7;
    }
  }
  return B;
}

/**
 * `pdqBuffer16x16ToBits`: bit i*16+j is set when B[i][j] is strictly above
 * the median (Torben's median = the 128th smallest of 256). Returns the 16
 * words of `Hash256`, w[i] = row i with column j at bit j.
 */
export function bitsAboveMedian(B: Float32Array): Uint16Array {
  const median = Float32Array.from(B).sort()[127];
  const words = new Uint16Array(16);
  for (let k = 0; k < 256; k++) if (B[k] > median) words[k >> 4] |= 1 << (k & 15);
  return words;
}

/** `Hash256::format`: %04hx of w[15] down to w[0]. */
export function wordsToHex(words: Uint16Array): string {
  let hex = '';
  for (let w = 15; w >= 0; w--) hex += words[w].toString(16).padStart(4, '0');
  return hex;
}

/** The eight dihedral transforms, in the order of `pdq-photo-hasher --pdqdih-across`. */
export const DIHEDRAL_NAMES = [
  'orig',
  'rot90',
  'rot180',
  'rot270',
  'flipx',
  'flipy',
  'flipplus1',
  'flipminus1',
] as const;
export type DihedralName = (typeof DIHEDRAL_NAMES)[number];

/**
 * `pdqDihedralHash256esFromFloatLuma`: the DCT of a rotated or mirrored image
 * is the original DCT transposed and/or with alternating signs, so the eight
 * variants come from one B. (rot90 is counter-clockwise.)
 */
export function dihedralTransform(B: Float32Array, name: DihedralName): Float32Array {
  const out = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const v = B[i * 16 + j];
      const iOdd = (i & 1) === 1;
      const jOdd = (j & 1) === 1;
      const ijOdd = ((i + j) & 1) === 1;
      switch (name) {
        case 'orig':
          out[i * 16 + j] = v;
          break;
        case 'rot90':
          out[j * 16 + i] = jOdd ? v : -v;
          break;
        case 'rot180':
          out[i * 16 + j] = ijOdd ? -v : v;
          break;
        case 'rot270':
          out[j * 16 + i] = iOdd ? v : -v;
          break;
        case 'flipx':
          out[i * 16 + j] = iOdd ? v : -v;
          break;
        case 'flipy':
          out[i * 16 + j] = jOdd ? v : -v;
          break;
        case 'flipplus1':
          out[j * 16 + i] = v;
          break;
        case 'flipminus1':
          out[j * 16 + i] = ijOdd ? -v : v;
          break;
      }
    }
  }
  return out;
}
