import type { ColumnType, Generated } from 'kysely';

/**
 * Row types of the media items (migration 0009-reports): every image or
 * video found on a reported page, or reported directly, with what fetching,
 * hashing, matching and classifying found. Items keep their hashes, matches
 * and decisions after their media is deleted.
 */

/** How an item was found: the reported URL itself, a reference on the page, a data: URL in it. */
export type FoundAs = 'reported' | 'page' | 'inline';

/**
 * pending: not fetched and hashed yet. unavailable: could not be fetched (the
 * outcome is recorded). classified: decided automatically (bank match or
 * domain rule). queued: waits for an analyst. The analyst side adds its own
 * states after queued.
 */
export type ItemState = 'pending' | 'unavailable' | 'classified' | 'queued';

/** Who decided an item's classification. */
export type ClassifiedBy = 'bank' | 'rule' | 'analyst';

export interface MediaItemTable {
  id: Generated<number>;
  case_id: number;
  /** Normalized URL; an inline item is "data:<type>;sha256,<hex>". Unique per case. */
  url: string;
  found_as: FoundAs;
  /** Every way the page referenced it (img[src], [style]…), from extractMedia. */
  via: ColumnType<string[], string[] | undefined, string[]>;
  /** What the page suggested it is (image, video, unknown); the bytes decide. */
  hint: string | null;
  state: ColumnType<ItemState, ItemState | undefined, ItemState>;
  fetch_kind: string | null;
  fetch_status: number | null;
  fetch_message: string | null;
  fetch_attempts: ColumnType<number, number | undefined, number>;
  fetched_at: Date | null;
  final_url: string | null;
  address: string | null;
  content_type: string | null;
  sniffed: string | null;
  size_bytes: number | null;
  md5: Buffer | null;
  sha1: Buffer | null;
  sha256: Buffer | null;
  pdq: Buffer | null;
  pdq_quality: number | null;
  image_format: string | null;
  /** Why a hash is missing (src/hash/file/errors.ts code), e.g. corrupt-image. */
  hash_error: string | null;
  hash_message: string | null;
  classification: string | null;
  classified_by: ClassifiedBy | null;
  classified_at: Date | null;
  rule_id: number | null;
  /** The encrypted evidence in the blob store, while it is kept. */
  media_key: string | null;
  media_stored_at: Date | null;
  media_deleted_at: Date | null;
  queued_at: Date | null;
  /** When the automatic stages were done with the item. */
  processed_at: Date | null;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** One bank an item matched, as the bank was at the time. */
export interface MediaMatchTable {
  item_id: number;
  bank_id: number;
  bank_name: string;
  category: string;
  signal_type: string;
  distance: number;
  entry_id: number;
  /** False for a PDQ match of a low-quality hash: shown to analysts, not used to decide. */
  decisive: boolean;
  matched_at: Generated<Date>;
}

export interface PipelineTables {
  media_item: MediaItemTable;
  media_match: MediaMatchTable;
}
