import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { JobQueue } from '../jobs/index.js';
import type { Database } from '../store/database.js';
import type { PreparedReport } from './intake.js';
import type { CaseProgress } from './status.js';
import type { ReportChannel, ReporterContact } from './tables.js';
import { newTrackingCode } from './tracking-code.js';
import type { TrackingCode } from './tracking-code.js';

/**
 * Intake's SQL. `storeReports` is the one write every way in uses: reports,
 * their cases (joining open ones), the links, contact details and the first
 * job of each new case, in the caller's transaction, so that a report is
 * either stored with its work queued or not stored at all.
 */

export interface NewReport {
  readonly channel: ReportChannel;
  readonly providerId: number | null;
  /** "anonymous", "key:7", "user:3", "cli:alice". */
  readonly submittedBy: string;
  /** Resubmitting the same key returns the earlier report instead of a new one. */
  readonly dedupeKey: string | null;
  readonly report: PreparedReport;
}

export interface StoredCase {
  readonly caseId: number;
  readonly url: string;
  /** False when the URL joined a case that was already open. */
  readonly created: boolean;
}

export interface StoredReport {
  readonly reportId: number;
  readonly trackingCode: TrackingCode;
  /** Its dedupe key was sent before: this is the earlier report, unchanged. */
  readonly duplicate: boolean;
  /** Empty for a duplicate. */
  readonly cases: readonly StoredCase[];
}

/** Stores the reports (in order) in `trx`; the new cases' fetch jobs commit with them. */
export async function storeReports(
  trx: Transaction<Database>,
  queue: JobQueue,
  reports: readonly NewReport[],
): Promise<StoredReport[]> {
  if (reports.length === 0) return [];
  const stored = new Map<number, { id: number; code: TrackingCode; duplicate: boolean }>();
  let unsettled = reports.map((_, index) => index);
  // Loops only if a tracking code collides (60 random bits: practically never).
  while (unsettled.length > 0) {
    const codes = new Map(unsettled.map((index) => [index, newTrackingCode()]));
    const inserted = await trx
      .insertInto('report')
      .values(
        unsettled.map((index) => {
          const { report, ...meta } = reports[index];
          return {
            tracking_code: codes.get(index) as string,
            channel: meta.channel,
            provider_id: meta.providerId,
            submitted_by: meta.submittedBy,
            reference: report.reference ?? null,
            dedupe_key: meta.dedupeKey,
            description: report.description,
            url_count: report.urls.length,
          };
        }),
      )
      .onConflict((oc) => oc.doNothing())
      .returning(['id', 'tracking_code'])
      .execute();
    const byCode = new Map(inserted.map((row) => [row.tracking_code, row.id]));
    const missing: number[] = [];
    for (const index of unsettled) {
      const code = codes.get(index) as TrackingCode;
      const id = byCode.get(code);
      if (id !== undefined) stored.set(index, { id, code, duplicate: false });
      else missing.push(index);
    }
    const keys = missing.map((i) => reports[i].dedupeKey).filter((k): k is string => k !== null);
    const earlier =
      keys.length === 0
        ? []
        : await trx
            .selectFrom('report')
            .select(['id', 'tracking_code', 'dedupe_key'])
            .where('dedupe_key', 'in', keys)
            .execute();
    const byKey = new Map(earlier.map((row) => [row.dedupe_key, row]));
    unsettled = [];
    for (const index of missing) {
      const found = byKey.get(reports[index].dedupeKey);
      if (found !== undefined)
        stored.set(index, {
          id: found.id,
          code: found.tracking_code as TrackingCode,
          duplicate: true,
        });
      else unsettled.push(index);
    }
  }

  const fresh = reports
    .map((report, index) => ({ report, index, row: stored.get(index)! }))
    .filter((entry) => !entry.row.duplicate);
  const cases = await upsertCases(
    trx,
    fresh.flatMap((entry) => entry.report.report.urls),
  );

  const links = fresh.flatMap((entry) =>
    entry.report.report.urls.map((u) => ({
      report_id: entry.row.id,
      case_id: (cases.get(u.url) as StoredCase).caseId,
    })),
  );
  if (links.length > 0)
    await trx
      .insertInto('report_case')
      .values(links)
      .onConflict((oc) => oc.doNothing())
      .execute();
  const contacts = fresh.filter((entry) => entry.report.report.contact !== undefined);
  if (contacts.length > 0) {
    await trx
      .insertInto('report_contact')
      .values(
        contacts.map((entry) => ({
          report_id: entry.row.id,
          contact: JSON.stringify(entry.report.report.contact?.details ?? {}),
          is_victim: entry.report.report.contact?.isVictim ?? false,
        })),
      )
      .execute();
  }
  for (const stored of cases.values()) {
    if (stored.created)
      await queue.enqueue(
        trx,
        'fetch-case',
        { caseId: stored.caseId },
        { key: `fetch-case:${stored.caseId}` },
      );
  }
  return reports.map((_, index) => {
    const row = stored.get(index)!;
    return {
      reportId: row.id,
      trackingCode: row.code,
      duplicate: row.duplicate,
      cases: row.duplicate
        ? []
        : reports[index].report.urls.map((u) => cases.get(u.url) as StoredCase),
    };
  });
}

