import { popcount32 } from '../hash/pdq-hash.js';
import type { HitBuffer } from './codes.js';
import { allocI32, isDead, markDead, scanCodes, WORDS_PER_CODE } from './codes.js';
import type { MihTables } from './mih-build.js';
import { buildTables, dirOffsets, tableSizes } from './mih-build.js';
import type { Chunk } from './mih-plan.js';
import { chunksOfWidths, MIN_TABLE_ENTRIES, planChunks, planThresholds } from './mih-plan.js';
import type { MihScratch } from './mih-search.js';
import { searchTables } from './mih-search.js';
import { allocArena, KernelSearch } from './mih-wasm.js';

/**
 * A frozen part of the index: entries sorted by id (so an id is found by
 * binary search, with no id map beside it), their codes, a tombstone bit
 * per entry, and the multi-index tables (none for small parts, which are
 * scanned). Plain typed arrays only, so a part can live in a
 * SharedArrayBuffer, cross to a worker thread, and be written to disk as is.
 */
export interface SegmentData {
  readonly count: number;
  /** Ascending, unique. */
  readonly ids: Uint32Array;
  readonly codes: Uint32Array;
  /** Tombstones: bit `pos` set when the entry was removed. */
  readonly dead: Int32Array;
  /** Chunk widths of the tables; null when the part is scanned. */
  readonly widths: readonly number[] | null;
  readonly tables: MihTables | null;
  /**
   * The WebAssembly memory that holds `codes` and `tables` when the part is
   * searched by the kernel (`mih-wasm.ts`); null: plain arrays, searched
   * in JavaScript.
   */
  readonly memory: WebAssembly.Memory | null;
}

/** Parts this big or bigger are searched by the WebAssembly kernel (smaller ones are cheap either way). */
export const WASM_MIN_ENTRIES = 65_536;

export interface BuildOptions {
  readonly shared: boolean;
  /** Parts with fewer entries get no tables: they are scanned. */
  readonly minTableEntries?: number;
  /** A fixed chunk layout instead of the planned one (for experiments, e.g. HMA's 16 × 16). */
  readonly chunkWidths?: readonly number[];
  /** Parts with at least this many entries go to the WebAssembly kernel (default `WASM_MIN_ENTRIES`; Infinity: never). */
  readonly wasmMinEntries?: number;
}

/**
 * Builds a part from entries already sorted by id (ids are kept; codes too,
 * unless the part goes to the kernel, whose memory gets a copy).
 */
export function buildSegment(
  ids: Uint32Array,
  codes: Uint32Array,
  options: BuildOptions,
): SegmentData {
  const count = ids.length;
  const dead = allocI32(Math.ceil(count / 32), options.shared);
  if (count === 0 || count < (options.minTableEntries ?? MIN_TABLE_ENTRIES)) {
    return { count, ids, codes, dead, widths: null, tables: null, memory: null };
  }
  const chunks = options.chunkWidths ? chunksOfWidths(options.chunkWidths) : planChunks(count);
  const widths = chunks.map((c) => c.width);
  const arena =
    count >= (options.wasmMinEntries ?? WASM_MIN_ENTRIES) ? arenaFor(count, widths) : null;
  if (arena === null) {
    const tables = buildTables(codes, count, chunks, options.shared);
    return { count, ids, codes, dead, widths, tables, memory: null };
  }
  arena.codes.set(codes.subarray(0, count * WORDS_PER_CODE));
  const tables = buildTables(arena.codes, count, chunks, options.shared, arena);
  return { count, ids, codes: arena.codes, dead, widths, tables, memory: arena.memory };
}

/** Kernel memory for a tabled part of `count` entries, or null (see `allocArena`). */
export function arenaFor(count: number, widths: readonly number[]) {
  const { entWords, dirWords } = tableSizes(count, chunksOfWidths(widths));
  return allocArena(count * WORDS_PER_CODE, entWords, dirWords);
}

export class Segment {
  readonly data: SegmentData;
  readonly chunks: readonly Chunk[] | null;
  readonly #offsets: readonly number[];
  /** Thresholds per radius (null: scan); computed once per radius. */
  readonly #plans = new Map<number, Int8Array | null>();
  /** This thread's handle on the part's kernel, made at the first search. */
  #kernel: KernelSearch | null | undefined;
  /** Radii whose searches outgrow the kernel's scratch here: straight to JavaScript. */
  readonly #tooBig = new Set<number>();
  #live: number;

