import { stringify } from 'csv-stringify/sync';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import type { AuditEntryRow, AuditOutcome } from './tables.js';

/** Searching and exporting the audit trail (GET /v1/audit). */

export interface AuditFilter {
  /** "user:12", "key:7", "anonymous", "system", or an e-mail / label as recorded. */
  readonly actor?: string | undefined;
  /** An action ("session.login"), or a prefix ending in "*" ("session.*"). */
  readonly action?: string | undefined;
  readonly objectType?: string | undefined;
  readonly objectId?: string | undefined;
  readonly outcome?: AuditOutcome | undefined;
  /** Inclusive. */
  readonly from?: Date | undefined;
  /** Exclusive. */
  readonly to?: Date | undefined;
  /** Paging: entries before this seq (newest first). */
  readonly before?: number | undefined;
  readonly limit: number;
}

export type ActorFilter =
  | { readonly kind: 'user' | 'api-key'; readonly id: number }
  | { readonly kind: 'anonymous' | 'system' }
  | { readonly kind: 'label'; readonly label: string };

/** How an actor filter is meant (pure). */
export function parseActor(actor: string): ActorFilter {
  const match = /^(user|key):(\d{1,9})$/.exec(actor);
  if (match !== null) {
    return { kind: match[1] === 'user' ? 'user' : 'api-key', id: Number(match[2]) };
  }
  if (actor === 'anonymous' || actor === 'system') return { kind: actor };
  return { kind: 'label', label: actor.toLowerCase() };
}

/** LIKE pattern for a prefix, with LIKE's own wildcards taken literally. */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

export interface AuditPage {
  readonly entries: AuditEntryRow[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  readonly next: number | null;
}

export async function searchAudit(db: Kysely<Database>, filter: AuditFilter): Promise<AuditPage> {
  let query = db.selectFrom('audit_entry').selectAll();
  if (filter.actor !== undefined) {
    const actor = parseActor(filter.actor);
    if (actor.kind === 'label') query = query.where('actor_label', '=', actor.label);
    else if (actor.kind === 'user' || actor.kind === 'api-key') {
      query = query.where('actor_kind', '=', actor.kind).where('actor_id', '=', actor.id);
    } else query = query.where('actor_kind', '=', actor.kind);
  }
  if (filter.action !== undefined) {
    query = filter.action.endsWith('*')
      ? query.where('action', 'like', likePrefix(filter.action.slice(0, -1)))
      : query.where('action', '=', filter.action);
  }
  if (filter.objectType !== undefined) query = query.where('object_type', '=', filter.objectType);
  if (filter.objectId !== undefined) query = query.where('object_id', '=', filter.objectId);
  if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
  if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('at', '<', filter.to);
  if (filter.before !== undefined) query = query.where('seq', '<', filter.before);
  const rows = await query
    .orderBy('seq', 'desc')
    .limit(filter.limit + 1)
    .execute();
  const entries = rows.slice(0, filter.limit);
  const last = entries.at(-1);
  return { entries, next: rows.length > filter.limit && last !== undefined ? last.seq : null };
}

export const CSV_COLUMNS = [
  'seq',
  'at',
  'actor_kind',
  'actor_id',
  'actor_label',
  'actor_role',
  'actor_provider_id',
  'ip',
  'user_agent',
  'request_id',
  'action',
  'object_type',
  'object_id',
  'outcome',
  'details',
  'prev_hash',
  'hash',
] as const satisfies ReadonlyArray<keyof AuditEntryRow>;

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets
 * a leading apostrophe: e-mail addresses and user agents come from outside,
 * and auditors open exports in spreadsheets (OWASP "CSV injection").
 */
export function safeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** RFC 4180 CSV with a header row; `details` as JSON, times in ISO 8601. */
export function auditCsv(entries: readonly AuditEntryRow[]): string {
  const rows = entries.map((entry) =>
    CSV_COLUMNS.map((column) => {
      const value = entry[column];
      if (value === null) return '';
      if (value instanceof Date) return value.toISOString();
      if (typeof value === 'object') return safeCell(JSON.stringify(value));
      return typeof value === 'string' ? safeCell(value) : String(value);
    }),
  );
  return stringify([[...CSV_COLUMNS], ...rows], { record_delimiter: '\r\n' });
}
