import { TakedownError } from '../errors.js';

/**
 * How the multi-index hash splits the 256 bits, and how far it probes each
 * chunk for a given radius.
 *
 * Exactness rests on the general pigeonhole principle (Qin et al., "GPH",
 * ICDE 2018; the case τ_i = ⌊r/m⌋ is Norouzi et al.'s multi-index hashing):
 * split the bits into chunks and give chunk i a threshold τ_i ≥ -1 with
 * Σ(τ_i + 1) = r + 1. If every chunk of a hash differed from the query in
 * more than τ_i bits, the hash would differ in at least Σ(τ_i + 1) = r + 1
 * bits. So every hash within r has some chunk within τ_i of the query's, and
 * probing each chunk's τ_i-ball, then checking the full distance, finds all
 * of them and nothing else.
 *
 * Which split and which thresholds are cheapest depends on the bank size;
 * a cost model (nanoseconds, measured on the benchmark machine with
 * `npm run bench:match`) picks both. It only affects speed, never results.
 */

/** One chunk: bits [start, start + width) of the hash, bit 0 = top bit of word 0. */
export interface Chunk {
  readonly start: number;
  readonly width: number;
  /** The chunk's top `dirBits` bits select a bucket (a directory of 2^dirBits entries). */
  readonly dirBits: number;
  /** Its low `resBits` bits are stored beside each entry; a bucket keeps a 64-bit bitmap of them. */
  readonly resBits: number;
}

/** Residual bits per entry: 6, so a bucket's bitmap is two uint32 words. */
export const RES_BITS = 6;
/** Entries keep the position in the low bits and the residual in the top 6. */
export const POS_BITS = 32 - RES_BITS;
export const MAX_SEGMENT_ENTRIES = 2 ** POS_BITS - 1;
/** Below this a part of the index is scanned, not tabled. */
export const MIN_TABLE_ENTRIES = 1024;

/**
 * Costs in nanoseconds. A random memory access on the benchmark machine costs
 * ~25-40 ns when many are in flight (a directory or table line, or a stored
 * code); a sequential table entry or a scanned code costs a few ns.
 */
export const COST = {
  dirLookup: 40,
  tableLine: 35,
  tableEntry: 2,
  candidate: 35,
  scannedCode: 4,
} as const;

const binomials: number[][] = [];
export function binom(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let row = binomials[n];
  if (row === undefined) {
    row = [1];
    for (let i = 1; i <= n; i++) row.push((row[i - 1] * (n - i + 1)) / i);
    binomials[n] = row;
  }
  return row[k];
}

/** Number of bit strings of `width` bits within `radius` of a given one. */
export function ballVolume(width: number, radius: number): number {
  let v = 0;
  for (let k = 0; k <= Math.min(radius, width); k++) v += binom(width, k);
  return v;
}

export function makeChunk(start: number, width: number): Chunk {
  const resBits = Math.min(RES_BITS, width);
  return { start, width, dirBits: width - resBits, resBits };
}

/** Expected cost of probing one chunk's τ-ball in a part of `n` entries. */
export function chunkCost(chunk: Chunk, n: number, tau: number): number {
  if (tau < 0) return 0;
  const perBucket = n / 2 ** chunk.dirBits;
  const present = 1 - (1 - 2 ** -chunk.resBits) ** perBucket;
  let cost = 0;
  for (let w = 0; w <= Math.min(tau, chunk.dirBits); w++) {
    const buckets = binom(chunk.dirBits, w);
    // The outermost shell needs one exact residual (the bitmap usually says
    // it is absent); inner shells scan their whole bucket.
    cost +=
      w === tau
        ? buckets * (COST.dirLookup + present * COST.tableLine)
        : buckets * (COST.dirLookup + COST.tableLine + perBucket * COST.tableEntry);
  }
  const candidates = ballVolume(chunk.width, tau) * (n / 2 ** chunk.width);
  return cost + candidates * COST.candidate;
}

export function scanCost(n: number): number {
  return n * COST.scannedCode;
}

const PLAN_RADIUS = 31;
const MIN_WIDTH = 4;
const MAX_WIDTH = 30;
const MAX_TAU = 5;