  constructor(data: SegmentData) {
    this.data = data;
    this.chunks = data.widths === null ? null : chunksOfWidths(data.widths);
    this.#offsets = this.chunks === null ? [] : dirOffsets(this.chunks);
    let dead = 0;
    for (let i = 0; i < data.dead.length; i++) dead += popcount32(Atomics.load(data.dead, i));
    this.#live = data.count - dead;
  }

  /** Entries not removed (as counted by this thread's writer). */
  get live(): number {
    return this.#live;
  }

  /** Position of `id`, or -1. */
  indexOf(id: number): number {
    const ids = this.data.ids;
    let lo = 0;
    let hi = this.data.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = ids[mid];
      if (at === id) return mid;
      if (at < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  isLive(pos: number): boolean {
    return !isDead(this.data.dead, pos);
  }

  /** Tombstones the entry at `pos`; visible to every thread's next search. */
  kill(pos: number): void {
    if (isDead(this.data.dead, pos)) return;
    markDead(this.data.dead, pos);
    this.#live--;
  }

  /** Copies the live entries' ids and codes, in id order, into the arrays at `at`. */
  copyLive(ids: Uint32Array, codes: Uint32Array, at: number): number {
    const { count, dead } = this.data;
    if (this.#live === count) {
      ids.set(this.data.ids, at);
      codes.set(this.data.codes, at * WORDS_PER_CODE);
      return at + count;
    }
    const from = this.data.codes;
    for (let pos = 0; pos < count; pos++) {
      if (isDead(dead, pos)) continue;
      ids[at] = this.data.ids[pos];
      for (let w = 0, o = pos * WORDS_PER_CODE, t = at * WORDS_PER_CODE; w < WORDS_PER_CODE; w++) {
        codes[t + w] = from[o + w];
      }
      at++;
    }
    return at;
  }

  /** Records each live entry within `radius` of `q` in `best` (id -> smallest distance). */
  collect(
    q: Uint32Array,
    radius: number,
    scratch: MihScratch,
    hits: HitBuffer,
    best: Map<number, number>,
  ): void {
    const { count, codes, tables, ids, dead } = this.data;
    hits.length = 0;
    const tau = this.#plan(radius);
    if (tables === null || tau === null || this.chunks === null) {
      scanCodes(codes, 0, count, q, radius, hits);
    } else if (!this.#kernelSearch(tau, q, radius, hits)) {
      searchTables(codes, tables, this.chunks, this.#offsets, tau, q, radius, scratch, hits);
    }
    for (let i = 0; i < hits.length; i++) {
      const pos = hits.pos[i];
      if (isDead(dead, pos)) continue;
      const id = ids[pos];
      const seen = best.get(id);
      if (seen === undefined || hits.dist[i] < seen) best.set(id, hits.dist[i]);
    }
  }

  /** Bytes held: codes and ids, tombstones, tables (a kernel's whole memory, scratch slots included). */
  get bytes(): number {
    const { ids, codes, dead, tables, memory } = this.data;
    const tableBytes = tables === null ? 0 : tables.ent.byteLength + tables.dir.byteLength;
    const held = memory === null ? codes.byteLength + tableBytes : memory.buffer.byteLength;
    return ids.byteLength + dead.byteLength + held;
  }

  #kernelSearch(tau: Int8Array, q: Uint32Array, radius: number, hits: HitBuffer): boolean {
    if (this.#kernel === undefined) {
      const { memory, codes, tables } = this.data;
      this.#kernel = null;
      if (memory !== null && tables !== null) {
        try {
          this.#kernel = new KernelSearch(memory, codes, tables.ent, tables.dir);
        } catch {
          // E.g. a page whose content security policy forbids compiling
          // WebAssembly: the JavaScript search answers the same.
        }
      }
    }
    if (this.#kernel === null || this.chunks === null || this.#tooBig.has(radius)) return false;
    const outcome = this.#kernel.search(this.chunks, this.#offsets, tau, q, radius, hits);
    if (outcome === 'too-big') this.#tooBig.add(radius);
    return outcome === 'done';
  }

  #plan(radius: number): Int8Array | null {
    let tau = this.#plans.get(radius);
    if (tau === undefined) {
      tau = this.chunks === null ? null : planThresholds(this.chunks, this.data.count, radius);
      this.#plans.set(radius, tau);
    }
    return tau;
  }
}
