import { blurAndDecimate } from './pdq-blur.js';
import { LANES } from './pdq-kernels.js';
import type { DihedralName } from './pdq-dct.js';
import {
  DIHEDRAL_NAMES,
  bitsAboveMedian,
  dct64To16,
  dihedralTransform,
  imageQuality,
  wordsToHex,
} from './pdq-dct.js';
import type { PdqHex } from './pdq-hash.js';
import { lumaSource } from './pdq-luma.js';
import type { PixelImage } from './pixels.js';
import { checkPixelImage } from './pixels.js';

/**
 * Which reference PDQ semantics to reproduce:
 * - `fullres` (default): the full-resolution image, as HMA, python-threatexchange,
 *   the Java and Rust ports hash it. Hashes from the field's hash lists are these.
 * - `cli`: the reference tool `pdq-photo-hasher`, which first resizes anything
 *   larger than 512 px to exactly 512x512 (nearest neighbour, aspect ignored).
 */
export type PdqSemantics = 'fullres' | 'cli';
export const PDQ_SEMANTICS: readonly PdqSemantics[] = ['fullres', 'cli'];

export interface PdqOptions {
  readonly semantics?: PdqSemantics;
  /** Also compute the eight rotated/mirrored hashes (from the same DCT). */
  readonly variants?: boolean;
}

export type PdqVariants = Readonly<Record<DihedralName, PdqHex>>;

export interface PdqResult {
  readonly hash: PdqHex;
  /** 0..100. Below 50 the hash is unreliable (flat or featureless image). */
  readonly quality: number;
  readonly variants?: PdqVariants;
}

/** Quality below which Meta recommends not trusting a PDQ hash. */
export const PDQ_MIN_RELIABLE_QUALITY = 50;

/** Images smaller than this in either dimension hash to zero, quality 0. */
const MIN_HASHABLE_DIM = 5;

/**
 * PDQ hash of decoded pixels, bit-identical to Meta's C++ reference.
 * Pure computation: runs the same in Node and in a browser.
 */
export function pdq(image: PixelImage, options: PdqOptions = {}): PdqResult {
  checkPixelImage(image);
  const semantics = options.semantics ?? 'fullres';
  if (image.width < MIN_HASHABLE_DIM || image.height < MIN_HASHABLE_DIM) {
    const zero = '0'.repeat(64) as PdqHex;
    return withVariants({ hash: zero, quality: 0 }, options.variants, () => zero);
  }
  const A = downscaleTo64(image, semantics);
  const quality = imageQuality(A);
  const B = dct64To16(A);
  const hash = wordsToHex(bitsAboveMedian(B)) as PdqHex;
  return withVariants({ hash, quality }, options.variants, (name) =>
    name === 'orig' ? hash : (wordsToHex(bitsAboveMedian(dihedralTransform(B, name))) as PdqHex),
  );
}

/** The 64x64 matrix A, float32 values held in doubles. */
function downscaleTo64(image: PixelImage, semantics: PdqSemantics): Float64Array {
  const source = lumaSource(image, semantics);
  if (source.width === 64 && source.height === 64) {
    // The reference skips the blur for an image that is already 64x64.
    const A = new Float64Array(64 * 64);
    const row = new Float64Array(64 * LANES); // readRow writes one lane of a block
    for (let y = 0; y < 64; y++) {
      source.readRow(y, 0, 64, row, 0);
      for (let x = 0; x < 64; x++) A[y * 64 + x] = row[x * LANES];
    }
    return A;
  }
  return blurAndDecimate(source);
}

function withVariants(
  result: { hash: PdqHex; quality: number },
  wanted: boolean | undefined,
  variant: (name: DihedralName) => PdqHex,
): PdqResult {
  if (!wanted) return result;
  const variants = {} as Record<DihedralName, PdqHex>;
  for (const name of DIHEDRAL_NAMES) variants[name] = variant(name);
  return { ...result, variants };
}
