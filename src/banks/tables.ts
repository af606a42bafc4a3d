import type { Generated } from 'kysely';
import type { SignalType } from '../hash/signal.js';

/** Row types of the bank tables (migration 0005-banks). */

export interface BankTable {
  id: Generated<number>;
  /** A readable slug, unique: lower-case letters, digits, '.', '_' and '-'. */
  name: string;
  description: Generated<string>;
  /** Where the list comes from: police, a hotline, victim submissions... */
  source: Generated<string>;
  /** What a match means, e.g. "baseline" (INHOPE/ICCAM practice). */
  category: Generated<string>;
  enabled: Generated<boolean>;
  /** Largest PDQ Hamming distance that matches this bank's entries. */
  pdq_threshold: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface BankEntryTable {
  id: Generated<number>;
  bank_id: number;
  signal_type: SignalType;
  /** The hash's bytes (hex on every interface). */
  value: Buffer;
  added_at: Generated<Date>;
  source_ref: string | null;
  note: string | null;
  removed_at: Date | null;
  removed_reason: string | null;
}

export type ImportStatus = 'staging' | 'done' | 'failed';

export interface BankImportTable {
  id: Generated<number>;
  bank_id: number;
  file: string | null;
  format: string;
  status: Generated<ImportStatus>;
  lines: Generated<number>;
  added: Generated<number>;
  already_present: Generated<number>;
  duplicate_lines: Generated<number>;
  kept_removed: Generated<number>;
  invalid: Generated<number>;
  started_at: Generated<Date>;
  finished_at: Date | null;
}

/** Staging: the valid lines of an import, merged into bank_entry in one statement. */
export interface BankImportRowTable {
  import_id: number;
  /** Position among the import's valid lines: the first of several duplicates wins. */
  ord: number;
  signal_type: SignalType;
  value: Buffer;
  added_at: Date | null;
  source_ref: string | null;
  note: string | null;
}

export interface BankTables {
  bank: BankTable;
  bank_entry: BankEntryTable;
  bank_import: BankImportTable;
  bank_import_row: BankImportRowTable;
}
