import type { Generated } from 'kysely';
import type { SignalType } from '../hash/signal.js';

/** Row type of the match records (migration 0007-check-matches). */

export interface CheckMatchTable {
  id: Generated<number>;
  checked_at: Date;
  /** "key:7", "user:3". */
  principal: string;
  key_id: number | null;
  provider_id: number | null;
  via: 'hashes' | 'image';
  signal_type: SignalType;
  value: Buffer;
  bank_id: number;
  entry_id: number;
  distance: number;
}

export interface CheckTables {
  check_match: CheckMatchTable;
}