/**
 * One statement for every URL: a new case for each URL without an open one,
 * the others counted as reported again. Sorted, so that two batches with
 * URLs in common lock their rows in the same order and never deadlock.
 */
async function upsertCases(
  trx: Transaction<Database>,
  urls: ReadonlyArray<{ readonly url: string; readonly host: string }>,
): Promise<Map<string, StoredCase>> {
  const counts = new Map<string, { host: string; n: number }>();
  for (const { url, host } of urls) {
    const seen = counts.get(url);
    if (seen === undefined) counts.set(url, { host, n: 1 });
    else seen.n += 1;
  }
  const sorted = [...counts.keys()].sort();
  if (sorted.length === 0) return new Map();
  const { rows } = await sql<{ id: number; url: string; created: boolean }>`
    insert into url_case (url, host, report_count)
    select * from unnest(${sorted}::text[], ${sorted.map((u) => counts.get(u)!.host)}::text[],
                         ${sorted.map((u) => counts.get(u)!.n)}::int4[])
    on conflict (url) where closed_at is null do update
      set report_count = url_case.report_count + excluded.report_count,
          last_reported_at = now(), updated_at = now()
    returning id, url, (xmax = 0) as created`.execute(trx);
  return new Map(
    rows.map((row) => [row.url, { caseId: row.id, url: row.url, created: row.created }]),
  );
}

/** The report with this tracking code, if any. */
export async function findReportId(
  db: Kysely<Database>,
  code: TrackingCode,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('report')
    .select('id')
    .where('tracking_code', '=', code)
    .executeTakeFirst();
  return row?.id;
}

/** The report's cases as its status needs them. */
export async function caseProgress(
  db: Kysely<Database>,
  reportId: number,
): Promise<CaseProgress[]> {
  const rows = await db
    .selectFrom('report_case as rc')
    .innerJoin('url_case as c', 'c.id', 'rc.case_id')
    .select((eb) => [
      'c.state',
      'c.fetch_attempts',
      'c.action_taken_at',
      'c.closed_at',
      eb
        .selectFrom('media_item as i')
        .select(sql<number>`count(*)`.as('n'))
        .whereRef('i.case_id', '=', 'c.id')
        .where('i.state', 'not in', ['unavailable', 'classified'])
        .as('open_items'),
    ])
    .where('rc.report_id', '=', reportId)
    .execute();
  return rows.map((row) => ({
    state: row.state,
    fetchAttempts: row.fetch_attempts,
    openItems: Number(row.open_items ?? 0),
    actionTakenAt: row.action_taken_at,
    closedAt: row.closed_at,
  }));
}

/** A report for staff: its fields and its cases, without the reporter's contact details. */
export async function reportDetails(db: Kysely<Database>, id: number) {
  const report = await db.selectFrom('report').selectAll().where('id', '=', id).executeTakeFirst();
  if (report === undefined) return undefined;
  const cases = await db
    .selectFrom('report_case as rc')
    .innerJoin('url_case as c', 'c.id', 'rc.case_id')
    .select([
      'c.id',
      'c.url',
      'c.state',
      'c.report_count',
      'c.fetch_kind',
      'c.fetch_status',
      'c.fetch_message',
      'c.sniffed',
      'c.media_found',
      'c.review_reason',
      'c.rule_action',
      'c.classification',
      'c.closed_at',
    ])
    .where('rc.report_id', '=', id)
    .orderBy('c.id')
    .execute();
  const items = await db
    .selectFrom('media_item')
    .select(['case_id', 'state', sql<number>`count(*)`.as('n')])
    .where('case_id', 'in', cases.length === 0 ? [0] : cases.map((c) => c.id))
    .groupBy(['case_id', 'state'])
    .execute();
  const hasContact = await db
    .selectFrom('report_contact')
    .select('report_id')
    .where('report_id', '=', id)
    .executeTakeFirst();
  return {
    report,
    hasContact: hasContact !== undefined,
    cases: cases.map((c) => ({
      ...c,
      items: Object.fromEntries(
        items.filter((i) => i.case_id === c.id).map((i) => [i.state, Number(i.n)]),
      ) as Record<string, number>,
    })),
  };
}

export async function reportContact(
  db: Kysely<Database>,
  id: number,
): Promise<{ contact: ReporterContact; isVictim: boolean } | undefined> {
  const row = await db
    .selectFrom('report_contact')
    .select(['contact', 'is_victim'])
    .where('report_id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : { contact: row.contact, isVictim: row.is_victim };
}
