import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/database.js';
import type { ReviewStage } from './assessment.js';

/**
 * The analyst queue's SQL: the queue itself, claims (one conditional
 * statement each, so two analysts never both get an item), and the reads
 * behind an item's page.
 */

type QueueDb = Kysely<Database>;
type QueueTrx = Transaction<Database>;

export type ClaimedFilter = 'mine' | 'unclaimed' | 'any';

export interface QueueQuery {
  readonly host?: string | undefined;
  readonly claimed: ClaimedFilter;
  readonly stage?: ReviewStage | undefined;
  readonly order: 'oldest' | 'newest';
  /** Where the previous page ended (`nextCursor`). */
  readonly after?: QueueCursor | undefined;
  readonly limit: number;
  /** The caller (for claimed=mine) and the time claims are compared with. */
  readonly me: string;
  readonly now: Date;
}

/** queued_at as PostgreSQL prints it (microseconds kept) and the id. */
export interface QueueCursor {
  readonly at: string;
  readonly id: number;
}

export async function listQueue(db: QueueDb, q: QueueQuery) {
  const newest = q.order === 'newest';
  let query = db
    .selectFrom('media_item as i')
    .innerJoin('url_case as c', 'c.id', 'i.case_id')
    .leftJoin('item_review as r', 'r.item_id', 'i.id')
    .select([
      'i.id',
      'i.url',
      'i.queued_at',
      sql<string>`i.queued_at::text`.as('queued_text'),
      'i.md5',
      'i.sha1',
      'i.sha256',
      'i.pdq',
      'i.pdq_quality',
      'i.sniffed',
      'i.size_bytes',
      'c.id as case_id',
      'c.url as case_url',
      'c.host',
      'c.report_count',
      'r.stage',
      'r.claimed_by',
      'r.claimed_label',
      'r.claimed_until',
    ])
    .where('i.state', '=', 'queued');
  if (q.host !== undefined) query = query.where('c.host', '=', q.host);
  if (q.claimed === 'mine')
    query = query.where('r.claimed_by', '=', q.me).where('r.claimed_until', '>', q.now);
  if (q.claimed === 'unclaimed')
    query = query.where((eb) =>
      eb.or([eb('r.claimed_by', 'is', null), eb('r.claimed_until', '<=', q.now)]),
    );
  if (q.stage !== undefined) query = query.where(sql`coalesce(r.stage, 'first')`, '=', q.stage);
  if (q.after !== undefined)
    query = query.where(
      sql`(i.queued_at, i.id)`,
      newest ? '<' : '>',
      sql`(${q.after.at}::timestamptz, ${q.after.id}::bigint)`,
    );
  const rows = await query
    .orderBy('i.queued_at', newest ? 'desc' : 'asc')
    .orderBy('i.id', newest ? 'desc' : 'asc')
    .limit(q.limit + 1)
    .execute();
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    rows: page,
    next:
      rows.length > q.limit && last !== undefined ? { at: last.queued_text, id: last.id } : null,
  };
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly until: Date }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-queued'; readonly state: string }
  /** Queued, and nobody holds it (a release raced with us). */
  | { readonly kind: 'unclaimed' }
  | {
      readonly kind: 'held';
      readonly by: string;
      readonly label: string | null;
      readonly until: Date;
    };

/**
 * Claims a queued item for `who` until `until`, or renews their claim. One
 * statement: of two analysts claiming at once, PostgreSQL makes the second
 * wait for the first's row and then re-checks the condition against it, so
 * exactly one gets it (PGlite runs one statement at a time anyway).
 */
export async function claimItem(
  db: QueueDb,
  id: number,
  who: { readonly id: string; readonly label: string | null },
  now: Date,
  until: Date,
): Promise<ClaimOutcome> {
  const claimed = await sql<{ claimed_until: Date }>`
    insert into item_review (item_id, claimed_by, claimed_label, claimed_until, updated_at)
    select i.id, ${who.id}, ${who.label}, ${until}, now()
    from media_item i where i.id = ${id} and i.state = 'queued'
    on conflict (item_id) do update set
      claimed_by = excluded.claimed_by, claimed_label = excluded.claimed_label,
      claimed_until = excluded.claimed_until, updated_at = now()
    where item_review.claimed_by is null or item_review.claimed_until <= ${now}
      or item_review.claimed_by = excluded.claimed_by
    returning claimed_until`.execute(db);
  const row = claimed.rows[0];
  if (row !== undefined) return { kind: 'claimed', until: row.claimed_until };
  return whyNot(db, id);
}

