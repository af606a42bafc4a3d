import { sql } from 'kysely';
import type { Kysely, Transaction, Updateable } from 'kysely';
import { ICCAM_CLASSIFICATIONS } from '../classify/classify.js';
import type { MatchFound } from '../classify/classify.js';
import type { UrlCaseTable } from '../intake/tables.js';
import type { Database } from '../store/database.js';
import type { ClassifiedBy, FoundAs, MediaItemTable } from './tables.js';

/**
 * The pipeline's SQL over cases and media items. Every write that ends a
 * stage for a case or an item is conditional on the row still being
 * `pending`, so a job that runs twice (its worker died after the commit)
 * changes nothing the second time.
 */

type Db = Kysely<Database> | Transaction<Database>;
export type CaseChanges = Updateable<UrlCaseTable>;
export type ItemChanges = Updateable<MediaItemTable>;

export interface CaseToFetch {
  readonly id: number;
  readonly url: string;
  readonly host: string;
  readonly state: string;
}

export async function loadCase(db: Db, id: number): Promise<CaseToFetch | undefined> {
  return db
    .selectFrom('url_case')
    .select(['id', 'url', 'host', 'state'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** A try that will be retried: visible to admins while the case waits. */
export async function recordCaseAttempt(db: Db, id: number, changes: CaseChanges): Promise<void> {
  await db
    .updateTable('url_case')
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .execute();
}

/** Ends the case's fetch stage; false when it had already ended (a repeated run). */
export async function settleCase(db: Db, id: number, changes: CaseChanges): Promise<boolean> {
  const row = await db
    .updateTable('url_case')
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export interface NewItem {
  readonly url: string;
  readonly foundAs: FoundAs;
  readonly via: readonly string[];
  readonly hint: string | null;
  /** Inline media: where its bytes wait (stored before the item). */
  readonly mediaKey: string | null;
}

/**
 * Adds a fetched page's items and returns them with their ids, in id
 * order. Called in the transaction that moves the case out of `pending`,
 * so the items are new: a run that died before the commit left none behind.
 */
export async function insertItems(
  trx: Transaction<Database>,
  caseId: number,
  items: readonly NewItem[],
): Promise<Array<{ readonly id: number; readonly item: NewItem }>> {
  if (items.length === 0) return [];
  const rows = await trx
    .insertInto('media_item')
    .values(
      items.map((item) => ({
        case_id: caseId,
        url: item.url,
        found_as: item.foundAs,
        via: [...item.via],
        hint: item.hint,
        media_key: item.mediaKey,
      })),
    )
    .onConflict((oc) => oc.columns(['case_id', 'url']).doNothing())
    .returning(['id', 'url'])
    .execute();
  const byUrl = new Map(items.map((item) => [item.url, item]));
  return rows
    .map((row) => ({ id: row.id, item: byUrl.get(row.url) as NewItem }))
    .sort((a, b) => a.id - b.id);
}

export interface ItemToProcess {
  readonly id: number;
  readonly caseId: number;
  readonly url: string;
  readonly foundAs: FoundAs;
  readonly state: string;
  readonly mediaKey: string | null;
  /** The page's host (an inline item has none of its own). */
  readonly caseHost: string;
}

export async function loadItem(db: Db, id: number): Promise<ItemToProcess | undefined> {
  const row = await db
    .selectFrom('media_item as i')
    .innerJoin('url_case as c', 'c.id', 'i.case_id')
    .select(['i.id', 'i.case_id', 'i.url', 'i.found_as', 'i.state', 'i.media_key', 'c.host'])
    .where('i.id', '=', id)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : {
        id: row.id,
        caseId: row.case_id,
        url: row.url,
        foundAs: row.found_as,
        state: row.state,
        mediaKey: row.media_key,
        caseHost: row.host,
      };
}

export async function recordItemAttempt(db: Db, id: number, changes: ItemChanges): Promise<void> {
  await db
    .updateTable('media_item')
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .execute();
}

/**
 * Ends an item's automatic stages: its result and its matches in one
 * statement (so a match is never lost to a crash between the two), then,
 * if it was the case's last pending item, the case's own end. The latter
 * is a statement of its own, after the item's commit: of items finishing
 * at once, the last to commit always sees the others done, and the
 * `processed_at is null` condition keeps a second finisher from repeating
 * it. `caseChanges` ends the case's fetch too (a reported URL that was
 * itself media), in one transaction with the item. False when the item had
 * been finished already.
 */
export async function finishItem(
  db: Kysely<Database>,
  item: { readonly id: number; readonly caseId: number },
  changes: ItemChanges,
  matches: readonly MatchFound[],
  caseChanges?: CaseChanges,
): Promise<boolean> {
  if (caseChanges !== undefined) {
    return db.transaction().execute(async (trx) => {
      const done = await updateItem(trx, item.id, changes, matches);
      if (done) {
        await settleCase(trx, item.caseId, caseChanges);
        await finalizeCase(trx, item.caseId);
      }
      return done;
    });
  }
  const done = await updateItem(db, item.id, changes, matches);
  if (done) await finalizeCase(db, item.caseId);
  return done;
}

/** The item's row and its matches, in one statement; false when it was not pending. */
async function updateItem(
  db: Db,
  id: number,
  changes: ItemChanges,
  matches: readonly MatchFound[],
): Promise<boolean> {
  const column = <K extends keyof MatchFound>(key: K) => matches.map((m) => m[key]);
  const row = await db
    .with('updated', (qb) =>
      qb
        .updateTable('media_item')
        .set({ ...changes, processed_at: sql`now()`, updated_at: sql`now()` })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .returning('id'),
    )
    .with('matched', (qb) =>
      qb
        .insertInto('media_match')
        .columns([
          'item_id',
          'bank_id',
          'bank_name',
          'category',
          'signal_type',
          'distance',
          'entry_id',
          'decisive',
        ])
        .expression(
          sql`select updated.id, m.* from updated, unnest(
                ${column('bankId')}::int4[], ${column('bankName')}::text[], ${column('category')}::text[],
                ${column('signalType')}::text[], ${column('distance')}::int2[], ${column('entryId')}::int8[],
                ${column('decisive')}::bool[])
              as m(bank_id, bank_name, category, signal_type, distance, entry_id, decisive)`,
        )
        .onConflict((oc) => oc.doNothing())
        .returning('item_id'),
    )
    .selectFrom('updated')
    .select((eb) => [eb.fn.countAll<number>().as('n')])
    .executeTakeFirstOrThrow();
  return Number(row.n) > 0;
}

/**
 * A fetched case whose items are all done is processed. If none of them
 * could be looked at (all unavailable), the page itself goes to an analyst.
 * Once every item that could be looked at is decided (by a bank, a rule or
 * an analyst), the case rolls up (`rollUpCase`).
 *
 * Most finishers are not the last: a plain look at the pending items
 * first, then the case's row is locked and counted again. The item's own
 * update committed before the look, so the last of several items finishing
 * at once always sees the others done.
 */
async function finalizeCase(db: Db, caseId: number): Promise<void> {
  if (db.isTransaction) return rollUpCase(db as Transaction<Database>, caseId);
  const pending = await db
    .selectFrom('media_item')
    .select('id')
    .where('case_id', '=', caseId)
    .where('state', '=', 'pending')
    .limit(1)
    .executeTakeFirst();
  if (pending !== undefined) return;
  await db.transaction().execute((trx) => rollUpCase(trx, caseId));
}

/** Most severe first: a case takes the worst classification among its items. */
export const CASE_SEVERITY: readonly string[] = ICCAM_CLASSIFICATIONS;
/** Among items of that classification, who decided it: an analyst's word over a bank's over a rule's. */
const DECIDER_RANK: readonly ClassifiedBy[] = ['analyst', 'bank', 'rule'];

/**
 * Brings a fetched case up to date with its items, in the caller's
 * transaction (the pipeline after an item, the analyst queue with its
 * decision):
 *
 * - the first time no item is pending: `processed_at`, and when every item
 *   was unavailable, `queued` for an analyst (`media-unavailable`);
 * - once no item is pending or queued and at least one is classified:
 *   `classified`, with the most severe classification of its items
 *   (baseline > national > doubtful > not-illegal; unavailable items do not
 *   count) and `classified_by` of the item that gave it.
 *
 * The case row is locked first and counted after, in a statement of its
 * own: of two transactions deciding a case's last items at once, the second
 * waits for the first and then sees its items decided (read committed takes
 * a fresh snapshot per statement). Conditional on the case being `fetched`,
 * so running it again changes nothing.
 */
export async function rollUpCase(trx: Transaction<Database>, caseId: number): Promise<void> {
  await trx.selectFrom('url_case').select('id').where('id', '=', caseId).forUpdate().execute();
  const order = sql`array_position(${CASE_SEVERITY}::text[], classification),
    array_position(${DECIDER_RANK}::text[], classified_by)`;
  await sql`
    update url_case set
      processed_at = coalesce(url_case.processed_at, now()), updated_at = now(),
      state = case when counts.looked = 0 then 'queued'
                   when counts.open = 0 then 'classified' else url_case.state end,
      review_reason = case when counts.looked = 0 then 'media-unavailable' else url_case.review_reason end,
      classification = case when counts.looked > 0 and counts.open = 0 then counts.worst
                             else url_case.classification end,
      classified_by = case when counts.looked > 0 and counts.open = 0 then counts.worst_by
                           else url_case.classified_by end
    from (select count(*) filter (where state = 'pending') as pending,
                 count(*) filter (where state not in ('classified', 'unavailable')) as open,
                 count(*) filter (where state <> 'unavailable') as looked,
                 (array_agg(classification order by ${order})
                   filter (where state = 'classified'))[1] as worst,
                 (array_agg(classified_by order by ${order})
                   filter (where state = 'classified'))[1] as worst_by
          from media_item where case_id = ${caseId}) as counts
    where url_case.id = ${caseId} and url_case.state = 'fetched' and counts.pending = 0
      and (url_case.processed_at is null or (counts.looked > 0 and counts.open = 0))`.execute(trx);
}

/** The reported URL's own item (it was media, not a page); its id either way. */
export async function reportedItem(
  db: Kysely<Database>,
  caseId: number,
  url: string,
): Promise<number> {
  await db
    .insertInto('media_item')
    .values({ case_id: caseId, url, found_as: 'reported' })
    .onConflict((oc) => oc.columns(['case_id', 'url']).doNothing())
    .execute();
  const row = await db
    .selectFrom('media_item')
    .select('id')
    .where('case_id', '=', caseId)
    .where('url', '=', url)
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Kept media older than `before`, oldest first. */
export async function mediaDue(
  db: Db,
  before: Date,
  limit: number,
): Promise<Array<{ id: number; media_key: string }>> {
  const rows = await db
    .selectFrom('media_item')
    .select(['id', 'media_key'])
    .where('media_key', 'is not', null)
    .where('media_deleted_at', 'is', null)
    .where('media_stored_at', '<', before)
    .orderBy('media_stored_at')
    .limit(limit)
    .execute();
  return rows as Array<{ id: number; media_key: string }>;
}

export async function markMediaDeleted(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('media_item')
    .set({ media_deleted_at: sql`now()`, updated_at: sql`now()` })
    .where('id', 'in', ids)
    .execute();
}
