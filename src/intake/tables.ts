import type { ColumnType, Generated } from 'kysely';

/**
 * Row types of intake (migration 0009-reports). A report is what someone
 * sent; a case is one reported URL, shared by every report of that URL while
 * it is open, so the same page reported a hundred times is fetched and
 * assessed once. Media items (src/pipeline/tables.ts) hang off cases.
 */

/** Where a report came in: the public form/API, a partner's batch, an analyst's CSV import. */
export type ReportChannel = 'public' | 'partner' | 'import';

export interface ReportTable {
  id: Generated<number>;
  /** 12 characters of Crockford base32, stored without dashes (src/intake/tracking-code.ts). */
  tracking_code: string;
  channel: ReportChannel;
  /** A partner's reports: its provider. */
  provider_id: number | null;
  /** Who sent it, for the record: "anonymous", "key:7", "user:3", "cli:alice". */
  submitted_by: string;
  /** The sender's own reference (a partner's id, a CSV column). */
  reference: string | null;
  /**
   * Makes resubmission harmless: "partner:<provider>:<reference>" or
   * "import:<file sha-256>:<line>". Unique; null for public reports.
   */
  dedupe_key: string | null;
  description: Generated<string>;
  url_count: number;
  received_at: Generated<Date>;
}

/**
 * What a reporter said about themselves, apart from the report so that only
 * `reports:contact` reaches it. A row only when they left contact details or
 * said they are the person shown.
 */
export interface ReportContactTable {
  report_id: number;
  /** { name?, email?, phone? } as the reporter typed them. */
  contact: ColumnType<ReporterContact, string, string>;
  is_victim: boolean;
  created_at: Generated<Date>;
}

export interface ReporterContact {
  readonly name?: string;
  readonly email?: string;
  readonly phone?: string;
}

/**
 * pending: waits for its fetch. fetched: the page's media items carry the
 * work. queued: the URL itself needs an analyst (no media on the page, not
 * media and not a page, or a do-not-fetch rule). unavailable: the fetch
 * failed for good (recorded; the case is closed). classified: decided
 * without fetching (a not-illegal domain rule; closed).
 */
export type CaseState = 'pending' | 'fetched' | 'queued' | 'unavailable' | 'classified';

export interface UrlCaseTable {
  id: Generated<number>;
  /** Normalized (src/intake/normalize-url.ts); one open case per URL. */
  url: string;
  /** The URL's host name, lower case, for domain rules and attribution. */
  host: string;
  state: ColumnType<CaseState, CaseState | undefined, CaseState>;
  first_reported_at: Generated<Date>;
  last_reported_at: ColumnType<Date, Date | string | undefined, Date | string>;
  report_count: ColumnType<number, number | undefined, number>;
  /** The domain rule that decided what happened to this URL, if one did. */
  rule_id: number | null;
  rule_action: string | null;
  /** From a force-hoster rule: attribution uses this instead of looking the host up. */
  forced_hoster: string | null;
  /** 'ok', a fetch failure kind (src/fetch/outcome.ts), or 'not-fetched'. */
  fetch_kind: string | null;
  fetch_status: number | null;
  fetch_message: string | null;
  fetch_attempts: ColumnType<number, number | undefined, number>;
  fetched_at: Date | null;
  final_url: string | null;
  /** The IP address the page came from. */
  address: string | null;
  content_type: string | null;
  /** What the body was: html, image/jpeg, video/mp4, other, empty. */
  sniffed: string | null;
  /** Media the page referenced (links and inline); null until fetched. */
  media_found: number | null;
  /** The page referenced more media than one fetch takes (some were left out). */
  media_truncated: boolean | null;
  /** A case decided as a whole (not-illegal domain rule). */
  classification: string | null;
  classified_by: string | null;
  /** queued: why the URL itself needs an analyst. */
  review_reason: string | null;
  /** When the automatic stages were done with the case (its items included). */
  processed_at: Date | null;
  /** Later stages: a notice went out. */
  action_taken_at: Date | null;
  /** A closed case is history: a new report of its URL opens a new case. */
  closed_at: Date | null;
  close_reason: string | null;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ReportCaseTable {
  report_id: number;
  case_id: number;
}

export interface IntakeTables {
  report: ReportTable;
  report_contact: ReportContactTable;
  url_case: UrlCaseTable;
  report_case: ReportCaseTable;
}
