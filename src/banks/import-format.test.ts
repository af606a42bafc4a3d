import { describe, expect, it } from 'vitest';
import {
  detectFormat,
  headerColumns,
  parseHashLine,
  parseJsonLine,
  parseRecord,
} from './import-format.js';

const pdq = 'a'.repeat(64);

describe('import formats', () => {
  it('are told apart by the first meaningful line', () => {
    expect(detectFormat('{"type":"pdq"}', undefined)).toBe('jsonl');
    expect(detectFormat('\uFEFFtype,value', undefined)).toBe('csv');
    expect(detectFormat('Hash\tType\tnote', undefined)).toBe('tsv');
    expect(detectFormat(pdq, 'pdq')).toBe('hashes');
    expect(() => detectFormat(pdq, undefined)).toThrow(/--type/);
    expect(() => detectFormat('name,size', undefined)).toThrow(/names no "value" column/);
    expect(() => detectFormat('hello world', 'md5')).toThrow(/Cannot tell the file's format/);
  });

  it('need a type column unless --type gives it', () => {
    expect(headerColumns(['value', 'note'], 'md5')).toEqual({ value: 0, note: 1 });
    expect(() => headerColumns(['value'], undefined)).toThrow(/no "type" column/);
    expect(headerColumns(['Signal_Type', 'hash', 'added_at', 'source_ref'], undefined)).toEqual({
      type: 0,
      value: 1,
      addedAt: 2,
      source: 3,
    });
  });

  it('turn each line into an entry or a reason', () => {
    expect(parseHashLine('  # comment', 1, 'pdq')).toBeUndefined();
    expect(parseHashLine(` ${pdq.toUpperCase()} `, 2, 'pdq')).toEqual({
      kind: 'entry',
      entry: { line: 2, type: 'pdq', value: pdq, addedAt: null, sourceRef: null, note: null },
    });
    expect(parseRecord(['md5', 'x'], 3, { type: 0, value: 1 }, undefined)).toEqual({
      kind: 'invalid',
      error: {
        line: 3,
        reason: '"x" is not a md5 hash: it contains characters other than 0-9 and a-f',
      },
    });
    expect(
      parseJsonLine('{"type":"pdq","value":"' + pdq + '","addedAt":"yesterday"}', 4, undefined),
    ).toEqual({
      kind: 'invalid',
      error: { line: 4, reason: expect.stringMatching(/^addedAt "yesterday" is not a date/) },
    });
    expect(parseJsonLine('[1]', 5, undefined)).toMatchObject({
      kind: 'invalid',
      error: { reason: expect.stringMatching(/not a JSON object/) },
    });
    expect(
      parseJsonLine(`{"type":"pdq","value":"${pdq}","note":"${'n'.repeat(1001)}"}`, 6, undefined),
    ).toMatchObject({
      kind: 'invalid',
      error: { reason: 'note is 1001 characters long; at most 1000 are kept' },
    });
  });
});
