import { describe, expect, it } from 'vitest';
import { TakedownError } from '../errors.js';
import { pdqHexToWords, pdqWordsToHex } from '../hash/pdq-hash.js';
import { BruteForcePdqMatcher } from './brute-force.js';
import { PdqIndex } from './pdq-index.js';
import { randomCodes, uint32Source } from './synthetic-codes.js';
import type { PdqHashInput, PdqMatch, PdqMatcher, PdqQuery, PdqSearchOptions } from './types.js';

/**
 * One contract, every PDQ matcher (style habit 5): the brute-force scan, the
 * index answering from its delta, the index freezing a part on every add
 * (so parts, merges and tombstones are exercised), and the index with all
 * entries in multi-index tables among 5,000 random background entries.
 */

const BACKGROUND_IDS = 1_000_000_000;

/** Compacts before each search so every entry sits in a table-backed part. */
class TabledIndex implements PdqMatcher {
  readonly #index: PdqIndex;
  #dirty = true;

  constructor() {
    const count = 5000;
    const ids = Uint32Array.from({ length: count }, (_, i) => BACKGROUND_IDS + i);
    this.#index = PdqIndex.fromCodes(ids, randomCodes(count, uint32Source(99)));
  }

  get size(): number {
    return this.#index.size - 5000;
  }
  has(id: number): boolean {
    return this.#index.has(id);
  }
  add(id: number, hash: PdqHashInput): void {
    this.#index.add(id, hash);
    this.#dirty = true;
  }
  remove(id: number): boolean {
    this.#dirty = true;
    return this.#index.remove(id);
  }
  search(query: PdqQuery, options?: PdqSearchOptions): PdqMatch[] {
    if (this.#dirty) this.#index.compact();
    this.#dirty = false;
    const parts = this.#index.stats().parts;
    expect(parts.every((p) => p.chunks !== null)).toBe(true);
    return this.#index.search(query, options).filter((m) => m.id < BACKGROUND_IDS);
  }
}

const IMPLEMENTATIONS: readonly { name: string; create: () => PdqMatcher }[] = [
  { name: 'brute force', create: () => new BruteForcePdqMatcher() },
  { name: 'index (delta)', create: () => new PdqIndex() },
  { name: 'index (a part per add)', create: () => new PdqIndex({ deltaCapacity: 1 }) },
  { name: 'index (tables)', create: () => new TabledIndex() },
];

const A = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';
const Z = '0'.repeat(64);

/** A with the given bits (0 = top bit of the first hex digit) inverted. */
function flipped(hex: string, bits: readonly number[]): string {
  const words = pdqHexToWords(hex);
  for (const bit of bits) words[bit >>> 5] ^= 2 ** (31 - (bit & 31));
  return pdqWordsToHex(words);
}

/** Bits 0..n-1 spread over the whole hash, so every chunk layout sees some. */
function spread(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 37) % 256);
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof TakedownError) return error.code;
    throw error;
  }
  return undefined;
}

