import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BankIndex, loadBankFile, parseBankLine } from './bank-file.js';

const pdq = (flip: number) => {
  // 64 hex digits of zeros with the first `flip` bits set.
  const bits = '1'.repeat(flip).padEnd(256, '0');
  return bits
    .match(/.{4}/g)!
    .map((n) => parseInt(n, 2).toString(16))
    .join('');
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-bankfile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bank export lines', () => {
  it('reads the export format, skipping blanks, comments and unknown types', () => {
    expect(
      parseBankLine(
        '{"type":"md5","value":"ABCDEF0123456789ABCDEF0123456789","bank":"police","category":"baseline","addedAt":"2025-01-01T00:00:00.000Z"}',
        1,
        'file',
      ),
    ).toEqual({
      kind: 'entry',
      entry: {
        type: 'md5',
        value: 'abcdef0123456789abcdef0123456789',
        bank: 'police',
        category: 'baseline',
      },
    });
    expect(parseBankLine('   ', 2, 'file')).toEqual({ kind: 'blank' });
    expect(parseBankLine('# exported 2025', 3, 'file')).toEqual({ kind: 'blank' });
    expect(parseBankLine('{"type":"tmk","value":"00"}', 4, 'file')).toEqual({
      kind: 'unknown-type',
      type: 'tmk',
    });
    expect(parseBankLine(`{"type":"pdq","value":"${pdq(0)}"}`, 5, 'mybank')).toMatchObject({
      entry: { bank: 'mybank', category: '' },
    });
  });

  it('stops at a malformed line, naming it', () => {
    expect(() => parseBankLine('not json', 7, 'f')).toThrow(
      'Line 7 of the bank file: it is not JSON',
    );
    expect(() => parseBankLine('{"type":"sha256","value":"xyz"}', 8, 'f')).toThrow(
      /Line 8 .*not a sha256 hash/,
    );
  });
});

describe('the bank index', () => {
  it('finds exact hashes by equality and PDQ hashes within the radius', () => {
    const index = new BankIndex();
    index.add({ type: 'pdq', value: pdq(0), bank: 'a', category: 'baseline' });
    index.add({ type: 'pdq', value: pdq(50), bank: 'b', category: 'national' });
    index.add({ type: 'sha256', value: 'e'.repeat(64), bank: 'a', category: 'baseline' });
    expect(index.lookup({ type: 'pdq', value: pdq(10) }, 31)).toEqual([
      { bank: 'a', category: 'baseline', distance: 10 },
    ]);
    expect(index.lookup({ type: 'pdq', value: pdq(20) }, 31)).toEqual([
      { bank: 'a', category: 'baseline', distance: 20 },
      { bank: 'b', category: 'national', distance: 30 },
    ]);
    expect(index.lookup({ type: 'sha256', value: 'e'.repeat(64) }, 31)).toEqual([
      { bank: 'a', category: 'baseline', distance: 0 },
    ]);
    expect(index.lookup({ type: 'md5', value: 'e'.repeat(32) }, 31)).toEqual([]);
  });

  it('loads a file and says which line is wrong', async () => {
    const good = path.join(dir, 'good.jsonl');
    await writeFile(
      good,
      [
        `{"type":"pdq","value":"${pdq(1)}","bank":"x","category":"c"}`,
        '',
        '{"type":"video-md5","value":"00"}',
        '',
      ].join('\n'),
    );
    const loaded = await loadBankFile(good);
    expect(loaded.index.size).toBe(1);
    expect(loaded.unknownTypes).toEqual({ 'video-md5': 1 });
    const bad = path.join(dir, 'bad.jsonl');
    await writeFile(bad, `{"type":"pdq","value":"${pdq(1)}"}\n{"type":"pdq"}\n`);
    await expect(loadBankFile(bad)).rejects.toThrow(/Line 2 of the bank file/);
    await expect(loadBankFile(path.join(dir, 'missing.jsonl'))).rejects.toThrow(
      /There is no bank file at/,
    );
  });
});
