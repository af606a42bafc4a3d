import type { ColumnType } from 'kysely';

/** Row types of the audit trail (migration 0003-audit). */

export type AuditOutcome = 'allowed' | 'denied' | 'failed';
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['allowed', 'denied', 'failed'];

/** Who acted: a signed-in person, an API key, nobody in particular, or the operator's CLI. */
export type AuditActorKind = 'user' | 'api-key' | 'anonymous' | 'system';
export const AUDIT_ACTOR_KINDS: readonly AuditActorKind[] = [
  'user',
  'api-key',
  'anonymous',
  'system',
];

/** Written once, never updated: Kysely refuses `updateTable('audit_entry').set(...)` at compile time. */
type Once<T, Insert = T> = ColumnType<T, Insert, never>;

export interface AuditEntryRow {
  /** 1, 2, 3, ... without gaps: the position in the chain. */
  seq: number;
  at: Date;
  actor_kind: AuditActorKind;
  actor_id: number | null;
  /** The user's e-mail or the key's name at the time, or "cli:<os user>". */
  actor_label: string | null;
  actor_role: string | null;
  actor_provider_id: number | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  action: string;
  object_type: string | null;
  object_id: string | null;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export type AuditEntryTable = {
  [K in keyof AuditEntryRow]: K extends 'details'
    ? Once<Record<string, unknown>, string> // inserted as JSON text: pg would send arrays as SQL arrays
    : Once<AuditEntryRow[K]>;
};

export interface AuditChainHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface AuditTables {
  audit_entry: AuditEntryTable;
  audit_chain_head: AuditChainHeadTable;
}
