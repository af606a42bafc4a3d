import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../test/support/db.js';
import type { CheckHarness } from '../../test/support/hash-check.js';
import { importLines, startCheckHarness, within } from '../../test/support/hash-check.js';
import { noiseImage, syntheticImage } from '../../test/support/synthetic.js';
import { createBank } from '../banks/queries.js';
import { hashBytes } from '../hash/file/hash-file.js';
import { pdqHexToWords, pdqWordsToHex } from '../hash/pdq-hash.js';
import { flipBits, uint32Source } from '../match/synthetic-codes.js';
import { addProvider, createKey, revokeKey } from '../providers/queries.js';
import { createApp } from './app.js';
import { Readiness } from './readiness.js';

/** Generated hashes and synthetic images only. */
const next = uint32Source(99);
const randomPdq = () => pdqWordsToHex(Uint32Array.from({ length: 8 }, next));
const flipped = (hex: string, bits: number) => {
  const words = pdqHexToWords(hex);
  flipBits(words, bits, next);
  return pdqWordsToHex(words);
};
const md5 = (n: number) => n.toString(16).padStart(32, '0');

const P1 = randomPdq();
const P1_FAR = flipped(P1, 25); // in hotline, threshold 20: only found with a looser request threshold
const M1 = md5(1);

async function png(raw: { width: number; height: number; channels: 1 | 3 | 4; data: Uint8Array }) {
  return sharp(Buffer.from(raw.data), {
    raw: { width: raw.width, height: raw.height, channels: raw.channels },
  })
    .png()
    .toBuffer();
}

