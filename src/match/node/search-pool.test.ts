import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Match from '../index.js';
import type * as Synthetic from '../synthetic-codes.js';
import type * as Node from './index.js';

// Workers run compiled JavaScript, so this suite runs against the build
// (`npm test` builds first), typed by the sources.
const DIST = path.resolve(import.meta.dirname, '../../../dist/src/match');
let match: typeof Match;
let node: typeof Node;
let synthetic: typeof Synthetic;

beforeAll(async () => {
  const entry = path.join(DIST, 'node/index.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first.`);
  node = (await import(pathToFileURL(entry).href)) as typeof Node;
  match = (await import(pathToFileURL(path.join(DIST, 'index.js')).href)) as typeof Match;
  synthetic = (await import(
    pathToFileURL(path.join(DIST, 'synthetic-codes.js')).href
  )) as typeof Synthetic;
});

// Parts of 1,024 entries or more go to the WebAssembly kernel in the second run.
const kernels = [
  ['JavaScript', {}],
  ['WebAssembly', { wasmMinEntries: 1024 }],
] as const;

describe.each(kernels)('PdqSearchPool (%s search)', (_, kernel) => {
  let index: Match.PdqIndex;
  let pool: Node.PdqSearchPool;
  let codes: Uint32Array;

  beforeAll(async () => {
    const next = synthetic.uint32Source(12);
    codes = synthetic.randomCodes(8000, next);
    const ids = Uint32Array.from({ length: 6000 }, (_, i) => i);
    index = match.PdqIndex.fromCodes(ids, codes.subarray(0, 6000 * 8), {
      shared: true,
      deltaCapacity: 50,
      ...kernel,
    });
    expect(index.layout().segments[0].memory === null).toBe(kernel === kernels[0][1]);
    pool = await node.PdqSearchPool.start(index, { threads: 2 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('answers what the index answers in this thread, in order', async () => {
    const next = synthetic.uint32Source(1);
    const queries = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 2
        ? [synthetic.nearCode(codes, next() % 6000, 5, next), synthetic.randomCodes(1, next)]
        : synthetic.nearCode(codes, next() % 6000, next() % 40, next),
    );
    for (const radius of [0, 31, 52]) {
      const got = await pool.searchMany(queries, { radius });
      expect(got).toEqual(queries.map((q) => index.search(q, { radius })));
    }
    expect(await pool.search(codes.subarray(0, 8))).toEqual([{ id: 0, distance: 0 }]);
  });

  it('sees adds and removes at once, also after the index rebuilt its parts', async () => {
    const q = codes.subarray(6000 * 8, 6001 * 8);
    expect(await pool.search(q)).toEqual([]);
    index.add(6000, q);
    expect(await pool.search(q)).toEqual([{ id: 6000, distance: 0 }]);
    index.remove(6000);
    expect(await pool.search(q)).toEqual([]);
    const version = index.version;
    for (let i = 6001; i < 8000; i++) index.add(i, codes.subarray(i * 8, i * 8 + 8)); // freezes and merges
    expect(index.version).not.toBe(version);
    expect(index.remove(3)).toBe(true);
    const all = await pool.searchMany(
      Array.from({ length: 8000 }, (_, i) => codes.subarray(i * 8, i * 8 + 8)),
      { radius: 0 },
    );
    expect(all.map((m, i) => (m.length === 1 && m[0].id === i ? 'ok' : i))).toEqual(
      Array.from({ length: 8000 }, (_, i) => (i === 3 || i === 6000 ? i : 'ok')),
    );
    index.compact();
    expect((await pool.search(codes.subarray(7999 * 8, 8000 * 8)))[0].id).toBe(7999);
  });

  it('rejects bad queries in the calling thread', async () => {
    await expect(pool.search('nope')).rejects.toMatchObject({ code: 'invalid-hash' });
    await expect(pool.search(codes.subarray(0, 8), { radius: 300 })).rejects.toMatchObject({
      code: 'invalid-radius',
    });
  });

  it('refuses an index that is not in shared memory', async () => {
    await expect(node.PdqSearchPool.start(new match.PdqIndex())).rejects.toMatchObject({
      code: 'index-not-shared',
    });
  });

  it('fails to start when the worker script is missing, without retrying forever', async () => {
    const workerUrl = pathToFileURL(path.join(DIST, 'node/no-such-worker.js'));
    await expect(
      node.PdqSearchPool.start(new match.PdqIndex({ shared: true }), { threads: 1, workerUrl }),
    ).rejects.toThrow();
  });

  it('rejects searches after close', async () => {
    const other = await node.PdqSearchPool.start(new match.PdqIndex({ shared: true }), {
      threads: 1,
    });
    await other.close();
    await expect(other.search(codes.subarray(0, 8))).rejects.toMatchObject({
      code: 'matcher-closed',
    });
  });
});

describe.each(kernels)('compactInBackground (%s search)', (_, kernel) => {
  it('rebuilds on a worker thread while searches, adds and removes go on', async () => {
    const next = synthetic.uint32Source(5);
    const codes = synthetic.randomCodes(7000, next);
    const ids = Uint32Array.from({ length: 5000 }, (_, i) => i);
    const index = match.PdqIndex.fromCodes(ids, codes.subarray(0, 5000 * 8), {
      shared: true,
      deltaCapacity: 200,
      ...kernel,
    });
    const brute = new match.BruteForcePdqMatcher();
    for (let i = 0; i < 5000; i++) brute.add(i, codes.subarray(i * 8, i * 8 + 8));
    for (let i = 5000; i < 6000; i++) {
      index.add(i, codes.subarray(i * 8, i * 8 + 8));
      brute.add(i, codes.subarray(i * 8, i * 8 + 8));
    }
    const pool = await node.PdqSearchPool.start(index, { threads: 1 });
    try {
      expect(index.stats().parts.length).toBeGreaterThan(1);
      const done = node.compactInBackground(index);
      // The worker is rebuilding now; this thread carries on.
      for (let i = 6000; i < 7000; i++) {
        index.add(i, codes.subarray(i * 8, i * 8 + 8));
        brute.add(i, codes.subarray(i * 8, i * 8 + 8));
        if (i % 3 === 0) {
          index.remove(i - 3000);
          brute.remove(i - 3000);
        }
      }
      await done;
      expect(index.stats().parts[0].entries).toBeGreaterThanOrEqual(5600); // one part, not many
      const queries = Array.from({ length: 300 }, () =>
        synthetic.nearCode(codes, next() % 7000, next() % 20, next),
      );
      const want = queries.map((q) => brute.search(q));
      expect(queries.map((q) => index.search(q))).toEqual(want);
      expect(await pool.searchMany(queries)).toEqual(want);
    } finally {
      await pool.close();
    }
  });
});
