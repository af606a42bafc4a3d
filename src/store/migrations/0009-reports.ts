import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The report pipeline's first half (issue 5): reports, the cases they open
 * (one per reported URL while open), the media items found for each case,
 * their bank matches, and the domain rules analysts set. See DEVELOPERS.md
 * "The report pipeline" for what each state means.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table domain_rule (
      id bigserial primary key,
      domain text not null check (length(domain) between 1 and 253),
      action text not null check (action in ('do-not-fetch', 'not-illegal', 'force-hoster')),
      hoster text check (length(hoster) between 1 and 200),
      note text not null default '',
      created_by text not null,
      created_at timestamptz not null default now(),
      removed_at timestamptz,
      removed_by text,
      check ((action = 'force-hoster') = (hoster is not null))
    )`.execute(db);
  // One live rule per domain and action; retired ones stay for the record.
  await sql`create unique index domain_rule_live on domain_rule (domain, action)
            where removed_at is null`.execute(db);

  await sql`
    create table report (
      id bigserial primary key,
      tracking_code text not null unique check (tracking_code ~ '^[0-9A-HJKMNP-TV-Z]{12}$'),
      channel text not null check (channel in ('public', 'partner', 'import')),
      provider_id integer references provider (id),
      submitted_by text not null,
      reference text,
      dedupe_key text unique,
      description text not null default '',
      url_count integer not null check (url_count >= 1),
      received_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index report_provider on report (provider_id, received_at)
            where provider_id is not null`.execute(db);

  await sql`
    create table report_contact (
      report_id bigint primary key references report (id) on delete cascade,
      contact jsonb not null default '{}',
      is_victim boolean not null default false,
      created_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table url_case (
      id bigserial primary key,
      url text not null,
      host text not null,
      state text not null default 'pending'
        check (state in ('pending', 'fetched', 'queued', 'unavailable', 'classified')),
      first_reported_at timestamptz not null default now(),
      last_reported_at timestamptz not null default now(),
      report_count integer not null default 1,
      rule_id bigint references domain_rule (id),
      rule_action text,
      forced_hoster text,
      fetch_kind text,
      fetch_status integer,
      fetch_message text,
      fetch_attempts integer not null default 0,
      fetched_at timestamptz,
      final_url text,
      address text,
      content_type text,
      sniffed text,
      media_found integer,
      media_truncated boolean,
      classification text,
      classified_by text,
      review_reason text,
      processed_at timestamptz,
      action_taken_at timestamptz,
      closed_at timestamptz,
      close_reason text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  // The dedupe: the same URL reported again joins the open case.
  await sql`create unique index url_case_open on url_case (url) where closed_at is null`.execute(
    db,
  );
  await sql`create index url_case_host on url_case (host)`.execute(db);
  await sql`create index url_case_queued on url_case (last_reported_at) where state = 'queued'`.execute(
    db,
  );

  await sql`
    create table report_case (
      report_id bigint not null references report (id) on delete cascade,
      case_id bigint not null references url_case (id),
      primary key (report_id, case_id)
    )`.execute(db);
  await sql`create index report_case_case on report_case (case_id)`.execute(db);

  await sql`
    create table media_item (
      id bigserial primary key,
      case_id bigint not null references url_case (id),
      url text not null,
      found_as text not null check (found_as in ('reported', 'page', 'inline')),
      via text[] not null default '{}',
      hint text,
      state text not null default 'pending'
        check (state in ('pending', 'unavailable', 'classified', 'queued')),
      fetch_kind text,
      fetch_status integer,
      fetch_message text,
      fetch_attempts integer not null default 0,
      fetched_at timestamptz,
      final_url text,
      address text,
      content_type text,
      sniffed text,
      size_bytes bigint,
      md5 bytea check (length(md5) = 16),
      sha1 bytea check (length(sha1) = 20),
      sha256 bytea check (length(sha256) = 32),
      pdq bytea check (length(pdq) = 32),
      pdq_quality smallint,
      image_format text,
      hash_error text,
      hash_message text,
      classification text,
      classified_by text check (classified_by in ('bank', 'rule', 'analyst')),
      classified_at timestamptz,
      rule_id bigint references domain_rule (id),
      media_key text,
      media_stored_at timestamptz,
      media_deleted_at timestamptz,
      queued_at timestamptz,
      processed_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (case_id, url)
    )`.execute(db);
  // The analyst queue, oldest first; the analyst side adds its own order (triage score).
  await sql`create index media_item_queue on media_item (queued_at, id) where state = 'queued'`.execute(
    db,
  );
  // The same picture elsewhere: analysts see earlier decisions on identical bytes.
  await sql`create index media_item_sha256 on media_item (sha256) where sha256 is not null`.execute(
    db,
  );
  // What the retention job deletes next.
  await sql`create index media_item_kept on media_item (media_stored_at)
            where media_key is not null and media_deleted_at is null`.execute(db);
  // Cases whose items are still being worked on.
  await sql`create index media_item_pending on media_item (case_id) where state = 'pending'`.execute(
    db,
  );

  await sql`
    create table media_match (
      item_id bigint not null references media_item (id) on delete cascade,
      bank_id integer not null references bank (id),
      bank_name text not null,
      category text not null,
      signal_type text not null check (signal_type in ('pdq', 'md5', 'sha1', 'sha256')),
      distance smallint not null,
      entry_id bigint not null,
      decisive boolean not null,
      matched_at timestamptz not null default now(),
      primary key (item_id, bank_id, signal_type)
    )`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'media_match',
    'media_item',
    'report_case',
    'url_case',
    'report_contact',
    'report',
    'domain_rule',
  ])
    await sql`drop table ${sql.table(table)}`.execute(db);
}
