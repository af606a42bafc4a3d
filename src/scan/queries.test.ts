import { describe, expect, it } from 'vitest';
import type { PdqHex } from '../hash/pdq-hash.js';
import { itemMatches, queriesFor } from './queries.js';

const md5 = 'a'.repeat(32);
const sha1 = 'b'.repeat(40);
const sha256 = 'c'.repeat(64);
const pdq = 'd'.repeat(64) as PdqHex;

describe('which hashes are checked', () => {
  it('sends exact hashes and a good PDQ, nothing else', () => {
    const queries = queriesFor(
      { bytes: 10, md5, sha1, sha256, format: 'jpeg', pdq, pdqQuality: 80 },
      { minPdqQuality: 50 },
    );
    expect(queries).toEqual([
      { type: 'md5', value: md5 },
      { type: 'sha1', value: sha1 },
      { type: 'sha256', value: sha256 },
      { type: 'pdq', value: pdq },
    ]);
  });

  it('leaves out a low-quality PDQ but keeps the exact hashes', () => {
    const queries = queriesFor(
      { bytes: 10, md5, sha1, sha256, pdq, pdqQuality: 20 },
      { minPdqQuality: 50 },
    );
    expect(queries.map((q) => q.type)).toEqual(['md5', 'sha1', 'sha256']);
  });

  it('sends nothing for an empty file (its hashes are those of nothing)', () => {
    expect(queriesFor({ bytes: 0, md5, sha1, sha256 }, { minPdqQuality: 50 })).toEqual([]);
  });
});

describe('what the answers mean', () => {
  const queries = [
    { type: 'sha256', value: sha256 },
    { type: 'pdq', value: pdq },
  ] as const;

  it('keeps one match per bank and category, exact over PDQ', () => {
    const matches = itemMatches(
      queries,
      [
        [{ bank: 'police', category: 'baseline', distance: 0 }],
        [
          { bank: 'police', category: 'baseline', distance: 4 },
          { bank: 'hotline', category: 'national', distance: 12 },
        ],
      ],
      31,
    );
    expect(matches).toEqual([
      { bank: 'police', category: 'baseline', distance: 0, type: 'sha256' },
      { bank: 'hotline', category: 'national', distance: 12, type: 'pdq' },
    ]);
  });

  it('drops PDQ hits beyond the threshold (a server may use a looser one)', () => {
    const matches = itemMatches(queries, [[], [{ bank: 'b', category: 'c', distance: 32 }]], 31);
    expect(matches).toEqual([]);
    expect(
      itemMatches(queries, [[], [{ bank: 'b', category: 'c', distance: 31 }]], 31),
    ).toHaveLength(1);
  });
});
