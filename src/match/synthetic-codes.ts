import { WORDS_PER_CODE } from './codes.js';

/**
 * Seeded random PDQ codes for tests and the benchmark: uniform 256-bit
 * strings (what HMA's and FAISS's published numbers use) and near-duplicates
 * with a chosen number of flipped bits. Never real hashes.
 */

/** A seeded uint32 generator (mulberry32). */
export function uint32Source(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `count` uniform random codes, 8 words each. */
export function randomCodes(count: number, next: () => number): Uint32Array {
  const codes = new Uint32Array(count * WORDS_PER_CODE);
  for (let i = 0; i < codes.length; i++) codes[i] = next();
  return codes;
}

/** A copy of the code at `pos` with exactly `flips` distinct bits inverted. */
export function nearCode(
  codes: Uint32Array,
  pos: number,
  flips: number,
  next: () => number,
): Uint32Array {
  const out = codes.slice(pos * WORDS_PER_CODE, (pos + 1) * WORDS_PER_CODE);
  flipBits(out, flips, next);
  return out;
}

/** Inverts exactly `flips` distinct bits of an 8-word code, in place. */
export function flipBits(code: Uint32Array, flips: number, next: () => number): void {
  const chosen = new Set<number>();
  while (chosen.size < Math.min(flips, 256)) chosen.add(next() & 255);
  for (const bit of chosen) code[bit >>> 5] = (code[bit >>> 5] ^ (1 << (bit & 31))) >>> 0;
}
