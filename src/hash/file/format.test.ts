import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { DIHEDRAL_NAMES } from '../pdq-dct.js';
import type { PdqHex } from '../pdq-hash.js';
import type { PdqVariants } from '../pdq.js';
import { columnNames, recordFormatter, recordValues } from './format.js';
import type { HashRecord } from './hash-file.js';

const hex = (digit: string, n: number) => digit.repeat(n);
const variants = Object.fromEntries(
  DIHEDRAL_NAMES.map((name, i) => [name, hex(String(i), 64) as PdqHex]),
) as PdqVariants;

const image: HashRecord = {
  // Built out of order: the output order must not depend on it.
  pdqQuality: 87,
  pdq: hex('a', 64) as PdqHex,
  path: 'photos/holiday, "best".jpg',
  format: 'jpeg',
  bytes: 1234,
  md5: hex('1', 32),
  sha1: hex('2', 40),
  sha256: hex('3', 64),
  pdqVariants: variants,
};
const failed: HashRecord = {
  path: 'odd\tname\nwith\\breaks',
  error: { code: 'not-found', message: 'There is no file or folder at this path.' },
};

describe('jsonl', () => {
  it('writes the documented fields in the documented order, one line per record', () => {
    const { header, line } = recordFormatter('jsonl');
    expect(header).toBe('');
    const text = line(image);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toContain('\n');
    expect(Object.keys(JSON.parse(text))).toEqual([
      'path',
      'bytes',
      'md5',
      'sha1',
      'sha256',
      'format',
      'pdq',
      'pdqQuality',
      'pdqVariants',
    ]);
    expect(JSON.parse(line(failed))).toEqual(failed);
  });
});

describe('csv', () => {
  it('round-trips through a CSV parser, quotes and all', () => {
    const { header, line } = recordFormatter('csv', { variants: true });
    const rows = parse(header + line(image) + line(failed), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(Object.keys(rows[0])).toEqual(columnNames(true));
    expect(rows[0]).toMatchObject({
      path: image.path,
      bytes: '1234',
      pdq: image.pdq,
      pdqQuality: '87',
      'pdqVariants.rot90': variants.rot90,
      'pdqVariants.flipminus1': variants.flipminus1,
      'error.code': '',
    });
    expect(rows[1]).toMatchObject({ path: failed.path, md5: '', 'error.code': 'not-found' });
  });

  it('has one column per variant only with variants', () => {
    expect(columnNames(false)).not.toContain('pdqVariants.orig');
    expect(columnNames(true).filter((c) => c.startsWith('pdqVariants.'))).toHaveLength(8);
  });
});

describe('tsv', () => {
  it('escapes tabs, newlines and backslashes so every record is one line', () => {
    const { header, line } = recordFormatter('tsv', { variants: true });
    expect(header).toBe(`${columnNames(true).join('\t')}\n`);
    const text = line(failed);
    expect(text.split('\n')).toHaveLength(2);
    const cells = text.slice(0, -1).split('\t');
    expect(cells).toHaveLength(columnNames(true).length);
    expect(cells[0]).toBe('odd\\tname\\nwith\\\\breaks');
    expect(line(image).slice(0, -1).split('\t')).toEqual(recordValues(image, true));
  });
});