async function whyNot(
  db: QueueDb,
  id: number,
): Promise<Exclude<ClaimOutcome, { kind: 'claimed' }>> {
  const item = await db
    .selectFrom('media_item as i')
    .leftJoin('item_review as r', 'r.item_id', 'i.id')
    .select(['i.state', 'r.claimed_by', 'r.claimed_label', 'r.claimed_until'])
    .where('i.id', '=', id)
    .executeTakeFirst();
  if (item === undefined) return { kind: 'not-found' };
  if (item.state !== 'queued') return { kind: 'not-queued', state: item.state };
  if (item.claimed_by === null || item.claimed_until === null) return { kind: 'unclaimed' };
  return {
    kind: 'held',
    by: item.claimed_by,
    label: item.claimed_label,
    until: item.claimed_until,
  };
}

/**
 * Gives a claim up: the holder's own, or anyone's when `anyone` (a
 * supervisor freeing an item). Returns what stands in the way otherwise.
 */
export async function releaseItem(
  db: QueueDb,
  id: number,
  who: string,
  anyone: boolean,
): Promise<{ readonly kind: 'released' } | Exclude<ClaimOutcome, { kind: 'claimed' }>> {
  let update = db
    .updateTable('item_review')
    .set({ claimed_by: null, claimed_label: null, claimed_until: null, updated_at: sql`now()` })
    .where('item_id', '=', id)
    .where('claimed_by', 'is not', null);
  if (!anyone) update = update.where('claimed_by', '=', who);
  const row = await update.returning('item_id').executeTakeFirst();
  if (row !== undefined) return { kind: 'released' };
  return whyNot(db, id);
}

/** The item's row with its review state, locked for an assessment. */
export async function lockItemForAssessment(trx: QueueTrx, id: number) {
  return trx
    .selectFrom('media_item as i')
    .leftJoin('item_review as r', 'r.item_id', 'i.id')
    .select([
      'i.id',
      'i.case_id',
      'i.state',
      'r.stage',
      'r.claimed_by',
      'r.claimed_label',
      'r.claimed_until',
    ])
    .where('i.id', '=', id)
    .forUpdate('i')
    .executeTakeFirst();
}

export async function assessorsOf(db: QueueDb | QueueTrx, itemId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('assessment')
    .select('assessor')
    .where('item_id', '=', itemId)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.assessor);
}

/** Everything an analyst sees about one item, except the media and the reporters' contacts. */
export async function itemDetail(db: QueueDb, id: number) {
  const item = await db
    .selectFrom('media_item as i')
    .leftJoin('item_review as r', 'r.item_id', 'i.id')
    .selectAll('i')
    .select(['r.stage', 'r.claimed_by', 'r.claimed_label', 'r.claimed_until'])
    .where('i.id', '=', id)
    .executeTakeFirst();
  if (item === undefined) return undefined;
  const kase = await db
    .selectFrom('url_case')
    .selectAll()
    .where('id', '=', item.case_id)
    .executeTakeFirstOrThrow();
  const reports = await db
    .selectFrom('report_case as rc')
    .innerJoin('report as r', 'r.id', 'rc.report_id')
    .select([
      'r.id',
      'r.channel',
      'r.provider_id',
      'r.submitted_by',
      'r.reference',
      'r.description',
      'r.received_at',
    ])
    .where('rc.case_id', '=', item.case_id)
    .orderBy('r.id')
    .execute();
  const matches = await db
    .selectFrom('media_match')
    .selectAll()
    .where('item_id', '=', id)
    .orderBy('bank_name')
    .orderBy('signal_type')
    .execute();
  const identical =
    item.sha256 === null
      ? []
      : await db
          .selectFrom('media_item')
          .select(['id', 'case_id', 'url', 'classification', 'classified_by', 'classified_at'])
          .where('sha256', '=', item.sha256)
          .where('id', '<>', id)
          .where('classification', 'is not', null)
          .orderBy('classified_at', 'desc')
          .limit(50)
          .execute();
  const assessments = await db
    .selectFrom('assessment')
    .selectAll()
    .where('item_id', '=', id)
    .orderBy('id')
    .execute();
  return { item, kase, reports, matches, identical, assessments };
}
