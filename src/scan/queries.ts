import type { ContentRecord } from '../hash/file/hash-file.js';
import type { SignalType } from '../hash/signal.js';
import type { BankHit, HashQuery, ItemMatch } from './types.js';

/**
 * Which hashes of an item are checked, and what the answers mean for the
 * item. Pure.
 */

export interface QueryOptions {
  /**
   * PDQ hashes of images with a quality below this are not checked: a
   * nearly flat image (a blank page, a solid banner) hashes to noise that
   * can land near anything. Their exact hashes still are. Meta's guidance
   * is 50.
   */
  readonly minPdqQuality: number;
}

export const DEFAULT_MIN_PDQ_QUALITY = 50;

/** The item's hashes to send: its exact hashes, and its PDQ when it is good enough. Nothing else. */
export function queriesFor(record: ContentRecord, options: QueryOptions): HashQuery[] {
  // An empty file's hashes are those of nothing: a bank that holds them by
  // mistake would match every empty file on the disk.
  if (record.bytes === 0) return [];
  const out: HashQuery[] = [];
  if (record.md5) out.push({ type: 'md5', value: record.md5 });
  if (record.sha1) out.push({ type: 'sha1', value: record.sha1 });
  if (record.sha256) out.push({ type: 'sha256', value: record.sha256 });
  if (record.pdq && (record.pdqQuality ?? 0) >= options.minPdqQuality) {
    out.push({ type: 'pdq', value: record.pdq });
  }
  return out;
}

/** One string per distinct hash, to send each only once per request. */
export function queryKey(query: HashQuery): string {
  return `${query.type}:${query.value}`;
}

const STRENGTH: Readonly<Record<SignalType, number>> = { sha256: 0, sha1: 1, md5: 2, pdq: 3 };

/**
 * An item's matches from the answers to its queries: PDQ hits beyond the
 * threshold, when one was given, dropped (a server may use a looser one for
 * some bank), then one match per
 * bank and category, the strongest kept (an exact hash over PDQ, then the
 * smaller distance). The same image listed in a bank by SHA-256 and by PDQ
 * is one match, not two.
 */
export function itemMatches(
  queries: readonly HashQuery[],
  hits: readonly (readonly BankHit[])[],
  threshold: number | undefined,
): ItemMatch[] {
  const best = new Map<string, ItemMatch>();
  queries.forEach((query, i) => {
    for (const hit of hits[i] ?? []) {
      if (query.type === 'pdq' && threshold !== undefined && hit.distance > threshold) continue;
      const match: ItemMatch = {
        bank: hit.bank,
        category: hit.category,
        distance: query.type === 'pdq' ? hit.distance : 0,
        type: query.type,
      };
      const key = `${match.bank}\u0000${match.category}`;
      const seen = best.get(key);
      if (seen === undefined || stronger(match, seen)) best.set(key, match);
    }
  });
  return [...best.values()].sort(
    (a, b) => a.distance - b.distance || (a.bank < b.bank ? -1 : a.bank > b.bank ? 1 : 0),
  );
}

function stronger(a: ItemMatch, b: ItemMatch): boolean {
  const exactA = a.type !== 'pdq';
  const exactB = b.type !== 'pdq';
  if (exactA !== exactB) return exactA;
  if (a.distance !== b.distance) return a.distance < b.distance;
  return STRENGTH[a.type] < STRENGTH[b.type];
}
