import { describe, expect, it } from 'vitest';
import { checkResponseJson } from './check-routes.js';
import { CheckRequestSchema, readCheckRequest } from './check-schemas.js';

/** The zod-free reading of a check request and the hand-written response: same answers as the generic way. */

const pdq = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';

const BODIES: unknown[] = [
  { hashes: [{ type: 'pdq', value: pdq }] },
  { hashes: [{ type: 'pdq', value: pdq, quality: 0 }], threshold: 0 },
  { hashes: [{ type: 'pdq', value: pdq, quality: 100, extra: 1 }], threshold: 52, more: true },
  { hashes: [{ type: 'md5', value: 'NOT HEX' }] }, // valid for the schema; the hex is checked later
  { hashes: [{ type: 'sha1', value: 'x'.repeat(200) }] },
  { hashes: [{ type: 'sha1', value: 'x'.repeat(201) }] },
  { hashes: [] },
  { hashes: [{ type: 'PDQ', value: pdq }] },
  { hashes: [{ type: 'pdq', value: 5 }] },
  { hashes: [{ type: 'pdq', value: pdq, quality: 101 }] },
  { hashes: [{ type: 'pdq', value: pdq, quality: 50.5 }] },
  { hashes: [{ type: 'pdq', value: pdq, quality: null }] },
  { hashes: [{ type: 'pdq', value: pdq, quality: '50' }] },
  { hashes: [{ type: 'pdq', value: pdq }], threshold: 53 },
  { hashes: [{ type: 'pdq', value: pdq }], threshold: -1 },
  { hashes: [{ type: 'pdq', value: pdq }], threshold: 3.5 },
  { hashes: [{ type: 'pdq', value: pdq }], threshold: null },
  { hashes: [null] },
  { hashes: [[]] },
  { hashes: [{ value: pdq }] },
  { hashes: {} },
  { hashes: 'pdq' },
  {},
  [],
  null,
  'text',
  7,
];

describe('readCheckRequest', () => {
  it.each(BODIES.map((body) => [JSON.stringify(body), body]))(
    'agrees with CheckRequestSchema on %s',
    (_, body) => {
      const fast = readCheckRequest(body);
      const zod = CheckRequestSchema.safeParse(body);
      // It may leave a request to zod, never accept what zod refuses, nor read it differently.
      if (fast !== undefined) {
        expect(zod.success).toBe(true);
        expect(fast).toStrictEqual(zod.data);
      }
      if (zod.success) expect(fast).toStrictEqual(zod.data);
    },
  );
});

describe('checkResponseJson', () => {
  it('writes what JSON.stringify writes', () => {
    const results = [
      { type: 'pdq' as const, value: pdq, matches: [] },
      {
        type: 'pdq' as const,
        value: pdq,
        quality: 49,
        reliable: false,
        matches: [
          { bank: 'police "nl"', category: 'base\\line\n', distance: 4 },
          { bank: 'ü', category: '', distance: 31 },
        ],
      },
      {
        type: 'md5' as const,
        value: 'ab'.repeat(16),
        matches: [{ bank: 'b', category: 'c', distance: 0 }],
      },
    ];
    expect(checkResponseJson(results)).toBe(JSON.stringify({ results }));
    expect(checkResponseJson([])).toBe(JSON.stringify({ results: [] }));
  });
});
