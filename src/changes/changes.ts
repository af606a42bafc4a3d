import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/database.js';
import type { ChangeKind } from './tables.js';

/**
 * The change log: every change a server process must follow (an entry added
 * or removed, a bank enabled, disabled or changed, a key revoked) gets the
 * next sequence number. Each process remembers the last number it applied
 * and polls for later ones (LISTEN/NOTIFY does not work on the embedded
 * database).
 *
 * Followers must never miss a number. A sequence alone does not promise
 * that: two transactions can take 10 and 11 and commit 11 first, and a
 * follower that saw 11 would skip 10 for ever. So writers take a
 * transaction-scoped advisory lock before taking a number and keep it until
 * they commit: numbers become visible in order. Keep the work after
 * `recordChange` short; it holds up other writers of the log until commit.
 */

export interface Change {
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly bankId: number | null;
  /** entry-removed: the entry; entries-added: the first id added. */
  readonly entryId: number | null;
  /** entries-added: the last id added. */
  readonly lastEntryId: number | null;
  readonly keyId: number | null;
}

export interface NewChange {
  readonly kind: ChangeKind;
  readonly bankId?: number;
  readonly entryId?: number;
  readonly lastEntryId?: number;
  readonly keyId?: number;
}

/** Any fixed number no other feature uses as an advisory lock: "takd". */
const CHANGE_LOG_LOCK = 0x74616b64;

/** Appends a change inside the caller's transaction; returns its sequence number. */
export async function recordChange(trx: Transaction<Database>, change: NewChange): Promise<number> {
  await sql`select pg_advisory_xact_lock(${sql.lit(CHANGE_LOG_LOCK)}::bigint)`.execute(trx);
  const row = await trx
    .insertInto('change_log')
    .values({
      kind: change.kind,
      bank_id: change.bankId ?? null,
      entry_id: change.entryId ?? null,
      last_entry_id: change.lastEntryId ?? null,
      key_id: change.keyId ?? null,
    })
    .returning('seq')
    .executeTakeFirstOrThrow();
  return row.seq;
}

/** Changes after `seq`, oldest first: one query on the primary key. */
export async function changesSince(
  db: Kysely<Database>,
  seq: number,
  limit: number,
): Promise<Change[]> {
  const rows = await db
    .selectFrom('change_log')
    .select(['seq', 'kind', 'bank_id', 'entry_id', 'last_entry_id', 'key_id'])
    .where('seq', '>', seq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    seq: r.seq,
    kind: r.kind,
    bankId: r.bank_id,
    entryId: r.entry_id,
    lastEntryId: r.last_entry_id,
    keyId: r.key_id,
  }));
}

/** The newest sequence number, 0 when nothing changed yet. */
export async function latestChange(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('change_log')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  return row?.seq ?? 0;
}

/**
 * Runs `work` in a transaction, or inside the caller's when `db` already is
 * one (so a caller can add its own statements, such as an audit record, to
 * the same commit).
 */
export function inTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<Database>);
  return db.transaction().execute(work);
}
