import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pdqHexToWords } from '../hash/pdq-hash.js';
import { BruteForcePdqMatcher } from './brute-force.js';
import { HitBuffer, WORDS_PER_CODE } from './codes.js';
import { dirOffsets } from './mih-build.js';
import { planChunks, planThresholds } from './mih-plan.js';
import { MihScratch, searchTables } from './mih-search.js';
import { mergeParts } from './merge-parts.js';
import { PdqIndex } from './pdq-index.js';
import { buildSegment, Segment } from './segment.js';
import { flipBits, nearCode, randomCodes, uint32Source } from './synthetic-codes.js';
import type { PdqMatcher, PdqQuery } from './types.js';

/**
 * The index must answer exactly what a scan answers: same ids, same
 * distances, same order. Seeded random banks, queries and mutation
 * sequences, compared result by result.
 */

interface Bank {
  ids: Uint32Array;
  codes: Uint32Array;
}

/** Random codes plus clusters: exact duplicates and near-duplicates (1-40 bits). */
function makeBank(count: number, next: () => number): Bank {
  const codes = randomCodes(count, next);
  for (let i = 1; i < count; i++) {
    const roll = next() % 10;
    if (roll > 1) continue;
    const source = next() % i;
    const copy = codes.slice(source * WORDS_PER_CODE, (source + 1) * WORDS_PER_CODE);
    if (roll === 1) flipBits(copy, 1 + (next() % 40), next);
    codes.set(copy, i * WORDS_PER_CODE);
  }
  // Sparse, shuffled ids: the index must not assume 0..n-1 in order.
  const ids = Uint32Array.from({ length: count }, (_, i) => i * 7 + (next() % 7));
  for (let i = count - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return { ids, codes };
}

function bruteOf(bank: Bank): BruteForcePdqMatcher {
  const brute = new BruteForcePdqMatcher();
  for (let i = 0; i < bank.ids.length; i++) {
    brute.add(bank.ids[i], bank.codes.subarray(i * WORDS_PER_CODE, (i + 1) * WORDS_PER_CODE));
  }
  return brute;
}

/** Near a stored code (0-40 flips), an exact copy, or uniform random. */
function makeQuery(bank: Bank, next: () => number): Uint32Array {
  const count = bank.ids.length;
  if (count === 0 || next() % 3 === 0) return randomCodes(1, next);
  return nearCode(bank.codes, next() % count, next() % 41, next);
}

/** Inverts `flips` distinct random bits among bits [start, start + width) of a code. */
function flipWithin(
  code: Uint32Array,
  start: number,
  width: number,
  flips: number,
  next: () => number,
): void {
  if (flips > width) throw new Error(`cannot flip ${flips} of ${width} bits`);
  const chosen = new Set<number>();
  while (chosen.size < flips) chosen.add(start + (next() % width));
  for (const bit of chosen) code[bit >>> 5] = (code[bit >>> 5] ^ (1 << (31 - (bit & 31)))) >>> 0;
}

function expectSame(a: PdqMatcher, b: PdqMatcher, query: PdqQuery, radius: number): number {
  const want = b.search(query, { radius });
  expect(a.search(query, { radius })).toEqual(want);
  return want.length;
}

describe('PdqIndex equals a brute-force scan', () => {
  // Infinity: every part searched in JavaScript; 1024: every tabled part by the WebAssembly kernel.
  it.each([Infinity, 1024])(
    'on random banks of many sizes, at radii 0..64 (kernel from %d entries)',
    (wasmMinEntries) => {
      const next = uint32Source(2024);
      let matched = 0;
      for (const count of [0, 1, 50, 2047, 2048, 3000, 20_000]) {
        const bank = makeBank(count, next);
        const index = PdqIndex.fromCodes(bank.ids, bank.codes, { wasmMinEntries });
        const brute = bruteOf(bank);
        expect(index.size).toBe(count);
        for (let k = 0; k < 120; k++) {
          const radius = k < 65 ? k : next() % 65;
          matched += expectSame(index, brute, makeQuery(bank, next), radius);
        }
      }
      expect(matched).toBeGreaterThan(300); // the queries did find things
    },
  );

  it('probes the tables exactly at every radius 0..64, even where it would scan', () => {
    const next = uint32Source(7);
    const bank = makeBank(20_000, next);
    const order = Uint32Array.from(bank.ids.keys()).sort((x, y) => bank.ids[x] - bank.ids[y]);
    const ids = Uint32Array.from(order, (i) => bank.ids[i]);
    const codes = new Uint32Array(bank.codes.length);
    order.forEach((from, to) => codes.set(bank.codes.subarray(from * 8, from * 8 + 8), to * 8));
    const segment = new Segment(buildSegment(ids, codes, { shared: false }));
    const chunks = planChunks(20_000);
    expect(segment.chunks).toEqual(chunks);
    const brute = bruteOf({ ids, codes });
    const scratch = new MihScratch();
    const hits = new HitBuffer();
    for (let radius = 0; radius <= 64; radius++) {
      const tau = planThresholds(chunks, 20_000, radius, false);
      expect(tau).not.toBeNull();
      for (let k = 0; k < 4; k++) {
        const q = makeQuery({ ids, codes }, next);
        hits.length = 0;
        const tables = segment.data.tables;
        if (tables === null || tau === null) throw new Error('no tables');
        searchTables(codes, tables, chunks, dirOffsets(chunks), tau, q, radius, scratch, hits);
        const best = new Map<number, number>();
        for (let i = 0; i < hits.length; i++) best.set(ids[hits.pos[i]], hits.dist[i]);
        const got = [...best].map(([id, distance]) => ({ id, distance }));
        got.sort((a, b) => a.distance - b.distance || a.id - b.id);
        expect(got).toEqual(brute.search(q, { radius }));
      }
    }
  });

  it('finds hashes that only one chunk can reveal, at every radius 0..64', () => {
    // The pigeonhole boundary: a hash at distance exactly r whose chunk j
    // differs in exactly tau_j bits and every other chunk in tau_i + 1. Only
    // chunk j's probe can find it, at the edge of its ball; its flips are
    // split between bucket bits and residual bits in every possible way, so
    // both the exact-residual shell and the inner shells are on the edge.
    const next = uint32Source(4242);
    const PER_RADIUS = 40;
    const background = 20_000;
    const count = background + 65 * PER_RADIUS;
    const chunks = planChunks(count);
    const codes = randomCodes(count, next);
    const queries: Uint32Array[] = [];
    let at = background;
    for (let radius = 0; radius <= 64; radius++) {
      const q = randomCodes(1, next);
      queries.push(q);
      const tau = planThresholds(chunks, count, radius, false);
      if (tau === null) throw new Error('no plan');
      const probed = [...tau.keys()].filter((c) => tau[c] >= 0);
      for (let k = 0; k < PER_RADIUS; k++, at++) {
        const j = probed[k % probed.length];
        const code = q.slice();
        for (let c = 0; c < chunks.length; c++) {
          const { start, dirBits, resBits } = chunks[c];
          const flips = c === j ? tau[c] : tau[c] + 1;
          const low = Math.max(0, flips - resBits);
          const choices = Math.min(flips, dirBits) - low + 1;
          // In chunk j every split between bucket and residual bits takes its turn.
          const inDir = low + ((c === j ? Math.floor(k / probed.length) : next()) % choices);
          flipWithin(code, start, dirBits, inDir, next);
          flipWithin(code, start + dirBits, resBits, flips - inDir, next);
        }
        codes.set(code, at * WORDS_PER_CODE);
      }
    }
    const ids = Uint32Array.from({ length: count }, (_, i) => i);
    const segment = new Segment(buildSegment(ids, codes, { shared: false }));
    expect(segment.chunks).toEqual(chunks);
    const tables = segment.data.tables;
    if (tables === null) throw new Error('no tables');
    const brute = bruteOf({ ids, codes });
    const scratch = new MihScratch();
    const hits = new HitBuffer();
    for (let radius = 0; radius <= 64; radius++) {
      const tau = planThresholds(chunks, count, radius, false) as Int8Array;
      hits.length = 0;
      searchTables(
        codes,
        tables,
        chunks,
        dirOffsets(chunks),
        tau,
        queries[radius],
        radius,
        scratch,
        hits,
      );
      const found = new Map<number, number>();
      for (let i = 0; i < hits.length; i++) found.set(hits.pos[i], hits.dist[i]);
      const want = brute.search(queries[radius], { radius });
      expect([...found.keys()].sort((a, b) => a - b)).toEqual(
        want.map((m) => m.id).sort((a, b) => a - b),
      );
      const first = background + radius * PER_RADIUS;
      for (let id = first; id < first + PER_RADIUS; id++) expect(found.get(id)).toBe(radius);
    }
  });

  it('through random adds, replacements, removals and compactions', () => {
    const next = uint32Source(31337);
    const pool = makeBank(8000, next);
    const index = new PdqIndex({ deltaCapacity: 64 });
    const brute = new BruteForcePdqMatcher();
    const live: number[] = [];
    let searches = 0;
    for (let step = 0; step < 9000; step++) {
      const roll = next() % 100;
      if (roll < 70 || live.length === 0) {
        const i = next() % pool.ids.length;
        const id = pool.ids[i];
        const code = pool.codes.subarray(i * 8, i * 8 + 8);
        if (!brute.has(id)) live.push(id);
        index.add(id, code);
        brute.add(id, code);
      } else if (roll < 80) {
        // Replace an entry's hash with a near copy of another.
        const id = live[next() % live.length];
        const code = nearCode(pool.codes, next() % pool.ids.length, next() % 20, next);
        index.add(id, code);
        brute.add(id, code);
      } else if (roll < 95) {
        const at = next() % live.length;
        const id = live[at];
        live[at] = live[live.length - 1];
        live.pop();
        expect(index.remove(id)).toBe(true);
        expect(brute.remove(id)).toBe(true);
      } else if (roll < 96) {
        index.compact();
      }
      if (step % 25 === 0) {
        expect(index.size).toBe(brute.size);
        expectSame(index, brute, makeQuery(pool, next), next() % 65);
        searches++;
      }
    }
    expect(index.stats().parts.some((p) => p.chunks !== null)).toBe(true);
    expect(searches).toBeGreaterThan(300);
    for (const id of live) expect(index.has(id)).toBe(true);
  });

  it('while a compaction runs elsewhere, and after its parts are swapped in', () => {
    const next = uint32Source(77);
    const pool = makeBank(9000, next);
    const index = PdqIndex.fromCodes(pool.ids.slice(0, 5000), pool.codes.slice(0, 5000 * 8), {
      shared: true,
      deltaCapacity: 300,
    });
    const brute = bruteOf({ ids: pool.ids.slice(0, 5000), codes: pool.codes.slice(0, 5000 * 8) });
    const mutate = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const code = pool.codes.subarray(i * 8, i * 8 + 8);
        index.add(pool.ids[i], code);
        brute.add(pool.ids[i], code);
        const victim = pool.ids[next() % i];
        expect(index.remove(victim)).toBe(brute.remove(victim));
        const moved = pool.ids[next() % i];
        if (brute.has(moved)) {
          const replacement = nearCode(pool.codes, next() % 9000, 3, next);
          index.add(moved, replacement);
          brute.add(moved, replacement);
        }
      }
    };
    mutate(5000, 6000);
    const job = index.beginCompaction();
    expect(() => index.beginCompaction()).toThrow(/already running/);
    expect(() => index.compact()).toThrow(/already running/);
    // What the worker thread does, here: the job is plain data.
    const built = mergeParts(
      job.parts.map((data) => new Segment(data)),
      null,
      job.build,
    );
    mutate(6000, 8000); // after the worker read the parts, before the swap
    for (let k = 0; k < 60; k++) expectSame(index, brute, makeQuery(pool, next), next() % 40);
    index.finishCompaction(built);
    expect(index.size).toBe(brute.size);
    for (let k = 0; k < 150; k++) expectSame(index, brute, makeQuery(pool, next), next() % 40);
    mutate(8000, 9000);
    index.compact();
    expect(index.stats().parts.length).toBe(1);
    for (let k = 0; k < 60; k++) expectSame(index, brute, makeQuery(pool, next), next() % 40);
    expect(() => new PdqIndex().beginCompaction()).toThrow(/shared/);
  });

  it('over the 8 variants of a query', () => {
    const next = uint32Source(8);
    const bank = makeBank(5000, next);
    const index = PdqIndex.fromCodes(bank.ids, bank.codes);
    const brute = bruteOf(bank);
    let matched = 0;
    for (let k = 0; k < 60; k++) {
      const variants = Array.from({ length: 8 }, () => makeQuery(bank, next));
      matched += expectSame(index, brute, variants, next() % 53);
    }
    expect(matched).toBeGreaterThan(40);
  });

  it("on the C++ reference's multi-index regression lists", () => {
    const dir = path.resolve(
      import.meta.dirname,
      '../../../shared/conformance/pdq/hashlists/upstream',
    );
    const read = (name: string) =>
      readFileSync(path.join(dir, name), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
    const haystack = read('haystack.txt');
    const needles = read('needles.txt');
    const ids = Uint32Array.from(haystack.keys());
    const codes = new Uint32Array(haystack.length * 8);
    haystack.forEach((hex, i) => pdqHexToWords(hex, codes, i * 8));
    const brute = bruteOf({ ids, codes });
    // Tabled even though small, so the real hashes' skewed bits go through the tables.
    const index = PdqIndex.fromCodes(ids, codes, { minTableEntries: 1 });
    expect(index.stats().parts[0].chunks).not.toBeNull();
    let matched = 0;
    for (const needle of [...needles, ...haystack.slice(0, 100)]) {
      for (const radius of [0, 10, 31, 52]) matched += expectSame(index, brute, needle, radius);
    }
    expect(matched).toBeGreaterThan(100);
  });
});
