import { describe, expect, it } from 'vitest';
import { TakedownError } from '../errors.js';
import type { ExactSignalType } from './exact-index.js';
import { ExactIndex } from './exact-index.js';
import { uint32Source } from './synthetic-codes.js';
import { U32Map } from './u32-map.js';

const LENGTH: Record<ExactSignalType, number> = { md5: 32, sha1: 40, sha256: 64 };

function randomHex(digits: number, next: () => number): string {
  let out = '';
  while (out.length < digits) out += next().toString(16).padStart(8, '0');
  return out.slice(0, digits);
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof TakedownError) return error.code;
    throw error;
  }
  return undefined;
}

describe('ExactIndex', () => {
  for (const type of ['md5', 'sha1', 'sha256'] as const) {
    it(`${type}: finds, replaces and forgets entries by equality`, () => {
      const next = uint32Source(LENGTH[type]);
      const a = randomHex(LENGTH[type], next);
      const b = randomHex(LENGTH[type], next);
      const index = new ExactIndex(type);
      expect(index.lookup(a)).toEqual([]);
      index.add(3, a);
      index.add(1, a.toUpperCase()); // the same file in another bank
      index.add(2, ` ${b} `);
      expect(index.lookup(a)).toEqual([1, 3]);
      expect(index.lookup(b.toUpperCase())).toEqual([2]);
      expect(index.size).toBe(3);
      index.add(3, b);
      expect(index.lookup(a)).toEqual([1]);
      expect(index.lookup(b)).toEqual([2, 3]);
      expect(index.remove(1)).toBe(true);
      expect(index.remove(1)).toBe(false);
      expect(index.lookup(a)).toEqual([]);
      expect(index.has(2)).toBe(true);
      expect(index.has(1)).toBe(false);
      expect(index.size).toBe(2);
    });
  }

  it('rejects malformed values and ids with a code', () => {
    const index = new ExactIndex('md5');
    expect(code(() => index.lookup('abc'))).toBe('invalid-hash');
    expect(code(() => index.add(1, 'z'.repeat(32)))).toBe('invalid-hash');
    expect(code(() => index.add(1, 'a'.repeat(40)))).toBe('invalid-hash');
    expect(code(() => index.add(-3, 'a'.repeat(32)))).toBe('invalid-entry-id');
    expect(code(() => new ExactIndex('pdq' as ExactSignalType))).toBe('invalid-signal-type');
  });

  it('agrees with a Map through 60,000 random adds, replacements and removals', () => {
    const next = uint32Source(5);
    const values = Array.from({ length: 3000 }, () => randomHex(40, next));
    const index = new ExactIndex('sha1');
    const reference = new Map<number, string>();
    for (let step = 0; step < 60_000; step++) {
      const id = next() % 20_000;
      if (next() % 3 === 0) {
        expect(index.remove(id)).toBe(reference.delete(id));
      } else {
        const value = values[next() % values.length];
        index.add(id, value);
        reference.set(id, value);
      }
      if (step % 97 === 0) {
        const value = values[next() % values.length];
        const want = [...reference].filter(([, v]) => v === value).map(([k]) => k);
        expect(index.lookup(value)).toEqual(want.sort((x, y) => x - y));
      }
    }
    expect(index.size).toBe(reference.size);
    const { ids, values: words } = index.entries();
    const copy = ExactIndex.fromEntries('sha1', ids, words);
    for (const value of values.slice(0, 300))
      expect(copy.lookup(value)).toEqual(index.lookup(value));
  });
});

describe('U32Map', () => {
  it('agrees with a Map through random sets and deletes, across resizes', () => {
    const next = uint32Source(11);
    const map = new U32Map();
    const reference = new Map<number, number>();
    for (let step = 0; step < 100_000; step++) {
      // Small key range: long probe runs and many backward shifts.
      const key = next() % 5000;
      if (next() % 2 === 0) {
        expect(map.delete(key)).toBe(reference.delete(key));
      } else {
        map.set(key, step);
        reference.set(key, step);
      }
      if (step % 50 === 0) {
        const probe = next() % 5000;
        expect(map.get(probe)).toBe(reference.get(probe));
      }
    }
    expect(map.size).toBe(reference.size);
    for (const [key, value] of reference) expect(map.get(key)).toBe(value);
  });
});