/**
 * Chunk widths for a part of `n` entries, chosen for the default radius by
 * dynamic programming over (bits used, pigeonhole budget used). The result
 * for 10 million entries is 11 chunks of about 23 bits (≈ log2 n), not HMA's
 * 16 × 16.
 */
export function planChunks(n: number): Chunk[] {
  const maxDirBits = Math.max(0, Math.min(22, Math.floor(Math.log2(Math.max(n, 2))) - 2));
  const budget = PLAN_RADIUS + 1;
  const states = 257 * (budget + 1);
  const costs: number[][] = [];
  for (let width = MIN_WIDTH; width <= MAX_WIDTH; width++) {
    const chunk = makeChunk(0, width);
    costs[width] = [];
    for (let tau = 0; tau <= MAX_TAU; tau++) costs[width][tau] = chunkCost(chunk, n, tau);
  }
  const best = new Float64Array(states).fill(Infinity);
  const choice = new Int32Array(states).fill(-1);
  best[0] = 0;
  for (let bits = 0; bits < 256; bits++) {
    for (let used = 0; used <= budget; used++) {
      const here = best[bits * (budget + 1) + used];
      if (here === Infinity) continue;
      for (let width = MIN_WIDTH; width <= Math.min(MAX_WIDTH, 256 - bits); width++) {
        if (width - Math.min(RES_BITS, width) > maxDirBits) break;
        for (let tau = 0; tau <= MAX_TAU; tau++) {
          const next = (bits + width) * (budget + 1) + Math.min(budget, used + tau + 1);
          const cost = here + costs[width][tau];
          if (cost < best[next]) {
            best[next] = cost;
            choice[next] = (bits * (budget + 1) + used) * 64 + width;
          }
        }
      }
    }
  }
  const widths: number[] = [];
  let state = 256 * (budget + 1) + budget;
  if (choice[state] < 0) return evenChunks(16); // unreachable: 16 × 16 always fits
  while (state !== 0) {
    widths.push(choice[state] % 64);
    state = Math.floor(choice[state] / 64);
  }
  widths.sort((a, b) => b - a);
  return chunksOfWidths(widths);
}

export function evenChunks(count: number): Chunk[] {
  const widths: number[] = [];
  for (let i = 0; i < count; i++) widths.push(Math.floor(256 / count) + (i < 256 % count ? 1 : 0));
  return chunksOfWidths(widths);
}

export function chunksOfWidths(widths: readonly number[]): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  for (const width of widths) {
    chunks.push(makeChunk(start, width));
    start += width;
  }
  if (start !== 256 || widths.some((w) => !Number.isInteger(w) || w < 1 || w > 32)) {
    throw new TakedownError(
      'invalid-chunk-widths',
      `Chunk widths must be whole numbers from 1 to 32 adding up to 256, got ${widths.join(', ')}.`,
    );
  }
  return chunks;
}

/**
 * Per-chunk thresholds for `radius` with Σ(τ_i + 1) = radius + 1, spending
 * each unit of budget where it costs least (chunk costs grow convexly with
 * τ, so this greedy choice is the cheapest split). Null when scanning all
 * `n` codes is expected to be cheaper (unless `allowScan` is false).
 */
export function planThresholds(
  chunks: readonly Chunk[],
  n: number,
  radius: number,
  allowScan = true,
): Int8Array | null {
  const tau = new Int8Array(chunks.length).fill(-1);
  const cost = new Float64Array(chunks.length);
  let total = 0;
  const limit = allowScan ? scanCost(n) : Infinity;
  for (let unit = 0; unit <= radius; unit++) {
    let pick = -1;
    let pickDelta = Infinity;
    for (let i = 0; i < chunks.length; i++) {
      // Past the chunk's width every entry is a candidate already.
      if (tau[i] >= chunks[i].width) continue;
      const delta = chunkCost(chunks[i], n, tau[i] + 1) - cost[i];
      if (delta < pickDelta) {
        pick = i;
        pickDelta = delta;
      }
    }
    // Unreachable for radius ≤ 256: the chunks hold 256 + m units in all.
    if (pick < 0) return null;
    total += pickDelta;
    cost[pick] += pickDelta;
    tau[pick]++;
    if (total > limit) return null;
  }
  return tau;
}
