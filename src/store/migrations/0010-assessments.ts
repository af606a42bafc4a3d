import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The analyst side of the report pipeline (issue 5): who is working on a
 * queued media item (an exclusive claim that expires) and where it stands
 * in the four-eyes review, kept beside the item rather than in it; and the
 * assessments analysts submit, each with the INHOPE/ICCAM fields. Items
 * stay `queued` until an analyst's decision is final (README "The analyst
 * queue").
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table item_review (
      item_id bigint primary key references media_item (id) on delete cascade,
      stage text not null default 'first'
        check (stage in ('first', 'second-opinion', 'disputed')),
      claimed_by text,
      claimed_label text,
      claimed_until timestamptz,
      updated_at timestamptz not null default now(),
      check ((claimed_by is null) = (claimed_until is null))
    )`.execute(db);
  await sql`create index item_review_stage on item_review (stage) where stage <> 'first'`.execute(
    db,
  );

  await sql`
    create table assessment (
      id bigserial primary key,
      item_id bigint not null references media_item (id) on delete cascade,
      assessor text not null,
      assessor_label text,
      assessor_role text,
      classification text not null
        check (classification in ('baseline', 'national', 'doubtful', 'not-illegal')),
      age_group text not null
        check (age_group in ('not-determined', 'infant', 'pre-pubescent', 'pubescent')),
      gender text not null check (gender in ('not-determined', 'female', 'male', 'both')),
      virtual boolean not null,
      site_type text not null check (site_type in ('website', 'image-host', 'file-host', 'forum',
        'image-board', 'social-network', 'video-host', 'other')),
      commercial boolean not null,
      note text not null default '',
      effect text not null check (effect in ('final', 'second-opinion', 'disputed')),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index assessment_item on assessment (item_id, id)`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table assessment`.execute(db);
  await sql`drop table item_review`.execute(db);
}
