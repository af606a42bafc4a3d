import { HitBuffer } from './codes.js';
import type { DeltaData } from './delta.js';
import { deltaCollect } from './delta.js';
import { MihScratch } from './mih-search.js';
import type { Segment } from './segment.js';
import type { PdqMatch } from './types.js';
import { compareMatches } from './types.js';

/** One thread's reusable search buffers. */
export class SearchScratch {
  readonly mih = new MihScratch();
  readonly hits = new HitBuffer();
}

/**
 * Searches every part of an index for every query variant. An entry found
 * in several chunks, by several variants, or (while being replaced) in two
 * parts is reported once, with its smallest distance.
 */
export function searchParts(
  segments: readonly Segment[],
  delta: DeltaData,
  variants: readonly Uint32Array[],
  radius: number,
  scratch: SearchScratch,
): PdqMatch[] {
  const best = new Map<number, number>();
  for (const q of variants) {
    for (const segment of segments) segment.collect(q, radius, scratch.mih, scratch.hits, best);
    deltaCollect(delta, q, radius, scratch.hits, best);
  }
  const out: PdqMatch[] = [];
  for (const [id, distance] of best) out.push({ id, distance });
  return out.sort(compareMatches);
}
