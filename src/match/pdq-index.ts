import { TakedownError } from '../errors.js';
import { isDead, WORDS_PER_CODE } from './codes.js';
import type { DeltaData } from './delta.js';
import { createDelta, deltaAppend, deltaCount, deltaKill } from './delta.js';
import { chunksOfWidths, MAX_SEGMENT_ENTRIES } from './mih-plan.js';
import { SearchScratch, searchParts } from './search-parts.js';
import type { BuildOptions, SegmentData } from './segment.js';
import { buildSegment, Segment } from './segment.js';
import { sortEntries } from './sort-entries.js';
import { mergeParts } from './merge-parts.js';
import type { PdqHashInput, PdqMatch, PdqMatcher, PdqQuery, PdqSearchOptions } from './types.js';
import { checkId, checkRadius, hashWords, queryWords } from './types.js';

export interface PdqIndexOptions {
  /** Keep all memory in SharedArrayBuffers so worker threads can search it (default false). */
  readonly shared?: boolean;
  /** Entries added since the last freeze that searches scan directly (default 2048). */
  readonly deltaCapacity?: number;
  /**
   * Automatic merges (which run inside `add`) never build a part bigger than
   * this (default 262,144 entries, ~0.2 s): an add waits for them, and adds
   * must show up within a second. Bigger rebuilds are for `compact()` or,
   * without stopping this thread, `compactInBackground` in `./node`; run one
   * when `stats().parts` grows past a few.
   */
  readonly maxMergeEntries?: number;
  /** Parts smaller than this are scanned instead of tabled (default 1024, about where scanning stops being cheaper). */
  readonly minTableEntries?: number;
  /** A fixed chunk layout (widths adding up to 256) instead of the one planned per part; for experiments. */
  readonly chunkWidths?: readonly number[];
  /** Parts with at least this many entries are searched by the WebAssembly kernel (default 65,536; Infinity: never). */
  readonly wasmMinEntries?: number;
}

/** Everything a search reads, as plain data: what worker threads and snapshots receive. */
export interface PdqIndexLayout {
  /** Changes whenever the parts change (not on adds and removes inside them). */
  readonly version: number;
  readonly segments: readonly SegmentData[];
  readonly delta: DeltaData;
}

export interface PdqIndexStats {
  readonly entries: number;
  readonly parts: readonly {
    readonly entries: number;
    readonly live: number;
    readonly chunks: readonly number[] | null;
  }[];
  readonly deltaEntries: number;
  /** Codes, ids, tombstones, tables and delta: all memory the index holds. */
  readonly bytes: number;
}

/** What a worker thread needs to rebuild an index's parts (see `beginCompaction`). */
export interface PdqCompactionJob {
  readonly parts: readonly SegmentData[];
  readonly build: BuildOptions;
}

const DEFAULT_DELTA = 2048;
const DEFAULT_MAX_MERGE = 262_144;
/** A part is merged into the next bigger one once that is at most this many times larger. */
const MERGE_RATIO = 4;

/**
 * The PDQ index: frozen parts with multi-index tables (exact at any radius,
 * see `mih-plan.ts`), plus a small delta of recent additions that is
 * scanned. `add` and `remove` are visible to the next search without a
 * rebuild: adds append to the delta, removes set a tombstone bit. A full
 * delta is frozen into a new part, and small parts merge into bigger ones
 * (log-structured, so each entry is rebuilt a few times, not once per add).
 *
 * One thread writes; with `shared: true`, worker threads search the same
 * memory through `PdqIndexView`s built from `layout()`.
 */
export class PdqIndex implements PdqMatcher {
  readonly shared: boolean;
  readonly #deltaCapacity: number;
  readonly #maxMerge: number;
  readonly #build: BuildOptions;
  /** Biggest first. */
  #segments: Segment[] = [];
  #delta: DeltaData;
  /** id -> delta position of live delta entries. */
  readonly #inDelta = new Map<number, number>();
  #size = 0;
  #version = 0;
  readonly #scratch = new SearchScratch();
  /** A compaction running elsewhere: its parts stay as they are, and removals from them are replayed. */
  #compaction: { readonly parts: readonly Segment[]; readonly removed: number[] } | undefined;

