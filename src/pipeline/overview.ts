import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';

/** What `takedown queue` shows: counts by state, and the oldest work waiting for analysts. */

export interface QueueOverview {
  readonly items: Readonly<Record<string, number>>;
  readonly cases: Readonly<Record<string, number>>;
  readonly jobs: Readonly<Record<string, { pending: number; running: number; dead: number }>>;
  readonly queuedItems: ReadonlyArray<{
    readonly id: number;
    readonly url: string;
    readonly pageUrl: string;
    readonly sniffed: string | null;
    readonly sizeBytes: number | null;
    readonly pdqQuality: number | null;
    readonly hashError: string | null;
    /** Matches recorded but not decisive (low-quality PDQ). */
    readonly matches: number;
    readonly queuedAt: Date;
    readonly reportCount: number;
    /** Analyst review (src/assess): 'second-opinion' or 'disputed'; null while awaiting the first. */
    readonly reviewStage: string | null;
    /** Who holds an unexpired claim on it. */
    readonly claimedBy: string | null;
  }>;
  readonly queuedCases: ReadonlyArray<{
    readonly id: number;
    readonly url: string;
    readonly reason: string | null;
    readonly fetchKind: string | null;
    readonly lastReportedAt: Date;
    readonly reportCount: number;
  }>;
}

const PIPELINE_JOBS = ['fetch-case', 'process-media', 'media-retention', 'own-bank-feed'];

export async function queueOverview(db: Kysely<Database>, limit: number): Promise<QueueOverview> {
  const itemCounts = await db
    .selectFrom('media_item')
    .select(['state', sql<number>`count(*)`.as('n')])
    .groupBy('state')
    .execute();
  const caseCounts = await db
    .selectFrom('url_case')
    .select(['state', sql<number>`count(*)`.as('n')])
    .where('closed_at', 'is', null)
    .groupBy('state')
    .execute();
  const jobCounts = await db
    .selectFrom('job')
    .select(['name', 'state', sql<number>`count(*)`.as('n')])
    .where('name', 'in', PIPELINE_JOBS)
    .groupBy(['name', 'state'])
    .execute();
  const queuedItems = await db
    .selectFrom('media_item as i')
    .innerJoin('url_case as c', 'c.id', 'i.case_id')
    .select((eb) => [
      'i.id',
      'i.url',
      'c.url as page_url',
      'i.sniffed',
      'i.size_bytes',
      'i.pdq_quality',
      'i.hash_error',
      'i.queued_at',
      'c.report_count',
      eb
        .selectFrom('media_match as m')
        .select(sql<number>`count(*)`.as('n'))
        .whereRef('m.item_id', '=', 'i.id')
        .as('matches'),
      // The analyst queue's own table (migration 0010), outside the Database type.
      sql<string | null>`(select r.stage from item_review r
        where r.item_id = i.id and r.stage <> 'first')`.as('review_stage'),
      sql<string | null>`(select coalesce(r.claimed_label, r.claimed_by) from item_review r
        where r.item_id = i.id and r.claimed_until > now())`.as('claimed_by'),
    ])
    .where('i.state', '=', 'queued')
    .orderBy('i.queued_at')
    .orderBy('i.id')
    .limit(limit)
    .execute();
  const queuedCases = await db
    .selectFrom('url_case')
    .select(['id', 'url', 'review_reason', 'fetch_kind', 'last_reported_at', 'report_count'])
    .where('state', '=', 'queued')
    .where('closed_at', 'is', null)
    .orderBy('last_reported_at')
    .limit(limit)
    .execute();
  const jobs: Record<string, { pending: number; running: number; dead: number }> = {};
  for (const row of jobCounts) {
    jobs[row.name] ??= { pending: 0, running: 0, dead: 0 };
    jobs[row.name][row.state] = Number(row.n);
  }
  return {
    items: Object.fromEntries(itemCounts.map((r) => [r.state, Number(r.n)])),
    cases: Object.fromEntries(caseCounts.map((r) => [r.state, Number(r.n)])),
    jobs,
    queuedItems: queuedItems.map((r) => ({
      id: r.id,
      url: r.url,
      pageUrl: r.page_url,
      sniffed: r.sniffed,
      sizeBytes: r.size_bytes,
      pdqQuality: r.pdq_quality,
      hashError: r.hash_error,
      matches: Number(r.matches ?? 0),
      queuedAt: r.queued_at as Date,
      reportCount: r.report_count,
      reviewStage: r.review_stage,
      claimedBy: r.claimed_by,
    })),
    queuedCases: queuedCases.map((r) => ({
      id: r.id,
      url: r.url,
      reason: r.review_reason,
      fetchKind: r.fetch_kind,
      lastReportedAt: r.last_reported_at,
      reportCount: r.report_count,
    })),
  };
}
