import { TakedownError } from '../errors.js';
import { normalizeSignalValue } from '../hash/signal.js';
import { checkId } from './types.js';
import { U32Map } from './u32-map.js';

/** Signal types matched by equality. */
export type ExactSignalType = 'md5' | 'sha1' | 'sha256';

const WORDS: Readonly<Record<ExactSignalType, number>> = { md5: 4, sha1: 5, sha256: 8 };

/**
 * md5 / sha1 / sha256 by equality, with the same add/remove contract as the
 * PDQ index. Digests are stored as uint32 words in one typed array (20-32
 * bytes each, not a 64-character string per entry) and found through an
 * open-addressing table of slot numbers. Several ids may share a digest
 * (the same file in two banks); each is reported.
 */
export class ExactIndex {
  readonly type: ExactSignalType;
  readonly #w: number;
  #values: Uint32Array;
  #ids: Uint32Array;
  /** Slots handed out so far; freed slots are reused first. */
  #used = 0;
  readonly #free: number[] = [];
  /** Open addressing over slot + 1 (0 = empty). */
  #table = new Uint32Array(32);
  readonly #slotOfId = new U32Map();
  readonly #query: Uint32Array;

  constructor(type: ExactSignalType) {
    if (!(type in WORDS)) {
      throw new TakedownError(
        'invalid-signal-type',
        `${JSON.stringify(type)} is not an exact signal type (md5, sha1, sha256).`,
      );
    }
    this.type = type;
    this.#w = WORDS[type];
    this.#values = new Uint32Array(16 * this.#w);
    this.#ids = new Uint32Array(16);
    this.#query = new Uint32Array(this.#w);
  }

  get size(): number {
    return this.#slotOfId.size;
  }

  /** Bytes held by digests, ids and both tables. */
  get bytes(): number {
    return (
      this.#values.byteLength + this.#ids.byteLength + this.#table.byteLength + this.#slotOfId.bytes
    );
  }

  has(id: number): boolean {
    return this.#slotOfId.get(id) !== undefined;
  }

  /** Adds an entry, or replaces the digest of an existing id. */
  add(id: number, value: string): void {
    checkId(id);
    const words = this.#parse(value);
    const old = this.#slotOfId.get(id);
    if (old !== undefined) this.#unlink(old);
    const slot = this.#free.pop() ?? this.#newSlot();
    this.#values.set(words, slot * this.#w);
    this.#ids[slot] = id;
    this.#link(slot);
    this.#slotOfId.set(id, slot);
  }

  remove(id: number): boolean {
    const slot = this.#slotOfId.get(id);
    if (slot === undefined) return false;
    this.#unlink(slot);
    this.#slotOfId.delete(id);
    this.#free.push(slot);
    return true;
  }

  /** Ids stored with exactly this digest, ascending. Throws `invalid-hash` on a malformed value. */
  lookup(value: string): number[] {
    const words = this.#parse(value);
    const table = this.#table;
    const mask = table.length - 1;
    const out: number[] = [];
    for (let i = this.#home(words, 0, mask); table[i] !== 0; i = (i + 1) & mask) {
      const slot = table[i] - 1;
      if (this.#equals(slot, words)) out.push(this.#ids[slot]);
    }
    return out.sort((a, b) => a - b);
  }

  /** The live entries as arrays (for snapshots): ids, and `words` digest words each. */
  entries(): { ids: Uint32Array; values: Uint32Array } {
    const ids = new Uint32Array(this.size);
    const values = new Uint32Array(this.size * this.#w);
    let at = 0;
    for (let slot = 0; slot < this.#used; slot++) {
      const id = this.#ids[slot];
      if (this.#slotOfId.get(id) !== slot) continue; // a freed slot
      ids[at] = id;
      values.set(this.#values.subarray(slot * this.#w, (slot + 1) * this.#w), at * this.#w);
      at++;
    }
    return { ids, values };
  }

  /** Rebuilds an index from `entries()` output. */
  static fromEntries(type: ExactSignalType, ids: Uint32Array, values: Uint32Array): ExactIndex {
    const index = new ExactIndex(type);
    const w = index.#w;
    if (values.length !== ids.length * w) {
      throw new TakedownError(
        'invalid-codes',
        `${ids.length} ${type} entries need ${ids.length * w} words.`,
      );
    }
    for (let i = 0; i < ids.length; i++) {
      checkId(ids[i]);
      const slot = index.#newSlot();
      index.#values.set(values.subarray(i * w, (i + 1) * w), slot * w);
      index.#ids[slot] = ids[i];
      const old = index.#slotOfId.get(ids[i]);
      if (old !== undefined) {
        index.#unlink(old);
        index.#free.push(old);
      }
      index.#link(slot);
      index.#slotOfId.set(ids[i], slot);
    }
    return index;
  }

  #parse(value: string): Uint32Array {
    const hex = normalizeSignalValue(this.type, value);
    const words = this.#query;
    for (let i = 0; i < this.#w; i++)
      words[i] = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16) >>> 0;
    return words;
  }

  /** Home slot of a digest; its words are uniformly random already, two are mixed for safety. */
  #home(words: Uint32Array, offset: number, mask: number): number {
    return (
      (Math.imul(words[offset] ^ Math.imul(words[offset + 1], 0x9e3779b1), 0x85ebca6b) >>> 0) & mask
    );
  }

  #equals(slot: number, words: Uint32Array): boolean {
    const values = this.#values;
    const at = slot * this.#w;
    for (let i = 0; i < this.#w; i++) if (values[at + i] !== words[i]) return false;
    return true;
  }

  #newSlot(): number {
    if (this.#used === this.#ids.length) {
      const ids = new Uint32Array(this.#ids.length * 2);
      ids.set(this.#ids);
      const values = new Uint32Array(ids.length * this.#w);
      values.set(this.#values);
      this.#ids = ids;
      this.#values = values;
    }
    return this.#used++;
  }

  #link(slot: number): void {
    if ((this.size + 1) * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    const table = this.#table;
    const mask = table.length - 1;
    let i = this.#home(this.#values, slot * this.#w, mask);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
  }

  /** Takes a slot out of the table (backward-shift deletion, as in U32Map). */
  #unlink(slot: number): void {
    const table = this.#table;
    const mask = table.length - 1;
    let hole = this.#home(this.#values, slot * this.#w, mask);
    while (table[hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.#home(this.#values, (table[j] - 1) * this.#w, mask);
      const between = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (between) continue;
      table[hole] = table[j];
      hole = j;
    }
    table[hole] = 0;
  }

  #rehash(capacity: number): void {
    const old = this.#table;
    this.#table = new Uint32Array(capacity);
    const mask = capacity - 1;
    for (const entry of old) {
      if (entry === 0) continue;
      let i = this.#home(this.#values, (entry - 1) * this.#w, mask);
      while (this.#table[i] !== 0) i = (i + 1) & mask;
      this.#table[i] = entry;
    }
  }
}
