import type { Generated } from 'kysely';

/** Row type of the change log (migration 0005-banks). */

export const CHANGE_KINDS = [
  'bank-created',
  'bank-updated',
  'bank-enabled',
  'bank-disabled',
  'entries-added',
  'entry-removed',
  'key-revoked',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ChangeLogTable {
  seq: Generated<number>;
  kind: ChangeKind;
  bank_id: number | null;
  /** entry-removed: the entry; entries-added: the first id added. */
  entry_id: number | null;
  /** entries-added: the last id added. */
  last_entry_id: number | null;
  key_id: number | null;
  changed_at: Generated<Date>;
}

export interface ChangeTables {
  change_log: ChangeLogTable;
}
