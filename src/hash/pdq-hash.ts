import { TakedownError } from '../errors.js';
import { normalizeSignalValue } from './signal.js';

/**
 * A PDQ hash as 64 lower-case hex digits. The hex string is the 256-bit
 * big-endian integer sum(bit_k * 2^k): the first four digits hold DCT row 15,
 * the last four row 0 (the reference's `Hash256::format`).
 */
export type PdqHex = string & { readonly __brand: 'PdqHex' };

/** Validates and normalizes a PDQ hash string. Throws `invalid-hash` on bad input. */
export function parsePdqHex(value: unknown): PdqHex {
  return normalizeSignalValue('pdq', value) as PdqHex;
}

/** True when `value` is a valid PDQ hash string (any case, surrounding space allowed). */
export function isPdqHex(value: unknown): boolean {
  try {
    parsePdqHex(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The 256 bits as 8 unsigned 32-bit words, word 0 = the first 8 hex digits.
 * This is the layout the matcher stores and compares.
 */
export function pdqHexToWords(
  value: string,
  out: Uint32Array = new Uint32Array(8),
  offset = 0,
): Uint32Array {
  return canonicalPdqHexToWords(parsePdqHex(value), out, offset);
}

/**
 * `pdqHexToWords` for a value already known to be 64 lowercase hex digits
 * (parsed before, or checked by the caller): no second validation.
 */
export function canonicalPdqHexToWords(
  hex: string,
  out: Uint32Array = new Uint32Array(8),
  offset = 0,
): Uint32Array {
  for (let w = 0; w < 8; w++) {
    out[offset + w] = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16) >>> 0;
  }
  return out;
}

export function pdqWordsToHex(words: ArrayLike<number>, offset = 0): PdqHex {
  let text = '';
  for (let w = 0; w < 8; w++) text += (words[offset + w] >>> 0).toString(16).padStart(8, '0');
  return text as PdqHex;
}

/** The 32 bytes in hex order (what HMA and faiss store as `bytes.fromhex`). */
export function pdqHexToBytes(value: string): Uint8Array {
  const hex = parsePdqHex(value);
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export function pdqBytesToHex(bytes: Uint8Array): PdqHex {
  if (bytes.length !== 32) {
    throw new TakedownError('invalid-hash', `A PDQ hash has 32 bytes, got ${bytes.length}.`);
  }
  let text = '';
  for (const b of bytes) text += b.toString(16).padStart(2, '0');
  return text as PdqHex;
}

/** Number of set bits in a 32-bit word. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Hamming distance between two PDQ hashes (0..256), given as hex strings or
 * as 8-word arrays. Bad hex is an `invalid-hash` error, never NaN.
 */
export function hammingDistance(a: string | Uint32Array, b: string | Uint32Array): number {
  const wa = typeof a === 'string' ? pdqHexToWords(a) : checkWords(a);
  const wb = typeof b === 'string' ? pdqHexToWords(b) : checkWords(b);
  let d = 0;
  for (let w = 0; w < 8; w++) d += popcount32(wa[w] ^ wb[w]);
  return d;
}

function checkWords(words: Uint32Array): Uint32Array {
  if (words.length !== 8) {
    throw new TakedownError('invalid-hash', `A PDQ hash has 8 32-bit words, got ${words.length}.`);
  }
  return words;
}