  constructor(options: PdqIndexOptions = {}) {
    this.shared = options.shared ?? false;
    this.#deltaCapacity = Math.max(1, options.deltaCapacity ?? DEFAULT_DELTA);
    this.#maxMerge = options.maxMergeEntries ?? DEFAULT_MAX_MERGE;
    if (options.chunkWidths) chunksOfWidths(options.chunkWidths); // fails early on a bad layout
    this.#build = {
      shared: this.shared,
      minTableEntries: options.minTableEntries,
      chunkWidths: options.chunkWidths,
      wasmMinEntries: options.wasmMinEntries,
    };
    this.#delta = createDelta(this.#deltaCapacity, this.shared);
  }

  /** Builds an index over `ids` (unique) and their codes (8 words each, in the same order). */
  static fromCodes(ids: Uint32Array, codes: Uint32Array, options: PdqIndexOptions = {}): PdqIndex {
    const index = new PdqIndex(options);
    for (const id of ids) checkId(id);
    const sorted = sortEntries(ids, codes, index.shared);
    for (let at = 0; at < ids.length; at += MAX_SEGMENT_ENTRIES) {
      const end = Math.min(ids.length, at + MAX_SEGMENT_ENTRIES);
      const partIds = sorted.ids.subarray(at, end);
      const partCodes = sorted.codes.subarray(at * WORDS_PER_CODE, end * WORDS_PER_CODE);
      index.#segments.push(new Segment(buildSegment(partIds, partCodes, index.#build)));
    }
    index.#size = ids.length;
    return index;
  }

  /** Adopts parts written by `layout()` (a snapshot); nothing is rebuilt. */
  static fromLayout(layout: PdqIndexLayout, options: PdqIndexOptions = {}): PdqIndex {
    const index = new PdqIndex({ ...options, deltaCapacity: layout.delta.capacity });
    index.#segments = layout.segments.map((data) => new Segment(data));
    index.#delta = layout.delta;
    index.#version = layout.version;
    for (let pos = 0; pos < deltaCount(layout.delta); pos++) {
      if (!isDead(layout.delta.dead, pos)) index.#inDelta.set(layout.delta.ids[pos], pos);
    }
    index.#size = index.#inDelta.size + index.#segments.reduce((n, s) => n + s.live, 0);
    return index;
  }

  get size(): number {
    return this.#size;
  }

  get version(): number {
    return this.#version;
  }

  layout(): PdqIndexLayout {
    return {
      version: this.#version,
      segments: this.#segments.map((s) => s.data),
      delta: this.#delta,
    };
  }

  has(id: number): boolean {
    if (this.#inDelta.has(id)) return true;
    for (const segment of this.#segments) {
      const pos = segment.indexOf(id);
      if (pos >= 0 && segment.isLive(pos)) return true;
    }
    return false;
  }

  add(id: number, hash: PdqHashInput): void {
    checkId(id);
    const words = hashWords(hash);
    const replaced = this.#kill(id);
    let pos = deltaAppend(this.#delta, id, words);
    if (pos < 0) {
      this.#freezeDelta();
      pos = deltaAppend(this.#delta, id, words);
    }
    this.#inDelta.set(id, pos);
    if (!replaced) this.#size++;
  }

  remove(id: number): boolean {
    if (!this.#kill(id)) return false;
    this.#size--;
    return true;
  }

  search(query: PdqQuery, options?: PdqSearchOptions): PdqMatch[] {
    const radius = checkRadius(options);
    return searchParts(this.#segments, this.#delta, queryWords(query), radius, this.#scratch);
  }

  /** Rebuilds everything into as few parts as possible, dropping removed entries. */
  compact(): void {
    this.#noCompactionRunning();
    const parts = this.#segments;
    this.#segments = [];
    this.#pushMerged(parts, true);
    this.#delta = createDelta(this.#deltaCapacity, this.shared);
    this.#inDelta.clear();
    this.#version++;
  }

  /**
   * Starts rebuilding every part on another thread (`compactInBackground` in
   * `./node` does the rest): returns the parts to rebuild, which stay in use
   * and unchanged meanwhile. Adds and removes go on as usual; removals from
   * these parts are replayed on the new ones by `finishCompaction`.
   */
  beginCompaction(): PdqCompactionJob {
    if (!this.shared) {
      throw new TakedownError(
        'index-not-shared',
        'Compacting on another thread needs { shared: true }.',
        {
          kind: 'internal',
        },
      );
    }
    this.#noCompactionRunning();
    if (this.#inDelta.size > 0) this.#freezeDelta();
    const parts = [...this.#segments];
    this.#compaction = { parts, removed: [] };
    return { parts: parts.map((s) => s.data), build: this.#build };
  }

  /** Swaps in the parts built from a `beginCompaction` job. */
  finishCompaction(built: readonly SegmentData[]): void {
    const job = this.#compaction;
    if (job === undefined) {
      throw new TakedownError('no-compaction', 'No compaction is running.', { kind: 'internal' });
    }
    this.#compaction = undefined;
    const fresh = built.map((data) => new Segment(data));
    for (const id of job.removed) {
      for (const segment of fresh) {
        const at = segment.indexOf(id);
        if (at >= 0) segment.kill(at);
      }
    }
    this.#segments = [...this.#segments.filter((s) => !job.parts.includes(s)), ...fresh];
    this.#segments.sort((a, b) => b.live - a.live);
    this.#version++;
  }

  /** Gives up a compaction (its worker failed): the index carries on as it was. */
  abortCompaction(): void {
    this.#compaction = undefined;
  }

  stats(): PdqIndexStats {
    let bytes =
      this.#delta.codes.byteLength + this.#delta.ids.byteLength + this.#delta.dead.byteLength;
    for (const segment of this.#segments) bytes += segment.bytes;
    return {
      entries: this.#size,
      parts: this.#segments.map((s) => ({
        entries: s.data.count,
        live: s.live,
        chunks: s.data.widths,
      })),
      deltaEntries: this.#inDelta.size,
      bytes,
    };
  }

  /** Tombstones the live entry with this id, wherever it is. */
  #kill(id: number): boolean {
    const pos = this.#inDelta.get(id);
    if (pos !== undefined) {
      deltaKill(this.#delta, pos);
      this.#inDelta.delete(id);
      return true;
    }
    for (const segment of this.#segments) {
      const at = segment.indexOf(id);
      if (at < 0 || !segment.isLive(at)) continue;
      segment.kill(at);
      if (this.#compacting(segment)) this.#compaction?.removed.push(id);
      else if (segment.live * 2 < segment.data.count && segment.live <= this.#maxMerge) {
        this.#rebuild([segment]);
      }
      return true;
    }
    return false;
  }

  #compacting(segment: Segment): boolean {
    return this.#compaction?.parts.includes(segment) ?? false;
  }

  #noCompactionRunning(): void {
    if (this.#compaction !== undefined) {
      throw new TakedownError(
        'compaction-running',
        'A compaction is already running; wait for it to finish.',
        {
          kind: 'conflict',
        },
      );
    }
  }

  /** Freezes the delta's live entries into a new part, then merges small parts. */
  #freezeDelta(): void {
    this.#pushMerged([], true);
    this.#delta = createDelta(this.#deltaCapacity, this.shared);
    this.#inDelta.clear();
    // Merge upwards while the next bigger part is within MERGE_RATIO.
    for (;;) {
      const n = this.#segments.length;
      if (n < 2) break;
      const small = this.#segments[n - 1];
      const big = this.#segments[n - 2];
      if (big.live > MERGE_RATIO * small.live || big.live + small.live > this.#maxMerge) break;
      if (this.#compacting(big) || this.#compacting(small)) break;
      this.#rebuild([big, small]);
    }
    this.#version++;
  }

  #rebuild(parts: Segment[]): void {
    this.#segments = this.#segments.filter((s) => !parts.includes(s));
    this.#pushMerged(parts, false);
    this.#version++;
  }

  /** Builds new parts from the live entries of `parts` (and of the delta), in size order. */
  #pushMerged(parts: readonly Segment[], withDelta: boolean): void {
    let extra = null;
    if (withDelta) {
      const ids = new Uint32Array(this.#inDelta.size);
      const codes = new Uint32Array(ids.length * WORDS_PER_CODE);
      let at = 0;
      for (const [id, pos] of this.#inDelta) {
        ids[at] = id;
        const from = this.#delta.codes.subarray(pos * WORDS_PER_CODE, (pos + 1) * WORDS_PER_CODE);
        codes.set(from, at++ * WORDS_PER_CODE);
      }
      extra = { ids, codes };
    }
    for (const data of mergeParts(parts, extra, this.#build))
      this.#segments.push(new Segment(data));
    this.#segments.sort((a, b) => b.live - a.live);
  }
}
