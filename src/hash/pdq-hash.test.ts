import { describe, expect, it } from 'vitest';
import { TakedownError } from '../errors.js';
import { DCT_MATRIX } from './pdq-dct-matrix.js';
import {
  hammingDistance,
  isPdqHex,
  parsePdqHex,
  pdqBytesToHex,
  pdqHexToBytes,
  pdqHexToWords,
  pdqWordsToHex,
  popcount32,
} from './pdq-hash.js';
import { normalizeSignalValue, parseSignalType } from './signal.js';

const A = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';
const B = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';

describe('PDQ hex helpers', () => {
  it('round-trips words and bytes', () => {
    expect(pdqWordsToHex(pdqHexToWords(A))).toBe(A);
    expect(pdqBytesToHex(pdqHexToBytes(A))).toBe(A);
    expect(pdqHexToBytes(A)[0]).toBe(0xf8);
    expect(pdqHexToWords(A)[0]).toBe(0xf8f8f0ce);
  });

  it('normalizes case and surrounding space', () => {
    expect(parsePdqHex(`  ${A.toUpperCase()}\n`)).toBe(A);
  });

  it('counts differing bits', () => {
    expect(hammingDistance(A, A)).toBe(0);
    // fullres vs cli hash of the same photo: 6 bits apart (SPEC.md)
    expect(hammingDistance(A, B)).toBe(6);
    expect(hammingDistance('0'.repeat(64), 'f'.repeat(64))).toBe(256);
    expect(hammingDistance(pdqHexToWords(A), pdqHexToWords(B))).toBe(6);
    for (const x of [0, 1, 0xffffffff, 0x80000000, 0x12345678]) {
      expect(popcount32(x)).toBe(
        x
          .toString(2)
          .split('')
          .filter((c) => c === '1').length,
      );
    }
  });

  it('rejects bad hashes with a sentence, never NaN', () => {
    const cases: Array<[unknown, RegExp]> = [
      [A.slice(1), /63 hex digits, a pdq hash has 64/],
      [`${A}0`, /65 hex digits/],
      [A.replace('f', 'g'), /characters other than 0-9 and a-f/],
      [42, /must be a string/],
      ['', /0 hex digits/],
    ];
    for (const [value, message] of cases) {
      expect(() => parsePdqHex(value)).toThrow(message);
      expect(isPdqHex(value)).toBe(false);
      try {
        hammingDistance(A, value as string);
      } catch (error) {
        expect(error).toBeInstanceOf(TakedownError);
        expect((error as TakedownError).code).toBe('invalid-hash');
      }
    }
  });

  it('validates every signal type', () => {
    expect(normalizeSignalValue('md5', 'D41D8CD98F00B204E9800998ECF8427E')).toBe(
      'd41d8cd98f00b204e9800998ecf8427e',
    );
    expect(() => normalizeSignalValue('sha1', 'd41d8cd98f00b204e9800998ecf8427e')).toThrow(
      /a sha1 hash has 40/,
    );
    expect(() => parseSignalType('phash')).toThrow(/expected one of pdq, md5, sha1, sha256/);
  });
});

describe('the shipped DCT table', () => {
  it('equals the reference formula in float32', () => {
    const scale = Math.fround(Math.sqrt(2.0 / 64));
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 64; j++) {
        const value = Math.fround(scale * Math.cos((Math.PI / 2.0 / 64) * (i + 1) * (2 * j + 1)));
        expect(DCT_MATRIX[i * 64 + j]).toBe(value);
      }
    }
  });
});
