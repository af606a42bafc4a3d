import { allocU32, WORDS_PER_CODE } from './codes.js';
import type { Chunk } from './mih-plan.js';
import { POS_BITS } from './mih-plan.js';

/**
 * The multi-index tables of one frozen part of the index.
 *
 * For each chunk, every entry appears once in `ent`, sorted by the chunk's
 * value: a uint32 holding the entry's position (low 26 bits) and the chunk's
 * low `resBits` bits (top 6). The chunk's high `dirBits` bits pick a bucket;
 * `dir` holds four words per bucket: start and end in `ent`, and a 64-bit
 * bitmap of the residuals present. All chunks share one `ent` and one `dir`
 * array so the probing loops touch a single array each (V8 keeps them
 * monomorphic, and no per-chunk indirection sits between loads).
 */
export interface MihTables {
  readonly ent: Uint32Array;
  readonly dir: Uint32Array;
}

/** Word offset of each chunk's directory inside `dir`. */
export function dirOffsets(chunks: readonly Chunk[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const chunk of chunks) {
    offsets.push(at);
    at += 4 * 2 ** chunk.dirBits;
  }
  offsets.push(at);
  return offsets;
}

/** Words of `ent` and `dir` for `count` entries; `ent` has one spare entry, as probing loops may touch ent[end] of the last bucket. */
export function tableSizes(
  count: number,
  chunks: readonly Chunk[],
): { entWords: number; dirWords: number } {
  return { entWords: chunks.length * count + 1, dirWords: dirOffsets(chunks)[chunks.length] };
}

/** Bits [start, start + width) of the code at `offset`, as an unsigned number (width ≤ 32). */
export function extractBits(
  codes: Uint32Array,
  offset: number,
  start: number,
  width: number,
): number {
  const word = start >>> 5;
  const shift = start & 31;
  let x = codes[offset + word];
  if (shift !== 0) {
    x =
      shift + width <= 32 ? x << shift : (x << shift) | (codes[offset + word + 1] >>> (32 - shift));
  }
  return width === 32 ? x >>> 0 : (x >>> (32 - width)) >>> 0;
}

/**
 * Builds the tables for `count` codes: per chunk, a two-pass LSD radix sort
 * (by residual, then by bucket; both passes are stable, so each bucket ends
 * up ordered by residual, which the exact-residual lookup relies on).
 */
export function buildTables(
  codes: Uint32Array,
  count: number,
  chunks: readonly Chunk[],
  shared: boolean,
  into: MihTables | null = null,
): MihTables {
  const offsets = dirOffsets(chunks);
  const { entWords, dirWords } = tableSizes(count, chunks);
  // `into`: zeroed arrays of those sizes (a kernel arena's).
  const ent = into?.ent ?? allocU32(entWords, shared);
  const dir = into?.dir ?? allocU32(dirWords, shared);
  const key = new Uint32Array(count);
  const byResPos = new Uint32Array(count);
  const byResKey = new Uint32Array(count);
  for (let c = 0; c < chunks.length; c++) {
    const { start, width, dirBits, resBits } = chunks[c];
    const resMask = 2 ** resBits - 1;
    const resCursor = new Uint32Array(resMask + 2);
    const cursor = new Uint32Array(2 ** dirBits + 1);
    for (let pos = 0, o = 0; pos < count; pos++, o += WORDS_PER_CODE) {
      const value = extractBits(codes, o, start, width);
      key[pos] = value;
      resCursor[(value & resMask) + 1]++;
      cursor[(value >>> resBits) + 1]++;
    }
    // Pass 1, by residual: 64 output streams, and the keys travel along so
    // pass 2 reads sequentially.
    for (let r = 0; r <= resMask; r++) resCursor[r + 1] += resCursor[r];
    for (let pos = 0; pos < count; pos++) {
      const value = key[pos];
      const at = resCursor[value & resMask]++;
      byResPos[at] = pos;
      byResKey[at] = value;
    }
    // Pass 2, by bucket.
    const buckets = 2 ** dirBits;
    for (let b = 0; b < buckets; b++) cursor[b + 1] += cursor[b];
    const base = c * count;
    const dirBase = offsets[c];
    for (let b = 0; b < buckets; b++) {
      dir[dirBase + 4 * b] = base + cursor[b];
      dir[dirBase + 4 * b + 1] = base + cursor[b + 1];
    }
    for (let i = 0; i < count; i++) {
      const value = byResKey[i];
      ent[base + cursor[value >>> resBits]++] =
        (byResPos[i] | ((value & resMask) << POS_BITS)) >>> 0;
    }
    // Bitmaps, bucket by bucket (sequential reads).
    for (let b = 0, d = dirBase; b < buckets; b++, d += 4) {
      let lo = 0;
      let hi = 0;
      for (let p = dir[d], end = dir[d + 1]; p < end; p++) {
        const res = ent[p] >>> POS_BITS;
        if (res < 32) lo |= 1 << res;
        else hi |= 1 << (res - 32);
      }
      dir[d + 2] = lo;
      dir[d + 3] = hi;
    }
  }
  ent[chunks.length * count] = 0xffffffff;
  return { ent, dir };
}
