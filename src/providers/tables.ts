import type { Generated } from 'kysely';
import type { Role } from '../access/principal.js';

/** Row types of providers and API keys (migration 0006-providers). */

export interface ProviderTable {
  id: Generated<number>;
  /** Unique regardless of case. */
  name: string;
  contact_email: string | null;
  created_at: Generated<Date>;
}

export interface ApiKeyTable {
  id: Generated<number>;
  provider_id: number;
  role: Generated<Role>;
  /** The first characters of the key, shown in lists to recognise it. */
  prefix: string;
  /** SHA-256 of the whole key; the key itself is never stored. */
  secret_hash: Buffer;
  label: string | null;
  /** Rate limits of this key; null = the defaults (TAKEDOWN_CHECK_*_PER_SECOND). */
  hashes_per_second: number | null;
  images_per_second: number | null;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface ProviderTables {
  provider: ProviderTable;
  api_key: ApiKeyTable;
}
