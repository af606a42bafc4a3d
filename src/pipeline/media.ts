import type { BankHit, MatchQuery } from '../check/bank-matcher.js';
import type { MatchFound } from '../classify/classify.js';
import type { FetchOutcome } from '../fetch/index.js';
import type { Sniffed } from '../fetch/sniff.js';
import type { ContentRecord } from '../hash/file/hash-file.js';
import { PDQ_MIN_RELIABLE_QUALITY } from '../hash/pdq.js';
import { pdqHexToWords } from '../hash/pdq-hash.js';

/**
 * Pure steps between the stages of one media item: a fetch outcome as the
 * columns that record it, hashes as matcher queries, matcher hits as the
 * matches to record and decide on.
 */

/** How a fetch outcome is recorded on a case or an item. */
export interface FetchRecord {
  readonly fetch_kind: string;
  readonly fetch_status: number | null;
  readonly fetch_message: string | null;
  readonly final_url: string | null;
  readonly address: string | null;
  readonly content_type: string | null;
  readonly sniffed: string | null;
}

export function fetchRecord(outcome: FetchOutcome): FetchRecord {
  if (outcome.kind === 'ok') {
    return {
      fetch_kind: 'ok',
      fetch_status: outcome.status,
      fetch_message: null,
      final_url: outcome.finalUrl === outcome.url ? null : outcome.finalUrl,
      address: outcome.address,
      content_type: outcome.contentType?.slice(0, 200) ?? null,
      sniffed: sniffedName(outcome.sniffed),
    };
  }
  return {
    fetch_kind: outcome.kind,
    fetch_status: outcome.status ?? null,
    fetch_message: outcome.message.slice(0, 1000),
    final_url: outcome.failedUrl === outcome.url ? null : outcome.failedUrl,
    address: outcome.address ?? null,
    content_type: null,
    sniffed: outcome.sniffed === undefined ? null : sniffedName(outcome.sniffed),
  };
}

/** "html", "image/jpeg", "video/mp4", "other", "empty". */
export function sniffedName(sniffed: Sniffed): string {
  return sniffed.kind === 'image' || sniffed.kind === 'video'
    ? `${sniffed.kind}/${sniffed.format}`
    : sniffed.kind;
}

/** Where an item's evidence goes in the blob store: 256 folders, so none grows huge. */
export function itemBlobKey(itemId: number): string {
  return `items/${(itemId % 256).toString(16).padStart(2, '0')}/${itemId}`;
}

/** An inline (data: URL) medium of a page, stored until its item is processed. */
export function inlineBlobKey(caseId: number, sha256: string): string {
  return `inline/${(caseId % 256).toString(16).padStart(2, '0')}/${caseId}-${sha256}`;
}

export interface PreparedQueries {
  readonly queries: MatchQuery[];
  /** Per query: its signal type. */
  readonly types: Array<MatchFound['signalType']>;
}

/** Exact hashes always; PDQ (with its 8 rotations and mirrors when `variants`) for images. */
export function matchQueries(record: ContentRecord, variants: boolean): PreparedQueries {
  const queries: MatchQuery[] = [];
  const types: Array<MatchFound['signalType']> = [];
  for (const type of ['md5', 'sha1', 'sha256'] as const) {
    const value = record[type];
    if (value !== undefined) {
      queries.push({ type, value });
      types.push(type);
    }
  }
  if (record.pdq !== undefined) {
    const hashes =
      variants && record.pdqVariants !== undefined
        ? Object.values(record.pdqVariants)
        : [record.pdq];
    queries.push({ type: 'pdq', words: hashes.map((hex) => pdqHexToWords(hex)) });
    types.push('pdq');
  }
  return { queries, types };
}

/** The hits as matches to record: one per bank and signal type; low-quality PDQ ones not decisive. */
export function matchesFrom(
  prepared: PreparedQueries,
  hits: readonly (readonly BankHit[])[],
  pdqQuality: number | undefined,
): MatchFound[] {
  const found: MatchFound[] = [];
  hits.forEach((perQuery, i) => {
    const signalType = prepared.types[i];
    for (const hit of perQuery) {
      found.push({
        bankId: hit.bank.id,
        bankName: hit.bank.name,
        category: hit.bank.category,
        signalType,
        distance: hit.distance,
        entryId: hit.entryId,
        decisive: signalType !== 'pdq' || (pdqQuality ?? 0) >= PDQ_MIN_RELIABLE_QUALITY,
      });
    }
  });
  return found;
}
