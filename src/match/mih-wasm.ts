import type { HitBuffer } from './codes.js';
import type { Chunk } from './mih-plan.js';
import { MIH_WASM_BASE64 } from './mih-wasm-module.js';

/**
 * The multi-index search in WebAssembly (source: `wasm/mih-search.as.ts`).
 *
 * The same passes as `searchTables`, over the same tables: measured at 10M
 * hashes, radius 31, one thread, the JavaScript passes take 2.5 times as
 * long as the same loops in C, and this kernel 1.2-1.4 times (typed-array
 * bounds checks and a popcount made of shifts and masks cost more than the
 * memory waits they sit between). WebAssembly reads only its own memory,
 * so a part that uses the kernel keeps its codes and tables in a shared
 * `WebAssembly.Memory` (an arena), which worker threads receive with the
 * part, and each searching thread borrows a scratch slot in it per search.
 *
 * Where WebAssembly or shared memory is unavailable (a browser page that is
 * not cross-origin isolated), `allocArena` returns null and the part is
 * searched in JavaScript, with the same answers.
 */

const PAGE = 65_536;
/** wasm32: at most 4 GiB per memory. */
const MAX_PAGES = 65_536;
/** Slot table at the start of the memory: word 0 counts slots, then (state, byte offset) per slot. */
const HEADER_BYTES = 4096;
const MAX_SLOTS = (HEADER_BYTES / 4 - 1) >> 1;
const FREE = 0;
const BUSY = 1;

/** Work areas of one slot; a search that needs more falls back to JavaScript. */
const CAP_OUTER = 32_768;
const CAP_INNER = 4096;
const CAP_CAND = 131_072;
const CAP_HITS = 4096;
const MAX_CHUNKS = 64;
const CHUNK_WORDS = 6;
const QUERY_AT = 0;
const CHUNKS_AT = 64;
const HITS_AT = CHUNKS_AT + MAX_CHUNKS * CHUNK_WORDS * 4;
const SCRATCH_AT = HITS_AT + CAP_HITS * 8;
const SLOT_BYTES = SCRATCH_AT + 4 * (5 * CAP_OUTER + 3 * CAP_INNER + CAP_CAND);
const SLOT_PAGES = Math.ceil(SLOT_BYTES / PAGE);

/** A part's codes and tables inside one WebAssembly memory. */
export interface KernelArena {
  readonly memory: WebAssembly.Memory;
  readonly codes: Uint32Array;
  readonly ent: Uint32Array;
  readonly dir: Uint32Array;
}

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/**
 * Memory for a part's codes (`codeWords`), table entries and directory, all
 * zero, plus one scratch slot; null when it cannot be had (the caller then
 * uses plain typed arrays and the JavaScript search).
 */
export function allocArena(
  codeWords: number,
  entWords: number,
  dirWords: number,
): KernelArena | null {
  const codesAt = HEADER_BYTES;
  const entAt = align64(codesAt + codeWords * 4);
  const dirAt = align64(entAt + entWords * 4);
  const slotAt = Math.ceil((dirAt + dirWords * 4) / PAGE) * PAGE;
  const initial = slotAt / PAGE + SLOT_PAGES;
  if (initial > MAX_PAGES || typeof WebAssembly === 'undefined') return null;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({
      initial,
      maximum: Math.min(MAX_PAGES, initial + (MAX_SLOTS - 1) * SLOT_PAGES),
      shared: true,
    });
  } catch {
    return null;
  }
  const header = new Int32Array(memory.buffer, 0, HEADER_BYTES / 4);
  header[0] = 1;
  header[2] = slotAt;
  for (let s = 1; s < MAX_SLOTS; s++) header[1 + 2 * s] = BUSY;
  return {
    memory,
    codes: new Uint32Array(memory.buffer, codesAt, codeWords),
    ent: new Uint32Array(memory.buffer, entAt, entWords),
    dir: new Uint32Array(memory.buffer, dirAt, dirWords),
  };
}

let compiled: WebAssembly.Module | undefined;

