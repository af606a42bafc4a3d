import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExactIndex } from '../exact-index.js';
import { PdqIndex } from '../pdq-index.js';
import { nearCode, randomCodes, uint32Source } from '../synthetic-codes.js';
import {
  readExactSnapshot,
  readPdqSnapshot,
  writeExactSnapshot,
  writePdqSnapshot,
} from './index-snapshot.js';

const dir = mkdtempSync(path.join(tmpdir(), 'takedown-snapshot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An index with every kind of part: tabled, scanned, tombstones, a delta. */
function sampleIndex(
  shared = false,
  wasmMinEntries?: number,
): { index: PdqIndex; codes: Uint32Array } {
  const next = uint32Source(3);
  const count = 6000;
  const codes = randomCodes(count + 300, next);
  const ids = Uint32Array.from({ length: count }, (_, i) => i * 2);
  const index = PdqIndex.fromCodes(ids, codes.subarray(0, count * 8), {
    shared,
    deltaCapacity: 100,
    wasmMinEntries,
  });
  for (let i = 0; i < 300; i++)
    index.add(100_000 + i, codes.subarray((count + i) * 8, (count + i + 1) * 8));
  for (let id = 0; id < 2000; id += 14) index.remove(id);
  index.add(4, codes.subarray(8 * 5000, 8 * 5001)); // a replacement
  return { index, codes };
}

function expectSameAnswers(a: PdqIndex, b: PdqIndex, codes: Uint32Array, sameBytes = true): void {
  const next = uint32Source(9);
  expect(b.size).toBe(a.size);
  const stats = (index: PdqIndex) => ({
    ...index.stats(),
    bytes: sameBytes && index.stats().bytes,
  });
  expect(stats(b)).toEqual(stats(a));
  for (let k = 0; k < 200; k++) {
    const q = nearCode(codes, next() % (codes.length / 8), next() % 40, next);
    const radius = [0, 16, 31, 52][k % 4];
    expect(b.search(q, { radius })).toEqual(a.search(q, { radius }));
  }
}

/** Rewrites one byte of a file. */
function damage(file: string, at: (size: number) => number): void {
  const bytes = readFileSync(file);
  bytes[at(bytes.length)] ^= 0x40;
  writeFileSync(file, bytes);
}

describe('PDQ index snapshots', () => {
  it('round-trip every part: same answers, size, stats and meta, nothing rebuilt', () => {
    const { index, codes } = sampleIndex();
    const file = path.join(dir, 'pdq.snap');
    const bytes = writePdqSnapshot(file, index, { bankChange: 41 });
    expect(bytes).toBeGreaterThan(index.stats().bytes);
    const read = readPdqSnapshot(file);
    if (read.kind !== 'loaded') throw new Error(`not loaded: ${JSON.stringify(read)}`);
    expect(read.value.meta).toEqual({ bankChange: 41 });
    expectSameAnswers(index, read.value.index, codes);
    // The loaded index keeps working: adds, removes, freezing the delta.
    const loaded = read.value.index;
    for (let i = 0; i < 150; i++) loaded.add(900_000 + i, codes.subarray(i * 8, i * 8 + 8));
    expect(loaded.search(codes.subarray(8, 16)).map((m) => m.id)).toEqual([2, 900_001]);
    expect(loaded.remove(900_001)).toBe(true);
    expect(loaded.search(codes.subarray(8, 16)).map((m) => m.id)).toEqual([2]);
    expect(readdirSync(dir)).toEqual(['pdq.snap']); // no temporary file left behind
  });

  it('loads into shared memory for worker threads', () => {
    const { index, codes } = sampleIndex(true);
    const file = path.join(dir, 'shared.snap');
    writePdqSnapshot(file, index);
    const read = readPdqSnapshot(file, { shared: true });
    if (read.kind !== 'loaded') throw new Error('not loaded');
    const layout = read.value.index.layout();
    expect(layout.segments[0].codes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(layout.delta.state.buffer).toBeInstanceOf(SharedArrayBuffer);
    expectSameAnswers(index, read.value.index, codes);
  });

  it('reads the parts the WebAssembly kernel searches straight into its memory', () => {
    const { index, codes } = sampleIndex(true, 1024);
    expect(index.layout().segments[0].memory).not.toBeNull();
    const file = path.join(dir, 'kernel.snap');
    writePdqSnapshot(file, index);
    const read = readPdqSnapshot(file, { shared: true, wasmMinEntries: 1024 });
    if (read.kind !== 'loaded') throw new Error('not loaded');
    const [part] = read.value.index.layout().segments;
    if (part.memory === null || part.tables === null) throw new Error('not a kernel part');
    expect(part.codes.buffer.byteLength).toBe(part.memory.buffer.byteLength);
    expect(part.tables.ent.buffer.byteLength).toBe(part.memory.buffer.byteLength);
    expectSameAnswers(index, read.value.index, codes);
    // The same file read for JavaScript search gives the same answers.
    const plain = readPdqSnapshot(file, { wasmMinEntries: Infinity });
    if (plain.kind !== 'loaded') throw new Error('not loaded');
    expect(plain.value.index.layout().segments[0].memory).toBeNull();
    // (Its memory differs: no kernel memory with scratch slots.)
    expectSameAnswers(index, plain.value.index, codes, false);
  });

  it('says missing when there is no file', () => {
    expect(readPdqSnapshot(path.join(dir, 'nope.snap'))).toEqual({ kind: 'missing' });
  });

  const cases: [string, (file: string) => void, RegExp][] = [
    ['a flipped bit in the data', (f) => damage(f, (n) => n - 1000), /data checksum/],
    ['a flipped bit in the description', (f) => damage(f, () => 70), /header checksum/],
    ['a flipped bit in the header', (f) => damage(f, () => 21), /data checksum|header checksum/],
    ['a truncated file', (f) => writeFileSync(f, readFileSync(f).subarray(0, 5000)), /bytes/],
    ['an empty file', (f) => writeFileSync(f, ''), /less than a header/],
    [
      'another file type',
      (f) => writeFileSync(f, Buffer.alloc(4096, 'x')),
      /not a Takedown snapshot/,
    ],
    ['another format version', (f) => damage(f, () => 8), /format/],
  ];
  for (const [what, spoil, reason] of cases) {
    it(`detects ${what} and reports it instead of loading`, () => {
      const { index } = sampleIndex();
      const file = path.join(dir, 'damaged.snap');
      writePdqSnapshot(file, index);
      spoil(file);
      const read = readPdqSnapshot(file);
      expect(read.kind).toBe('corrupt');
      if (read.kind === 'corrupt') expect(read.reason).toMatch(reason);
    });
  }

  it('rejects a well-formed file whose structure this code did not build', () => {
    // A valid checksum over inconsistent contents: ids out of order.
    const next = uint32Source(1);
    const index = PdqIndex.fromCodes(Uint32Array.from([1, 2, 3]), randomCodes(3, next));
    const layout = index.layout();
    layout.segments[0].ids.set([3, 2, 1]);
    const file = path.join(dir, 'bad-order.snap');
    writePdqSnapshot(file, index);
    const read = readPdqSnapshot(file);
    expect(read).toEqual({ kind: 'corrupt', reason: expect.stringMatching(/ids out of order/) });
  });
});

describe('exact index snapshots', () => {
  it('round-trip and detect damage', () => {
    const index = new ExactIndex('sha256');
    const next = uint32Source(2);
    const values: string[] = [];
    for (let i = 0; i < 500; i++) {
      values.push(randomCodes(1, next).reduce((s, w) => s + w.toString(16).padStart(8, '0'), ''));
      index.add(i, values[i]);
    }
    index.remove(7);
    index.add(8, values[9]);
    const file = path.join(dir, 'sha256.snap');
    writeExactSnapshot(file, index, { at: 'now' });
    const read = readExactSnapshot(file);
    if (read.kind !== 'loaded') throw new Error('not loaded');
    expect(read.value.meta).toEqual({ at: 'now' });
    expect(read.value.index.size).toBe(499);
    for (const value of values) expect(read.value.index.lookup(value)).toEqual(index.lookup(value));
    damage(file, (n) => n - 10);
    expect(readExactSnapshot(file).kind).toBe('corrupt');
  });
});
