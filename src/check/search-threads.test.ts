import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { flipBits, randomCodes, uint32Source } from '../match/synthetic-codes.js';
import type { BankInfo, EntryInput, MatchQuery } from './bank-matcher.js';
import { BankMatcher } from './bank-matcher.js';
import { SearchThreads } from './search-threads.js';

// Worker threads run the compiled search worker (`npm test` builds first).
const WORKER = path.resolve(import.meta.dirname, '../../dist/src/match/node/search-worker.js');

/** Generated codes only: random 256-bit strings and copies with bits flipped. */
const next = uint32Source(99);
const bank = (id: number, pdqThreshold: number): BankInfo => ({
  id,
  name: `bank-${id}`,
  category: 'c',
  source: 'test',
  enabled: true,
  pdqThreshold,
});
const bytesOf = (words: Uint32Array): Uint8Array => {
  const out = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(out.buffer).setUint32(i * 4, w));
  return out;
};

describe('SearchThreads', () => {
  const threads = new SearchThreads({
    logger: createLogger('silent'),
    threads: 2,
    minBatch: 10,
    workerUrl: pathToFileURL(WORKER),
  });
  afterAll(() => threads.close());

  it('answers large batches exactly as the calling thread does', async () => {
    if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run "npm run build" first.`);
    const n = 20_000;
    const codes = randomCodes(n, next);
    const m = new BankMatcher();
    // Two thresholds: two PDQ indexes, each with its own pool.
    for (const [id, t] of [
      [1, 31],
      [2, 31],
      [3, 20],
    ])
      m.setBank(bank(id, t));
    const rows: EntryInput[] = Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      bankId: 1 + (i % 3),
      type: 'pdq',
      value: bytesOf(codes.subarray(i * 8, i * 8 + 8)),
    }));
    rows.push({ id: n + 1, bankId: 2, type: 'sha256', value: new Uint8Array(32).fill(7) });
    m.addEntries(rows);
    m.removeEntry(5);
    const queries: MatchQuery[] = Array.from({ length: 300 }, (_, i) => {
      if (i % 50 === 0) return { type: 'sha256', value: '07'.repeat(32) };
      if (i % 2) return { type: 'pdq', words: [randomCodes(1, next)] };
      const q = codes.slice((i % n) * 8, (i % n) * 8 + 8);
      flipBits(q, 1 + (i % 30), next);
      return { type: 'pdq', words: i % 3 ? [q] : [randomCodes(1, next), q] };
    });
    const strip = (hits: ReturnType<BankMatcher['match']>) =>
      hits.map((list) => list.map((h) => [h.bank.id, h.entryId, h.distance]));
    const expected = strip(m.match(queries));
    expect(expected.filter((h) => h.length > 0).length).toBeGreaterThan(100);
    threads.prune(m.parts().pdq.values());
    // The first large batch starts the pools and is answered here meanwhile.
    expect(strip(await m.matchWith(queries, undefined, threads.search))).toEqual(expected);
    for (let i = 0; i < 250; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (threads.running === m.parts().pdq.size) break;
    }
    expect(threads.running).toBe(2);
    expect(strip(await m.matchWith(queries, undefined, threads.search))).toEqual(expected);
    expect(strip(await m.matchWith(queries, 40, threads.search))).toEqual(
      strip(m.match(queries, 40)),
    );
    // Small batches stay in this thread; answers are the same either way.
    expect(threads.wants(9)).toBe(false);
    expect(threads.wants(10)).toBe(true);
    expect(threads.wants(0, 10_000)).toBe(false);
  });

  it('gathers small batches against a large bank and answers each exactly', async () => {
    if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run "npm run build" first.`);
    const gathering = new SearchThreads({
      logger: createLogger('silent'),
      threads: 2,
      minBatch: 10,
      minEntries: 5_000,
      workerUrl: pathToFileURL(WORKER),
    });
    try {
      const n = 6_000;
      const codes = randomCodes(n, next);
      const m = new BankMatcher();
      m.setBank(bank(1, 31));
      m.addEntries(
        Array.from({ length: n }, (_, i) => ({
          id: i + 1,
          bankId: 1,
          type: 'pdq' as const,
          value: bytesOf(codes.subarray(i * 8, i * 8 + 8)),
        })),
      );
      expect(gathering.wants(1, n)).toBe(true);
      expect(gathering.wants(1, 4_999)).toBe(false);
      // As concurrent requests would: one or two hashes each, half of them near a stored one.
      const asks: MatchQuery[][] = Array.from({ length: 40 }, (_, i) => {
        const q = codes.slice(((i * 97) % n) * 8, ((i * 97) % n) * 8 + 8);
        flipBits(q, 1 + (i % 30), next);
        const near: MatchQuery = { type: 'pdq', words: [q] };
        const far: MatchQuery = { type: 'pdq', words: [randomCodes(1, next)] };
        return i % 3 === 0 ? [near, far] : [i % 2 ? near : far];
      });
      const strip = (hits: ReturnType<BankMatcher['match']>) =>
        hits.map((list) => list.map((h) => [h.bank.id, h.entryId, h.distance]));
      const expected = asks.map((ask) => strip(m.match(ask)));
      expect(expected.flat().filter((h) => h.length > 0).length).toBeGreaterThan(15);
      gathering.prune(m.parts().pdq.values());
      // The first search starts the pool and is answered in this thread meanwhile.
      await m.matchWith(asks[0], undefined, gathering.search);
      for (let i = 0; i < 250 && gathering.running === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(gathering.running).toBe(1);
      const answers = await Promise.all(
        asks.map((ask) => m.matchWith(ask, undefined, gathering.search)),
      );
      expect(answers.map(strip)).toEqual(expected);
      // All 40 asks (54 hashes) arrived in one turn of the event loop: they
      // leave together, in shares of whole asks of at most 8 hashes.
      expect(gathering.sent).toEqual({ batches: 7, queries: 54 });
      // A radius of their own travels separately, with the same answers.
      const [a, b] = await Promise.all([
        m.matchWith(asks[1], 40, gathering.search),
        m.matchWith(asks[2], undefined, gathering.search),
      ]);
      expect([strip(a), strip(b)]).toEqual([strip(m.match(asks[1], 40)), expected[2]]);
      expect(gathering.sent.batches).toBe(9);
      // While a large batch is out, small ones are answered here, not queued behind it.
      const large = asks.flat().concat(asks.flat());
      const [big, small] = await Promise.all([
        m.matchWith(large, undefined, gathering.search),
        m.matchWith(asks[3], undefined, gathering.search),
      ]);
      expect(strip(big)).toEqual(strip(m.match(large)));
      expect(strip(small)).toEqual(expected[3]);
      expect(gathering.sent).toEqual({ batches: 10, queries: 54 + 2 + 108 });
    } finally {
      await gathering.close();
    }
  });
});
