import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HitBuffer } from './codes.js';
import { dirOffsets } from './mih-build.js';
import { planChunks, planThresholds } from './mih-plan.js';
import { MihScratch, searchTables } from './mih-search.js';
import { allocArena, KernelSearch } from './mih-wasm.js';
import { buildSegment } from './segment.js';
import { flipBits, nearCode, randomCodes, uint32Source } from './synthetic-codes.js';

const COUNT = 20_000;

/** Random codes with clusters of duplicates and near-duplicates, so buckets are uneven. */
function clusteredCodes(next: () => number): Uint32Array {
  const codes = randomCodes(COUNT, next);
  for (let i = 1; i < COUNT; i++) {
    if (next() % 5 !== 0) continue;
    const copy = codes.slice((i - 1) * 8, i * 8);
    if (next() % 2 === 0) flipBits(copy, 1 + (next() % 30), next);
    codes.set(copy, i * 8);
  }
  return codes;
}

function hitList(hits: HitBuffer): [number, number][] {
  return Array.from({ length: hits.length }, (_, i) => [hits.pos[i], hits.dist[i]]);
}

describe('the WebAssembly multi-index search', () => {
  it('is compiled from its source as committed', () => {
    const build = fileURLToPath(new URL('./wasm/build.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [build, '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('finds exactly what the JavaScript search finds, in the same order, at radii 0..64', () => {
    const next = uint32Source(31);
    const codes = clusteredCodes(next);
    const ids = Uint32Array.from({ length: COUNT }, (_, i) => i);
    const data = buildSegment(ids, codes, { shared: false, wasmMinEntries: 0 });
    if (data.memory === null || data.tables === null) throw new Error('no kernel part');
    expect(data.codes).toEqual(codes);
    const plain = buildSegment(ids, codes, { shared: false, wasmMinEntries: Infinity });
    expect(plain.memory).toBeNull();
    expect(data.tables.ent).toEqual(plain.tables?.ent);
    expect(data.tables.dir).toEqual(plain.tables?.dir);

    const kernel = new KernelSearch(data.memory, data.codes, data.tables.ent, data.tables.dir);
    const chunks = planChunks(COUNT);
    const offsets = dirOffsets(chunks);
    const scratch = new MihScratch();
    const want = new HitBuffer();
    const got = new HitBuffer();
    const outcomes = new Map<string, number>();
    let found = 0;
    for (let radius = 0; radius <= 64; radius++) {
      const tau = planThresholds(chunks, COUNT, radius, false);
      if (tau === null) throw new Error('no thresholds');
      for (let k = 0; k < 6; k++) {
        const q =
          k % 3 === 0 ? randomCodes(1, next) : nearCode(codes, next() % COUNT, next() % 41, next);
        want.length = 0;
        got.length = 0;
        searchTables(codes, plain.tables!, chunks, offsets, tau, q, radius, scratch, want);
        const outcome = kernel.search(chunks, offsets, tau, q, radius, got);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome !== 'done') {
          expect(outcome).toBe('too-big');
          expect(got.length).toBe(0);
          continue;
        }
        expect(hitList(got)).toEqual(hitList(want));
        found += got.length;
      }
    }
    // The kernel answered nearly every search itself, and they found things.
    expect(outcomes.get('done')).toBeGreaterThan(360);
    expect(found).toBeGreaterThan(1000);
  });

  it('gives a second thread its own scratch slot when the first is in use', () => {
    const next = uint32Source(5);
    const codes = randomCodes(4000, next);
    const ids = Uint32Array.from({ length: 4000 }, (_, i) => i);
    const data = buildSegment(ids, codes, { shared: true, wasmMinEntries: 0 });
    if (data.memory === null || data.tables === null) throw new Error('no kernel part');
    const kernel = new KernelSearch(data.memory, data.codes, data.tables.ent, data.tables.dir);
    const chunks = planChunks(4000);
    const tau = planThresholds(chunks, 4000, 31, false)!;
    const header = new Int32Array(data.memory.buffer, 0, 4);
    expect(header[0]).toBe(1);
    const size = data.memory.buffer.byteLength;
    Atomics.store(header, 1, 1); // slot 0 busy, as if another thread were searching
    const hits = new HitBuffer();
    expect(kernel.search(chunks, dirOffsets(chunks), tau, codes.subarray(8, 16), 31, hits)).toBe(
      'done',
    );
    // Found through every chunk (the caller merges them), and nothing else.
    expect(new Set(hitList(hits).map(String))).toEqual(new Set(['1,0']));
    expect(header[0]).toBe(2);
    expect(data.memory.buffer.byteLength).toBeGreaterThan(size);
    expect(Atomics.load(header, 3)).toBe(0); // the new slot is free again
    Atomics.store(header, 1, 0);
  });

  it('leaves parts that do not fit in 4 GiB to plain arrays', () => {
    expect(allocArena(2 ** 29, 2 ** 29, 8)).toBeNull();
  });
});
