/**
 * `takedown/hash`: PDQ and hash helpers, bit-identical to Meta's reference.
 * Browser-safe: no Node imports. For hashing files on disk see
 * `takedown/hash/file`.
 *
 * @example
 *   import { pdq, hammingDistance } from 'takedown/hash';
 *   const { hash, quality } = pdq({ width, height, channels: 4, data: imageData.data });
 */
export { pdq, PDQ_MIN_RELIABLE_QUALITY, PDQ_SEMANTICS } from './pdq.js';
export type { PdqOptions, PdqResult, PdqSemantics, PdqVariants } from './pdq.js';
export { DIHEDRAL_NAMES } from './pdq-dct.js';
export type { DihedralName } from './pdq-dct.js';
export type { PixelImage } from './pixels.js';
export {
  hammingDistance,
  isPdqHex,
  parsePdqHex,
  pdqBytesToHex,
  pdqHexToBytes,
  pdqHexToWords,
  pdqWordsToHex,
  popcount32,
} from './pdq-hash.js';
export type { PdqHex } from './pdq-hash.js';
export {
  SIGNAL_HEX_LENGTH,
  SIGNAL_TYPES,
  isSignalType,
  normalizeSignalValue,
  parseSignalType,
} from './signal.js';
export type { SignalType } from './signal.js';
export { TakedownError } from '../errors.js';
