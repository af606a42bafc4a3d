import { PdqIndex } from '../match/index.js';
import type { ExactSignalType } from '../match/index.js';

/**
 * Columns of entries being gathered for a bulk build: ids and their hashes
 * as big-endian words (8 for PDQ, 4/5/8 for md5/sha1/sha256), growing by
 * doubling. `PdqIndex.fromCodes` and `ExactIndex.fromEntries` build from
 * these in a fraction of the time of adding entries one at a time.
 */
export class EntryColumns {
  readonly wordsPerEntry: number;
  #ids = new Uint32Array(1024);
  #banks = new Uint32Array(1024);
  #words: Uint32Array;
  #count = 0;

  constructor(wordsPerEntry: number) {
    this.wordsPerEntry = wordsPerEntry;
    this.#words = new Uint32Array(1024 * wordsPerEntry);
  }

  get count(): number {
    return this.#count;
  }

  push(id: number, bank: number, bytes: Uint8Array): void {
    if (this.#count === this.#ids.length) this.#grow();
    const w = this.wordsPerEntry;
    const at = this.#count * w;
    for (let k = 0; k < w; k++) {
      const i = k * 4;
      this.#words[at + k] =
        ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
    }
    this.#banks[this.#count] = bank;
    this.#ids[this.#count++] = id;
  }

  /** Copies entry `from` of another set of columns' words (same width). */
  pushWords(id: number, bank: number, words: Uint32Array, from: number): void {
    if (this.#count === this.#ids.length) this.#grow();
    const w = this.wordsPerEntry;
    this.#words.set(words.subarray(from, from + w), this.#count * w);
    this.#banks[this.#count] = bank;
    this.#ids[this.#count++] = id;
  }

  ids(): Uint32Array {
    return this.#ids.subarray(0, this.#count);
  }

  banks(): Uint32Array {
    return this.#banks.subarray(0, this.#count);
  }

  words(): Uint32Array {
    return this.#words.subarray(0, this.#count * this.wordsPerEntry);
  }

  #grow(): void {
    const ids = new Uint32Array(this.#ids.length * 2);
    ids.set(this.#ids);
    const banks = new Uint32Array(ids.length);
    banks.set(this.#banks);
    this.#banks = banks;
    const words = new Uint32Array(ids.length * this.wordsPerEntry);
    words.set(this.#words);
    this.#ids = ids;
    this.#words = words;
  }
}

export const EXACT_WORDS: Readonly<Record<ExactSignalType, number>> = {
  md5: 4,
  sha1: 5,
  sha256: 8,
};

/**
 * A new index holding the live entries of `index` and `extra` (which wins
 * when an id is in both). Used when many entries arrive at once: a million
 * `add` calls cost about ten times a build of the whole (measured: 14 s
 * against 1.8 s for 1M added to 1M), with stalls of a second or more while
 * the index merges its parts. Reads the index through `layout()`, its
 * published form for snapshots and worker threads.
 */
export function rebuildWith(index: PdqIndex, extra: EntryColumns): PdqIndex {
  const replaced = new Set(extra.ids());
  const layout = index.layout();
  const parts = [
    ...layout.segments.map((s) => ({ count: s.count, ids: s.ids, codes: s.codes, dead: s.dead })),
    {
      count: Atomics.load(layout.delta.state, 0),
      ids: layout.delta.ids,
      codes: layout.delta.codes,
      dead: layout.delta.dead,
    },
  ];
  const total = index.size + extra.count;
  const ids = new Uint32Array(total);
  const codes = new Uint32Array(total * 8);
  let at = 0;
  for (const part of parts) {
    for (let pos = 0; pos < part.count; pos++) {
      if ((part.dead[pos >>> 5] >>> (pos & 31)) & 1) continue;
      const id = part.ids[pos];
      if (replaced.has(id)) continue;
      ids[at] = id;
      codes.set(part.codes.subarray(pos * 8, pos * 8 + 8), at * 8);
      at++;
    }
  }
  ids.set(extra.ids(), at);
  codes.set(extra.words(), at * 8);
  at += extra.count;
  return PdqIndex.fromCodes(ids.subarray(0, at), codes.subarray(0, at * 8), { shared: true });
}
