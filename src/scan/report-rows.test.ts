import { describe, expect, it } from 'vitest';
import type { PdqHex } from '../hash/pdq-hash.js';
import { csvHeader, csvRow, flattenRow, reportFormatFor } from './report-rows.js';

describe('report rows', () => {
  it('takes the format from the name unless told', () => {
    expect(reportFormatFor('/tmp/scan.JSON', undefined)).toBe('json');
    expect(reportFormatFor('scan.csv', undefined)).toBe('csv');
    expect(reportFormatFor('scan.txt', 'csv')).toBe('csv');
    expect(() => reportFormatFor('scan.txt', undefined)).toThrow(/--report-format/);
  });

  it('flattens a match with its hashes, bank, category and distance', () => {
    const row = flattenRow({
      status: 'match',
      location: { kind: 'url', url: 'https://example.com/a.jpg', page: 'https://example.com/' },
      record: {
        bytes: 5,
        sha256: 'f'.repeat(64),
        pdq: 'e'.repeat(64) as PdqHex,
        pdqQuality: 90,
        format: 'jpeg',
      },
      match: { bank: 'police', category: 'baseline', distance: 7, type: 'pdq' },
    });
    expect(row).toMatchObject({
      status: 'match',
      url: 'https://example.com/a.jpg',
      page: 'https://example.com/',
      pdq: 'e'.repeat(64),
      bank: 'police',
      category: 'baseline',
      distance: 7,
      matchedBy: 'pdq',
    });
    expect(csvHeader()).toBe(
      'status,path,url,page,bytes,format,md5,sha1,sha256,pdq,pdqQuality,matchedBy,bank,category,distance,errorCode,errorMessage\n',
    );
  });

  it('quotes CSV and defuses cells a spreadsheet would run as formulas', () => {
    const line = csvRow({
      status: 'error',
      path: '=HYPERLINK("http://evil.example","x"),y',
      errorCode: 'corrupt-image',
      errorMessage: '@SUM(1)',
    });
    expect(line).toBe(
      `error,"'=HYPERLINK(""http://evil.example"",""x""),y",,,,,,,,,,,,,,corrupt-image,'@SUM(1)\n`,
    );
  });
});