function kernelModule(): WebAssembly.Module {
  if (compiled === undefined) {
    const bytes = Uint8Array.from(atob(MIH_WASM_BASE64), (c) => c.charCodeAt(0));
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

type SearchExport = (
  codes: number,
  ent: number,
  entLength: number,
  dir: number,
  chunks: number,
  chunkCount: number,
  q: number,
  radius: number,
  scratch: number,
  capOuter: number,
  capInner: number,
  capCand: number,
  hits: number,
  capHits: number,
) => number;

/** One thread's handle on one arena's kernel. */
export class KernelSearch {
  readonly #memory: WebAssembly.Memory;
  readonly #search: SearchExport;
  readonly #header: Int32Array;
  readonly #codesAt: number;
  readonly #entAt: number;
  readonly #entLength: number;
  readonly #dirAt: number;
  /** A view of the whole memory, renewed when another thread has grown it. */
  #words: Uint32Array;

  constructor(memory: WebAssembly.Memory, codes: Uint32Array, ent: Uint32Array, dir: Uint32Array) {
    this.#memory = memory;
    const instance = new WebAssembly.Instance(kernelModule(), { env: { memory } });
    this.#search = instance.exports.search as SearchExport;
    this.#header = new Int32Array(memory.buffer, 0, HEADER_BYTES / 4);
    this.#codesAt = codes.byteOffset;
    this.#entAt = ent.byteOffset;
    this.#entLength = ent.length;
    this.#dirAt = dir.byteOffset;
    this.#words = new Uint32Array(memory.buffer);
  }

  /**
   * Appends to `hits` what `searchTables` would, in the same order, and
   * says `done`. Otherwise nothing is appended and the caller searches in
   * JavaScript: `too-big` when the search needs more scratch than a slot
   * has (at a large radius; it will again), `busy` when no slot can be had.
   */
  search(
    chunks: readonly Chunk[],
    dirOffsets: readonly number[],
    tau: Int8Array,
    q: Uint32Array,
    radius: number,
    hits: HitBuffer,
  ): 'done' | 'too-big' | 'busy' {
    if (chunks.length > MAX_CHUNKS) return 'too-big';
    const slot = this.#claim();
    if (slot < 0) return 'busy';
    const at = Atomics.load(this.#header, 2 + 2 * slot);
    try {
      if (at + SLOT_BYTES > this.#words.byteLength)
        this.#words = new Uint32Array(this.#memory.buffer);
      const words = this.#words;
      words.set(q, (at + QUERY_AT) / 4);
      for (let c = 0, w = (at + CHUNKS_AT) / 4; c < chunks.length; c++, w += CHUNK_WORDS) {
        const { start, width, dirBits, resBits } = chunks[c];
        words[w] = start;
        words[w + 1] = width;
        words[w + 2] = dirBits;
        words[w + 3] = resBits;
        words[w + 4] = dirOffsets[c];
        words[w + 5] = tau[c]; // -1 wraps; the kernel reads it back as an i32
      }
      const found = this.#search(
        this.#codesAt,
        this.#entAt,
        this.#entLength,
        this.#dirAt,
        at + CHUNKS_AT,
        chunks.length,
        at + QUERY_AT,
        radius,
        at + SCRATCH_AT,
        CAP_OUTER,
        CAP_INNER,
        CAP_CAND,
        at + HITS_AT,
        CAP_HITS,
      );
      if (found < 0) return 'too-big';
      for (let i = 0, w = (at + HITS_AT) / 4; i < found; i++, w += 2)
        hits.push(words[w], words[w + 1]);
      return 'done';
    } finally {
      Atomics.store(this.#header, 1 + 2 * slot, FREE);
    }
  }

  /** A free slot, now marked busy; or a new one grown for this search; or -1. */
  #claim(): number {
    const header = this.#header;
    const count = Math.min(Atomics.load(header, 0), MAX_SLOTS);
    for (let s = 0; s < count; s++) {
      if (Atomics.compareExchange(header, 1 + 2 * s, FREE, BUSY) === FREE) return s;
    }
    // Every slot is in use by another thread: grow one more. Slots not yet
    // handed out start busy (`allocArena`), so once the count includes this
    // one no other thread can take it before its offset is written and it
    // is released after this search.
    let pages: number;
    try {
      pages = this.#memory.grow(SLOT_PAGES);
    } catch {
      return -1;
    }
    const s = Atomics.add(header, 0, 1);
    if (s >= MAX_SLOTS) return -1;
    Atomics.store(header, 2 + 2 * s, pages * PAGE);
    return s;
  }
}
