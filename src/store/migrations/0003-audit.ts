import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The audit trail (src/audit/): an append-only, hash-chained list of entries
 * and the one-row head of the chain that serializes appends.
 *
 * The database enforces what it can, so that a bug in the app cannot break
 * the chain silently: entries cannot be updated, deleted or truncated; an
 * insert must continue the chain at the head (next seq, previous hash) and
 * moves the head along; the head moves no other way. Someone who owns the
 * tables can still disable the triggers: that is what the hashes and
 * `takedown audit verify` are for.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_entry')
    .addColumn('seq', 'bigint', (col) => col.primaryKey())
    .addColumn('at', 'timestamptz', (col) => col.notNull())
    .addColumn('actor_kind', 'text', (col) => col.notNull())
    .addColumn('actor_id', 'integer')
    .addColumn('actor_label', 'text')
    .addColumn('actor_role', 'text')
    .addColumn('actor_provider_id', 'integer')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('request_id', 'text')
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('object_type', 'text')
    .addColumn('object_id', 'text')
    .addColumn('outcome', 'text', (col) => col.notNull())
    .addColumn('details', 'jsonb', (col) => col.notNull())
    .addColumn('prev_hash', 'text', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .addCheckConstraint('audit_entry_outcome', sql`outcome in ('allowed', 'denied', 'failed')`)
    .addCheckConstraint(
      'audit_entry_actor_kind',
      sql`actor_kind in ('user', 'api-key', 'anonymous', 'system')`,
    )
    .execute();
  await db.schema.createIndex('audit_entry_at').on('audit_entry').column('at').execute();
  await db.schema
    .createIndex('audit_entry_actor')
    .on('audit_entry')
    .columns(['actor_kind', 'actor_id'])
    .execute();
  await db.schema.createIndex('audit_entry_action').on('audit_entry').column('action').execute();
  await db.schema
    .createIndex('audit_entry_object')
    .on('audit_entry')
    .columns(['object_type', 'object_id'])
    .execute();

  await db.schema
    .createTable('audit_chain_head')
    .addColumn('id', 'integer', (col) => col.primaryKey())
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .addCheckConstraint('audit_chain_head_single', sql`id = 1`)
    .execute();
  await sql`insert into audit_chain_head (id, seq, hash) values (1, 0, ${'0'.repeat(64)})`.execute(
    db,
  );

  await sql`
    create function audit_entry_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit entries are append-only: % on audit_entry is not allowed', tg_op
        using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger audit_entry_no_change before update or delete on audit_entry
    for each row execute function audit_entry_append_only()`.execute(db);
  await sql`
    create trigger audit_entry_no_truncate before truncate on audit_entry
    for each statement execute function audit_entry_append_only()`.execute(db);

  await sql`
    create function audit_entry_continue_chain() returns trigger language plpgsql as $$
    declare
      head record;
    begin
      select seq, hash into head from audit_chain_head where id = 1 for update;
      if new.seq <> head.seq + 1 or new.prev_hash <> head.hash then
        raise exception 'audit entry % does not continue the chain at entry %', new.seq, head.seq
          using errcode = 'integrity_constraint_violation';
      end if;
      update audit_chain_head set seq = new.seq, hash = new.hash where id = 1;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger audit_entry_chain before insert on audit_entry
    for each row execute function audit_entry_continue_chain()`.execute(db);

  await sql`
    create function audit_chain_head_guard() returns trigger language plpgsql as $$
    begin
      -- Depth 2: fired by the update in audit_entry_continue_chain, not by a statement.
      if tg_op = 'UPDATE' and pg_trigger_depth() >= 2 and new.seq = old.seq + 1 then
        return new;
      end if;
      raise exception 'the audit chain head moves only by appending an entry (% refused)', tg_op
        using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger audit_chain_head_guard before update or delete on audit_chain_head
    for each row execute function audit_chain_head_guard()`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_entry').execute();
  await db.schema.dropTable('audit_chain_head').execute();
  await sql`drop function audit_entry_append_only()`.execute(db);
  await sql`drop function audit_entry_continue_chain()`.execute(db);
  await sql`drop function audit_chain_head_guard()`.execute(db);
}