describeEachDatabase('hash-check API', (t) => {
  let h: CheckHarness;
  let key: string;
  let slowKey: string;
  let image: Buffer;
  let imagePdq: string;

  beforeAll(async () => {
    await createBank(t.db, { name: 'police', category: 'baseline', source: 'police' });
    await createBank(t.db, { name: 'hotline', category: 'national', pdqThreshold: 20 });
    image = await png(syntheticImage(320, 240, 5));
    const hashed = await hashBytes(image);
    imagePdq = hashed.pdq as string;
    await importLines(t.db, 'police', [
      { type: 'pdq', value: P1 },
      { type: 'md5', value: M1 },
      { type: 'pdq', value: imagePdq },
      { type: 'sha256', value: hashed.sha256 },
    ]);
    await importLines(t.db, 'hotline', [
      { type: 'pdq', value: P1_FAR },
      { type: 'md5', value: M1 },
    ]);
    await addProvider(t.db, { name: 'acme' });
    key = (await createKey(t.db, 'acme')).key;
    slowKey = (await createKey(t.db, 'acme', { hashesPerSecond: 5 })).key;
    h = await startCheckHarness(t.db, { TAKEDOWN_CHECK_BURST_HASHES: '10000' });
  });
  afterAll(() => h?.stop());

  const check = (body: unknown, withKey = key) =>
    h.app.request('/v1/check', {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${withKey}` },
    });
  const json = async (res: Response) => (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  it('is ready once the matcher has loaded', async () => {
    const res = await h.app.request('/readyz');
    expect((await json(res)).checks.matcher).toEqual({ ok: true });
  });

  it('asks for a key, and refuses a wrong one with a plain sentence', async () => {
    const none = await h.app.request('/v1/check', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(none.status).toBe(401);
    expect((await json(none)).error.code).toBe('authentication-required');
    const wrong = await check({ hashes: [{ type: 'md5', value: M1 }] }, `tdk_${'x'.repeat(40)}`);
    expect(wrong.status).toBe(401);
    expect((await json(wrong)).error).toEqual({
      code: 'invalid-api-key',
      message: expect.stringMatching(/^The API key in the Authorization header is not valid/),
    });
  });

  it('answers in the order asked, with bank, category and distance, empty when nothing matches', async () => {
    const unknownPdq = randomPdq();
    const res = await check({
      hashes: [
        { type: 'pdq', value: flipped(P1, 3).toUpperCase() },
        { type: 'md5', value: md5(2) },
        { type: 'md5', value: M1 },
        { type: 'pdq', value: unknownPdq },
      ],
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.results).toEqual([
      {
        type: 'pdq',
        value: expect.stringMatching(/^[0-9a-f]{64}$/),
        matches: [{ bank: 'police', category: 'baseline', distance: 3 }],
      },
      { type: 'md5', value: md5(2), matches: [] },
      {
        type: 'md5',
        value: M1,
        matches: [
          { bank: 'hotline', category: 'national', distance: 0 },
          { bank: 'police', category: 'baseline', distance: 0 },
        ],
      },
      { type: 'pdq', value: unknownPdq, matches: [] },
    ]);
    // Nothing about a hash that matched nothing is kept or logged.
    expect(h.log.join('\n')).not.toContain(unknownPdq);
    expect(h.log.join('\n')).not.toContain(md5(2));
  });

  it('answers the same whether the body takes the short cut or goes through zod', async () => {
    const body = JSON.stringify({
      hashes: [
        { type: 'pdq', value: flipped(P1, 2), quality: 40 },
        { type: 'md5', value: M1.toUpperCase(), extra: 'dropped' },
        { type: 'sha256', value: 'ab'.repeat(32) },
      ],
      threshold: 10,
    });
    const as = async (contentType: string) => {
      const res = await h.app.request('/v1/check', {
        method: 'POST',
        body,
        headers: { 'content-type': contentType, authorization: `Bearer ${key}` },
      });
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    };
    // application/json is read without zod; a +json media type goes the documented way.
    const fast = await as('application/json');
    const zod = await as('application/vnd.takedown+json');
    expect(fast.status).toBe(200);
    expect(fast).toEqual(zod);
    expect(JSON.parse(fast.text).results[1].matches).toHaveLength(2);
  });

  it("uses each bank's threshold, or the request's (up to 52)", async () => {
    const near = { type: 'pdq', value: P1 };
    expect((await json(await check({ hashes: [near] }))).results[0].matches).toEqual([
      { bank: 'police', category: 'baseline', distance: 0 },
    ]);
    expect((await json(await check({ hashes: [near], threshold: 30 }))).results[0].matches).toEqual(
      [
        { bank: 'police', category: 'baseline', distance: 0 },
        { bank: 'hotline', category: 'national', distance: 25 },
      ],
    );
    const tooLoose = await check({ hashes: [near], threshold: 53 });
    expect(tooLoose.status).toBe(400);
    expect((await json(tooLoose)).error.message).toMatch(/threshold/);
  });

  it('flags a low-quality PDQ hash as unreliable and still checks it', async () => {
    const body = await json(
      await check({
        hashes: [
          { type: 'pdq', value: P1, quality: 12 },
          { type: 'pdq', value: P1, quality: 90 },
        ],
      }),
    );
    expect(body.results[0]).toMatchObject({
      quality: 12,
      reliable: false,
      matches: [{ bank: 'police' }],
    });
    expect(body.results[1]).toMatchObject({ quality: 90, reliable: true });
  });

  it('refuses more than 10,000 hashes with 413, naming the limit', async () => {
    const hashes = Array.from({ length: 10_001 }, (_, i) => ({ type: 'md5', value: md5(i) }));
    const res = await check({ hashes });
    expect(res.status).toBe(413);
    const { error } = await json(res);
    expect(error.code).toBe('too-many-hashes');
    expect(error.message).toMatch(/at most 10,000 hashes/);
    expect(error.details).toEqual({ limit: 10000, got: 10001 });
  });

  it('names a bad hash by its index and says why', async () => {
    const res = await check({
      hashes: [
        { type: 'md5', value: M1 },
        { type: 'pdq', value: 'abc' },
        { type: 'sha1', value: 'zz' },
      ],
    });
    expect(res.status).toBe(400);
    const { error } = await json(res);
    expect(error.code).toBe('invalid-hash');
    expect(error.message).toMatch(
      /^hashes\[1\]: "abc" is not a pdq hash: it has 3 hex digits, a pdq hash has 64 \(and 1 more; see details\)$/,
    );
    expect(error.details.issues.map((i: { index: number }) => i.index)).toEqual([1, 2]);
  });

  it('answers malformed JSON, an unknown type and an empty list with 400', async () => {
    const broken = await check('{"hashes": [');
    expect(broken.status).toBe(400);
    expect((await json(broken)).error.code).toBe('invalid-json');
    const unknown = await check({ hashes: [{ type: 'sha512', value: 'ab' }] });
    expect((await json(unknown)).error.message).toMatch(/^Request body field hashes\.0\.type/);
    const empty = await check({ hashes: [] });
    expect(empty.status).toBe(400);
  });

  it("limits each key's rate with 429 and Retry-After", async () => {
    const hashes = Array.from({ length: 10_000 }, (_, i) => ({ type: 'md5', value: md5(i + 10) }));
    expect((await check({ hashes }, slowKey)).status).toBe(200);
    const limited = await check({ hashes: [{ type: 'md5', value: M1 }] }, slowKey);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    const { error } = await json(limited);
    expect(error.code).toBe('rate-limited');
    expect(error.message).toMatch(/^This key may check 5 hashes per second/);
    // Another key is not affected.
    expect((await check({ hashes: [{ type: 'md5', value: M1 }] })).status).toBe(200);
  });

  it('records matches (not misses) for the statistics, in batches', async () => {
    const before = await t.db
      .selectFrom('check_match')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const miss = md5(999_999);
    await check({
      hashes: [
        { type: 'md5', value: M1 },
        { type: 'md5', value: miss },
      ],
    });
    await h.service.recorder.flush();
    const rows = await t.db
      .selectFrom('check_match')
      .innerJoin('bank', 'bank.id', 'check_match.bank_id')
      .select([
        'bank.name',
        'check_match.value',
        'check_match.distance',
        'check_match.key_id',
        'check_match.principal',
        'check_match.via',
      ])
      .orderBy('check_match.id', 'desc')
      .limit(2)
      .execute();
    expect(rows.map((r) => [r.name, r.value.toString('hex'), r.distance, r.via]).sort()).toEqual([
      ['hotline', M1, 0, 'hashes'],
      ['police', M1, 0, 'hashes'],
    ]);
    expect(rows[0].principal).toBe(`key:${rows[0].key_id}`);
    const all = await t.db.selectFrom('check_match').select('value').execute();
    expect(all.some((r) => r.value.toString('hex') === miss)).toBe(false);
    expect(all.length).toBeGreaterThanOrEqual(before.n + 2);
  });

  it('refuses a revoked key within a second', async () => {
    const spare = await createKey(t.db, 'acme');
    expect((await check({ hashes: [{ type: 'md5', value: M1 }] }, spare.key)).status).toBe(200);
    await revokeKey(t.db, spare.id);
    await within(
      1000,
      async () => (await check({ hashes: [{ type: 'md5', value: M1 }] }, spare.key)).status === 401,
    );
    const { error } = await json(await check({ hashes: [{ type: 'md5', value: M1 }] }, spare.key));
    expect(error.message).toMatch(/^This API key was revoked on \d{4}-\d\d-\d\d/);
  });

  const upload = (body: Uint8Array | FormData, query = '', type: string | null = 'image/png') =>
    h.app.request(`/v1/check/image${query}`, {
      method: 'POST',
      body: body as BodyInit,
      headers: {
        authorization: `Bearer ${key}`,
        ...(type === null ? {} : { 'content-type': type }),
      },
    });

  it('hashes an uploaded image in memory and checks it, leaving no file and no log line', async () => {
    const seen: string[] = [];
    const watchers: FSWatcher[] = [os.tmpdir(), '/dev/shm'].map((dir) =>
      watch(dir, (_event, name) => seen.push(`${dir}/${String(name)}`)),
    );
    let body;
    try {
      const res = await upload(image);
      expect(res.status).toBe(200);
      body = await json(res);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      for (const w of watchers) w.close();
    }
    expect(body.image).toEqual({ bytes: image.length, format: 'png' });
    const sha256 = createHash('sha256').update(image).digest('hex');
    expect(body.results.map((r: { type: string }) => r.type)).toEqual([
      'md5',
      'sha1',
      'sha256',
      'pdq',
    ]);
    expect(body.results[2]).toEqual({
      type: 'sha256',
      value: sha256,
      matches: [{ bank: 'police', category: 'baseline', distance: 0 }],
    });
    expect(body.results[3]).toMatchObject({
      type: 'pdq',
      value: imagePdq,
      reliable: true,
      matches: [{ bank: 'police', category: 'baseline', distance: 0 }],
    });
    expect(seen.filter((f) => !/vitest|\.lock$/.test(f))).toEqual([]);
    const log = h.log.join('\n');
    expect(log).not.toContain(sha256);
    expect(log).not.toContain(imagePdq);
  });

  it('finds a rotated copy with ?variants=true', async () => {
    const rotated = await sharp(image).rotate(90).png().toBuffer();
    const plain = await json(await upload(rotated));
    expect(plain.results[3].matches).toEqual([]);
    const withVariants = await json(await upload(rotated, '?variants=true'));
    expect(withVariants.results[3].matches).toEqual([
      { bank: 'police', category: 'baseline', distance: expect.any(Number) },
    ]);
    // The dihedral hashes come from the original's DCT: close to, not equal to, the rotated file's.
    expect(withVariants.results[3].matches[0].distance).toBeLessThanOrEqual(31);
  });

  it('takes a multipart form too, and flags a featureless image as unreliable', async () => {
    const flat = await png({
      width: 64,
      height: 64,
      channels: 3,
      data: new Uint8Array(64 * 64 * 3).fill(128),
    });
    const form = new FormData();
    form.set('image', new Blob([flat], { type: 'image/png' }), 'flat.png');
    const res = await upload(form, '', null);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body, JSON.stringify(body)).toMatchObject({
      results: [{}, {}, {}, { type: 'pdq', quality: 0, reliable: false }],
    });
  });

  it('checks the exact hashes of an upload that is not an image, and says so', async () => {
    const noise = Buffer.from(noiseImage(100, 100, 3).data);
    const body = await json(await upload(noise, '', 'application/octet-stream'));
    expect(body.results.map((r: { type: string }) => r.type)).toEqual(['md5', 'sha1', 'sha256']);
    expect(body.image).toEqual({ bytes: noise.length });
  });

  it('refuses an upload over the limit with 413, naming it', async () => {
    const small = createApp({
      db: t.db,
      config: { ...h.config, checkMaxUploadBytes: 1000 },
      logger: pino({ level: 'silent' }),
      readiness: new Readiness(),
    });
    const res = await small.request('/v1/check/image', {
      method: 'POST',
      body: new Uint8Array(image),
      headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' },
    });
    expect(res.status).toBe(413);
    const { error } = await json(res);
    expect(error).toMatchObject({ code: 'body-too-large', details: { limitBytes: 1000 } });
    expect(error.message).toMatch(/1000 bytes/);
  });
});
