import { DCT_MATRIX } from './pdq-dct-matrix.js';

const f = Math.fround;

/**
 * `pdqImageDomainQualityMetric`: how much the 64x64 image varies between
 * neighbours, 0..100. Flat or near-flat images score low and their hashes
 * are not reliable.
 */
export function imageQuality(A: Float32Array): number {
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

/**
 * `dct64To16`: B = D * A * D^T (16x16), float32 accumulators with the
 * reference's summation order (k ascending). The loops run over j innermost so
 * that 64 independent sums advance together; each sum still adds its terms in
 * the reference's order.
 */
export function dct64To16(A: Float32Array): Float32Array {
  const T = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    const row = i * 64;
    for (let k = 0; k < 64; k++) {
      const d = DCT_MATRIX[row + k];
      const a = k * 64;
      for (let j = 0; j < 64; j++) T[row + j] = T[row + j] + f(d * A[a + j]);
    }
  }
  const B = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f(s + f(T[i * 64 + k] * DCT_MATRIX[j * 64 + k]));
      B[i * 16 + j] = s;
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
