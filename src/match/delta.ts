import type { HitBuffer } from './codes.js';
import { allocI32, allocU32, isDead, markDead, scanCodes, WORDS_PER_CODE } from './codes.js';

/**
 * Entries added since the last freeze, scanned directly: an add is one
 * append, visible to the next search in every thread that shares the
 * buffer. The buffer never reallocates (its memory may be shared with
 * worker threads); when full, the index freezes it into a table-backed part
 * and starts a new one.
 */
export interface DeltaData {
  readonly capacity: number;
  readonly ids: Uint32Array;
  readonly codes: Uint32Array;
  readonly dead: Int32Array;
  /** [0] = entries written. Published with Atomics after the entry is written. */
  readonly state: Int32Array;
}

export function createDelta(capacity: number, shared: boolean): DeltaData {
  return {
    capacity,
    ids: allocU32(capacity, shared),
    codes: allocU32(capacity * WORDS_PER_CODE, shared),
    dead: allocI32(Math.ceil(capacity / 32), shared),
    state: allocI32(1, shared),
  };
}

export function deltaCount(delta: DeltaData): number {
  return Atomics.load(delta.state, 0);
}

/** Appends an entry (the writer thread only); -1 when full. */
export function deltaAppend(delta: DeltaData, id: number, words: Uint32Array): number {
  const pos = Atomics.load(delta.state, 0);
  if (pos === delta.capacity) return -1;
  delta.ids[pos] = id;
  delta.codes.set(words, pos * WORDS_PER_CODE);
  // Readers scan [0, count): the entry must be complete before count covers it.
  Atomics.store(delta.state, 0, pos + 1);
  return pos;
}

export function deltaKill(delta: DeltaData, pos: number): void {
  markDead(delta.dead, pos);
}

/** Records each live entry within `radius` of `q` in `best` (id -> smallest distance). */
export function deltaCollect(
  delta: DeltaData,
  q: Uint32Array,
  radius: number,
  hits: HitBuffer,
  best: Map<number, number>,
): void {
  hits.length = 0;
  scanCodes(delta.codes, 0, deltaCount(delta), q, radius, hits);
  for (let i = 0; i < hits.length; i++) {
    const pos = hits.pos[i];
    if (isDead(delta.dead, pos)) continue;
    const id = delta.ids[pos];
    const seen = best.get(id);
    if (seen === undefined || hits.dist[i] < seen) best.set(id, hits.dist[i]);
  }
}
