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
  });
});
