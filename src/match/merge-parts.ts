import { WORDS_PER_CODE } from './codes.js';
import { MAX_SEGMENT_ENTRIES } from './mih-plan.js';
import type { BuildOptions, Segment, SegmentData } from './segment.js';
import { buildSegment } from './segment.js';
import { sortEntries } from './sort-entries.js';

/**
 * New parts holding the live entries of `parts` plus `extra` (entries not
 * in any part yet), in id order, split at the largest part size. Pure: it
 * runs on the index's thread for small merges and on a worker thread for a
 * background compaction.
 */
export function mergeParts(
  parts: readonly Segment[],
  extra: { readonly ids: Uint32Array; readonly codes: Uint32Array } | null,
  options: BuildOptions,
): SegmentData[] {
  const total = parts.reduce((n, s) => n + s.live, 0) + (extra?.ids.length ?? 0);
  const ids = new Uint32Array(total);
  const codes = new Uint32Array(total * WORDS_PER_CODE);
  let at = 0;
  for (const part of parts) at = part.copyLive(ids, codes, at);
  if (extra !== null) {
    ids.set(extra.ids, at);
    codes.set(extra.codes, at * WORDS_PER_CODE);
  }
  const sorted = sortEntries(ids, codes, options.shared);
  const built: SegmentData[] = [];
  for (let from = 0; from < total; from += MAX_SEGMENT_ENTRIES) {
    const end = Math.min(total, from + MAX_SEGMENT_ENTRIES);
    built.push(
      buildSegment(
        sorted.ids.subarray(from, end),
        sorted.codes.subarray(from * WORDS_PER_CODE, end * WORDS_PER_CODE),
        options,
      ),
    );
  }
  return built;
}