for (const { name, create } of IMPLEMENTATIONS) {
  describe(`PDQ matcher contract: ${name}`, () => {
    it('finds nothing in an empty bank', () => {
      const m = create();
      expect(m.size).toBe(0);
      expect(m.search(A)).toEqual([]);
    });

    it('finds an identical hash at distance 0', () => {
      const m = create();
      m.add(7, A);
      expect(m.search(A)).toEqual([{ id: 7, distance: 0 }]);
      expect(m.size).toBe(1);
      expect(m.has(7)).toBe(true);
      expect(m.has(8)).toBe(false);
    });

    it('matches up to the radius, inclusive, with the default of 31', () => {
      const m = create();
      m.add(1, flipped(A, spread(31)));
      m.add(2, flipped(A, spread(32)));
      expect(m.search(A)).toEqual([{ id: 1, distance: 31 }]);
      expect(m.search(A, { radius: 32 })).toEqual([
        { id: 1, distance: 31 },
        { id: 2, distance: 32 },
      ]);
      expect(m.search(A, { radius: 30 })).toEqual([]);
    });

    it('is exact at every radius from 0 to 64', () => {
      const m = create();
      for (let d = 0; d <= 64; d += 4) m.add(100 + d, flipped(A, spread(d)));
      for (let radius = 0; radius <= 64; radius++) {
        const want = [];
        for (let d = 0; d <= radius; d += 4) want.push({ id: 100 + d, distance: d });
        expect(m.search(A, { radius })).toEqual(want);
      }
    });

    it('orders by distance, then id, and reports every id of a duplicated hash', () => {
      const m = create();
      m.add(30, flipped(A, [5]));
      m.add(20, A);
      m.add(10, flipped(A, [9]));
      m.add(40, A);
      expect(m.search(A)).toEqual([
        { id: 20, distance: 0 },
        { id: 40, distance: 0 },
        { id: 10, distance: 1 },
        { id: 30, distance: 1 },
      ]);
    });

    it('stops matching a removed entry at once', () => {
      const m = create();
      m.add(1, A);
      m.add(2, flipped(A, [1, 2]));
      expect(m.remove(1)).toBe(true);
      expect(m.search(A)).toEqual([{ id: 2, distance: 2 }]);
      expect(m.remove(1)).toBe(false);
      expect(m.remove(99)).toBe(false);
      expect(m.size).toBe(1);
      expect(m.has(1)).toBe(false);
      m.add(1, A);
      expect(m.search(A).map((x) => x.id)).toEqual([1, 2]);
    });

    it('replaces the hash when an id is added again', () => {
      const m = create();
      m.add(5, A);
      m.add(5, Z);
      expect(m.size).toBe(1);
      expect(m.search(A)).toEqual([]);
      expect(m.search(Z)).toEqual([{ id: 5, distance: 0 }]);
    });

    it('searches all variants of a query and keeps the smallest distance per entry', () => {
      const m = create();
      const rotated = flipped(Z, spread(200));
      m.add(1, A);
      m.add(2, flipped(rotated, [3]));
      const variants = [flipped(A, [1, 2, 3]), rotated, flipped(A, [4])];
      expect(m.search(variants)).toEqual([
        { id: 1, distance: 1 },
        { id: 2, distance: 1 },
      ]);
    });

    it('takes hex in any case, or 8 words', () => {
      const m = create();
      m.add(1, `  ${A.toUpperCase()} `);
      m.add(2, pdqHexToWords(flipped(A, [0])));
      expect(m.search(pdqHexToWords(A))).toEqual([
        { id: 1, distance: 0 },
        { id: 2, distance: 1 },
      ]);
    });

    it('returns every entry at radius 256 and none too far at radius 0', () => {
      const m = create();
      m.add(1, A);
      m.add(2, Z);
      m.add(3, 'f'.repeat(64));
      expect(m.search(Z, { radius: 256 }).map((x) => x.distance)).toEqual([0, 128, 256]);
      expect(m.search(Z, { radius: 0 })).toEqual([{ id: 2, distance: 0 }]);
    });

    it('rejects bad radii, ids and hashes with a code', () => {
      const m = create();
      expect(errorCode(() => m.search(A, { radius: -1 }))).toBe('invalid-radius');
      expect(errorCode(() => m.search(A, { radius: 257 }))).toBe('invalid-radius');
      expect(errorCode(() => m.search(A, { radius: 3.5 }))).toBe('invalid-radius');
      expect(errorCode(() => m.add(-1, A))).toBe('invalid-entry-id');
      expect(errorCode(() => m.add(2 ** 32, A))).toBe('invalid-entry-id');
      expect(errorCode(() => m.add(1, 'abc'))).toBe('invalid-hash');
      expect(errorCode(() => m.add(1, new Uint32Array(7)))).toBe('invalid-hash');
      expect(errorCode(() => m.search([]))).toBe('invalid-hash');
      expect(m.size).toBe(0);
    });
  });
}
