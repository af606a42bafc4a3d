import { describe, expect, it } from 'vitest';
import { pdqHexToWords, pdqWordsToHex } from '../hash/pdq-hash.js';
import { flipBits, randomCodes, uint32Source } from '../match/synthetic-codes.js';
import type { BankInfo, EntryInput, MatchQuery } from './bank-matcher.js';
import { BankMatcher, PendingEntries } from './bank-matcher.js';

/** Generated codes only: random 256-bit strings and copies with bits flipped. */
const next = uint32Source(7);
const bank = (id: number, over: Partial<BankInfo> = {}): BankInfo => ({
  id,
  name: `bank-${id}`,
  category: `cat-${id}`,
  source: 'test',
  enabled: true,
  pdqThreshold: 31,
  ...over,
});
const bytesOf = (words: Uint32Array): Uint8Array => {
  const out = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(out.buffer).setUint32(i * 4, w));
  return out;
};
const pdqEntry = (id: number, bankId: number, words: Uint32Array): EntryInput => ({
  id,
  bankId,
  type: 'pdq',
  value: bytesOf(words),
});
const near = (words: Uint32Array, flips: number): Uint32Array => {
  const copy = words.slice();
  flipBits(copy, flips, next);
  return copy;
};
const pdq = (...variants: Uint32Array[]): MatchQuery => ({ type: 'pdq', words: variants });

describe('BankMatcher', () => {
  it('finds the closest entry of each bank, ordered by distance, then bank name', () => {
    const codes = randomCodes(3, next);
    const a = codes.subarray(0, 8);
    const m = new BankMatcher();
    m.setBank(bank(1));
    m.setBank(bank(2, { name: 'aaa' }));
    m.addEntries([
      pdqEntry(1, 1, near(a, 10)),
      pdqEntry(2, 1, near(a, 3)),
      pdqEntry(3, 2, near(a, 3)),
      pdqEntry(4, 2, codes.subarray(8, 16)),
    ]);
    const [hits] = m.match([pdq(a)]);
    expect(hits.map((h) => [h.bank.name, h.entryId, h.distance])).toEqual([
      ['aaa', 3, 3],
      ['bank-1', 2, 3],
    ]);
    expect(m.match([pdq(codes.subarray(16, 24))])).toEqual([[]]);
  });

  it("uses each bank's threshold, or the one asked for", () => {
    const a = randomCodes(1, next);
    const m = new BankMatcher();
    m.setBank(bank(1, { pdqThreshold: 10 }));
    m.setBank(bank(2, { pdqThreshold: 40 }));
    m.addEntries([pdqEntry(1, 1, near(a, 20)), pdqEntry(2, 2, near(a, 35))]);
    expect(m.match([pdq(a)])[0].map((h) => h.bank.id)).toEqual([2]);
    expect(m.match([pdq(a)], 25)[0].map((h) => h.bank.id)).toEqual([1]);
    expect(m.match([pdq(a)], 52)[0].map((h) => h.distance)).toEqual([20, 35]);
    expect(m.stats().pdqGroups).toEqual({ '10': 1, '40': 1 });
  });

  it('matches the closest of several query variants', () => {
    const [a, b] = [randomCodes(1, next), randomCodes(1, next)];
    const m = new BankMatcher();
    m.setBank(bank(1));
    m.addEntries([pdqEntry(1, 1, near(b, 5))]);
    expect(m.match([pdq(a, near(b, 2))])[0][0].distance).toBeLessThanOrEqual(7);
    expect(m.match([pdq(a)])[0]).toEqual([]);
  });

  it('matches exact types by equality, and ignores disabled banks', () => {
    const m = new BankMatcher();
    m.setBank(bank(1));
    m.setBank(bank(2));
    const md5 = Uint8Array.from({ length: 16 }, (_, i) => i);
    m.addEntries([
      { id: 1, bankId: 1, type: 'md5', value: md5 },
      { id: 2, bankId: 2, type: 'md5', value: md5 },
    ]);
    const hex = Buffer.from(md5).toString('hex');
    expect(m.match([{ type: 'md5', value: hex }])[0].map((h) => [h.bank.id, h.distance])).toEqual([
      [1, 0],
      [2, 0],
    ]);
    m.setBank(bank(2, { enabled: false }));
    expect(m.match([{ type: 'md5', value: hex }])[0].map((h) => h.bank.id)).toEqual([1]);
    expect(m.removeBankEntries(2)).toBe(1);
    expect(m.stats().entries.md5).toBe(1);
  });

  it('stops matching a removed entry at once', () => {
    const a = randomCodes(1, next);
    const m = new BankMatcher();
    m.setBank(bank(1));
    m.addEntries([pdqEntry(5, 1, a)]);
    expect(m.match([pdq(a)])[0]).toHaveLength(1);
    expect(m.removeEntry(5)).toBe(true);
    expect(m.match([pdq(a)])[0]).toEqual([]);
    expect(m.removeEntry(5)).toBe(false);
  });

  it("moves a bank's entries when its threshold changes", () => {
    const a = randomCodes(1, next);
    const m = new BankMatcher();
    m.setBank(bank(1));
    const entry = pdqEntry(1, 1, near(a, 35));
    m.addEntries([entry]);
    expect(m.match([pdq(a)])[0]).toEqual([]);
    const pending = new PendingEntries();
    pending.push(entry);
    m.reindexBank(bank(1, { pdqThreshold: 40 }), pending);
    expect(m.match([pdq(a)])[0].map((h) => h.distance)).toEqual([35]);
    expect(m.stats().pdqGroups).toEqual({ '40': 1 });
  });

  it('answers the same whether entries arrive one by one or in bulk', () => {
    const n = 30_000;
    const codes = randomCodes(n, next);
    const rows = Array.from({ length: n }, (_, i) =>
      pdqEntry(i + 1, 1 + (i % 3), codes.subarray(i * 8, i * 8 + 8)),
    );
    const bulk = new BankMatcher();
    const single = new BankMatcher();
    for (const m of [bulk, single]) [1, 2, 3].forEach((id) => m.setBank(bank(id)));
    bulk.addEntries(rows.slice(0, 5_000));
    bulk.addEntries(rows.slice(5_000)); // 25,000 at once: rebuilt, not added one by one
    for (let i = 0; i < n; i += 1000) single.addEntries(rows.slice(i, i + 1000));
    bulk.removeEntry(7);
    single.removeEntry(7);
    const queries = Array.from({ length: 200 }, (_, i) =>
      pdq(i % 2 ? near(codes.subarray(i * 8, i * 8 + 8), 1 + (i % 30)) : randomCodes(1, next)),
    );
    const strip = (hits: ReturnType<BankMatcher['match']>) =>
      hits.map((list) => list.map((h) => [h.bank.id, h.entryId, h.distance]));
    expect(strip(bulk.match(queries))).toEqual(strip(single.match(queries)));
    expect(bulk.stats().entries.pdq).toBe(n - 1);
  });

  it('keeps hex and words in the same order as the hash functions', () => {
    const hex = 'f'.repeat(8) + '0'.repeat(48) + '12345678';
    const m = new BankMatcher();
    m.setBank(bank(1));
    m.addEntries([{ id: 1, bankId: 1, type: 'pdq', value: Buffer.from(hex, 'hex') }]);
    expect(m.match([pdq(pdqHexToWords(hex))])[0][0].distance).toBe(0);
    expect(pdqWordsToHex(pdqHexToWords(hex))).toBe(hex);
  });
});
