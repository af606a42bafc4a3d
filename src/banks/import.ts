import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { recordChange } from '../changes/changes.js';
import type { SignalType } from '../hash/signal.js';
import type { Database } from '../store/database.js';
import type { Bank } from './banks.js';
import type { ImportFormat, LineError, ParsedEntry } from './import-format.js';
import { openImport } from './import-read.js';
import { getBank } from './queries.js';

/**
 * Importing a list into a bank, fast and all-or-nothing:
 *
 * 1. The file is read as a stream; every valid line is staged in
 *    `bank_import_row`, a few thousand rows per statement, each statement its
 *    own short transaction (the embedded database serves one session at a
 *    time: a long transaction would stall the server beside us).
 * 2. One final statement merges the staged rows into `bank_entry`: duplicates
 *    within the file collapse, entries already in the bank (or removed from
 *    it as false positives) are left alone, the rest are added under one
 *    change-log number that tells every matcher to load them.
 *
 * A file with invalid lines is rejected before step 2 unless `skipInvalid`;
 * nothing reaches the bank either way until the final statement commits.
 */

export interface ImportOptions {
  /** --type: the type of bare hashes and of lines that name none. */
  readonly type?: SignalType;
  /** Import the valid lines of a file that has invalid ones (otherwise: nothing). */
  readonly skipInvalid?: boolean;
  /** The file's name, kept with the import's record. */
  readonly file?: string;
  /** Bytes read (for a progress bar). */
  readonly onBytes?: (bytes: number) => void;
  /** The format, once detected; then each phase as it starts. */
  readonly onFormat?: (format: ImportFormat) => void;
  readonly onMerge?: (staged: number) => void;
  /** Rows per staging statement. */
  readonly batchSize?: number;
  /** Invalid lines reported in detail (all are counted). */
  readonly maxErrors?: number;
}

export interface ImportResult {
  /** `rejected`: invalid lines and no `skipInvalid`; nothing was added. */
  readonly kind: 'imported' | 'rejected';
  readonly importId: number;
  readonly bank: string;
  readonly format: ImportFormat;
  /** Lines holding an entry, valid or not (blank and # lines not counted). */
  readonly lines: number;
  readonly added: number;
  /** Already in the bank before this import. */
  readonly alreadyPresent: number;
  /** Repeats of an earlier line of the same file. */
  readonly duplicateLines: number;
  /** Removed from the bank earlier (false positives): they stay removed. */
  readonly keptRemoved: number;
  readonly invalid: number;
  /** The first `maxErrors` invalid lines, with their line numbers and reasons. */
  readonly errors: readonly LineError[];
}

const BATCH = 5_000;
/** Staging rows of imports that never finished (a crash) are deleted after this. */
const STALE_IMPORT = '1 hour';

export async function importEntries(
  db: Kysely<Database>,
  bankName: string,
  input: AsyncIterable<Buffer | string>,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const bank = await getBank(db, bankName);
  await removeStaleImports(db);
  const opened = await openImport(input, { type: options.type, onBytes: options.onBytes });
  options.onFormat?.(opened.format);
  const { id: importId } = await db
    .insertInto('bank_import')
    .values({ bank_id: bank.id, file: options.file ?? null, format: opened.format })
    .returning('id')
    .executeTakeFirstOrThrow();

  const maxErrors = options.maxErrors ?? 100;
  const batchSize = options.batchSize ?? BATCH;
  const errors: LineError[] = [];
  let lines = 0;
  let invalid = 0;
  let staged = 0;
  let batch: ParsedEntry[] = [];
  try {
    for await (const parsedLines of opened.batches) {
      for (const parsed of parsedLines) {
        lines++;
        if (parsed.kind === 'invalid') {
          invalid++;
          if (errors.length < maxErrors) errors.push(parsed.error);
          continue;
        }
        // All-or-nothing and already failed: keep reading to report every bad line, stage nothing.
        if (invalid > 0 && !options.skipInvalid) continue;
        batch.push(parsed.entry);
      }
      while (batch.length >= batchSize) {
        const now = batch.slice(0, batchSize);
        batch = batch.slice(batchSize);
        await stage(db, importId, staged, now);
        staged += now.length;
      }
    }
    const counts = { lines, invalid, errors };
    if (invalid > 0 && !options.skipInvalid) {
      await finishImport(db, importId, 'failed', { lines, invalid });
      return {
        kind: 'rejected',
        importId,
        bank: bank.name,
        format: opened.format,
        ...zero,
        ...counts,
      };
    }
    if (batch.length > 0) {
      await stage(db, importId, staged, batch);
      staged += batch.length;
    }
    options.onMerge?.(staged);
    const merged = await merge(db, bank, importId, staged);
    await finishImport(db, importId, 'done', { lines, invalid, ...merged });
    return {
      kind: 'imported',
      importId,
      bank: bank.name,
      format: opened.format,
      ...counts,
      ...merged,
    };
  } catch (error) {
    await finishImport(db, importId, 'failed', { lines, invalid }).catch(() => undefined);
    throw error;
  } finally {
    await db
      .deleteFrom('bank_import_row')
      .where('import_id', '=', importId)
      .execute()
      .catch(() => undefined);
  }
}

const zero = { added: 0, alreadyPresent: 0, duplicateLines: 0, keptRemoved: 0 } as const;

/**
 * Stages a batch in one statement. Types and values travel as one
 * comma-joined string each, split server-side: PostgreSQL parses that far
 * faster than an array literal of a few thousand quoted elements (measured:
 * half the time of unnest over text[]/bytea[] on the embedded database). The
 * optional fields go as arrays, and only when a line of the batch has one.
 * `order` (the staged count before this batch, plus the position in it)
 * keeps the file's order, so the first of several duplicate lines wins.
 */
async function stage(
  db: Kysely<Database>,
  importId: number,
  order: number,
  rows: readonly ParsedEntry[],
): Promise<void> {
  const types = rows.map((r) => r.type).join(',');
  const values = rows.map((r) => r.value).join(',');
  const extras = rows.some((r) => r.addedAt !== null || r.sourceRef !== null || r.note !== null);
  if (!extras) {
    await sql`
      insert into bank_import_row (import_id, ord, signal_type, value)
      select ${importId}, ${order} + u.n, u.t, decode(u.v, 'hex')
      from unnest(string_to_array(${types}, ','), string_to_array(${values}, ','))
        with ordinality as u(t, v, n)`.execute(db);
    return;
  }
  await sql`
    insert into bank_import_row (import_id, ord, signal_type, value, added_at, source_ref, note)
    select ${importId}, ${order} + u.n, u.t, decode(u.v, 'hex'), u.a, u.s, u.o
    from unnest(
      string_to_array(${types}, ','),
      string_to_array(${values}, ','),
      ${rows.map((r) => r.addedAt)}::timestamptz[],
      ${rows.map((r) => r.sourceRef)}::text[],
      ${rows.map((r) => r.note)}::text[]
    ) with ordinality as u(t, v, a, s, o, n)`.execute(db);
}

interface Merged {
  readonly added: number;
  readonly alreadyPresent: number;
  readonly duplicateLines: number;
  readonly keptRemoved: number;
}

/** The one statement that makes an import visible, under one change number. */
async function merge(
  db: Kysely<Database>,
  bank: Bank,
  importId: number,
  staged: number,
): Promise<Merged> {
  if (staged === 0) return zero;
  return db.transaction().execute(async (trx) => {
    // Sort a million staged rows in memory rather than in temporary files.
    await sql`set local work_mem = '256MB'`.execute(trx);
    // Taken first: no other insert into bank_entry runs until we commit, so
    // the ids drawn here form one range that names this import's entries.
    const seq = await recordChange(trx, { kind: 'entries-added', bankId: bank.id });
    // Rows go in sorted by value, so the unique index grows at its right
    // edge instead of splitting pages all over. One join finds what the bank
    // has already (live or removed) and keeps it out, without the cost of
    // ON CONFLICT's speculative insertion (no other merge can run now).
    const result = await sql<{
      distinct_rows: number;
      added: number;
      first_id: number | null;
      last_id: number | null;
      kept_removed: number;
    }>`
      with staged as (
        select distinct on (value, signal_type) signal_type, value, added_at, source_ref, note
        from bank_import_row
        where import_id = ${importId}
        order by value, signal_type, ord
      ),
      matched as (
        select s.*, e.id as existing, e.removed_at
        from staged s
        left join bank_entry e
          on e.bank_id = ${bank.id} and e.value = s.value and e.signal_type = s.signal_type
      ),
      inserted as (
        insert into bank_entry (bank_id, signal_type, value, added_at, source_ref, note)
        select ${bank.id}, signal_type, value, coalesce(added_at, now()), source_ref, note
        from matched
        where existing is null
        order by value, signal_type
        returning id
      )
      select
        (select count(*) from matched) as distinct_rows,
        (select count(*) from inserted) as added,
        (select min(id) from inserted) as first_id,
        (select max(id) from inserted) as last_id,
        (select count(*) from matched where removed_at is not null) as kept_removed
    `.execute(trx);
    const row = result.rows[0];
    if (row.added === 0 || row.first_id === null || row.last_id === null) {
      // Nothing new: no change for matchers to follow.
      await trx.deleteFrom('change_log').where('seq', '=', seq).execute();
    } else {
      await trx
        .updateTable('change_log')
        .set({ entry_id: row.first_id, last_entry_id: row.last_id })
        .where('seq', '=', seq)
        .execute();
    }
    return {
      added: row.added,
      alreadyPresent: row.distinct_rows - row.added - row.kept_removed,
      duplicateLines: staged - row.distinct_rows,
      keptRemoved: row.kept_removed,
    };
  });
}

async function finishImport(
  db: Kysely<Database>,
  importId: number,
  status: 'done' | 'failed',
  counts: Partial<Merged> & { lines: number; invalid: number },
): Promise<void> {
  await db
    .updateTable('bank_import')
    .set({
      status,
      lines: counts.lines,
      invalid: counts.invalid,
      added: counts.added ?? 0,
      already_present: counts.alreadyPresent ?? 0,
      duplicate_lines: counts.duplicateLines ?? 0,
      kept_removed: counts.keptRemoved ?? 0,
      finished_at: new Date(),
    })
    .where('id', '=', importId)
    .execute();
}

/** A crashed import leaves staging rows behind; an import that ran an hour is not coming back. */
async function removeStaleImports(db: Kysely<Database>): Promise<void> {
  const stale = await db
    .updateTable('bank_import')
    .set({ status: 'failed', finished_at: new Date() })
    .where('status', '=', 'staging')
    .where('started_at', '<', sql<Date>`now() - ${STALE_IMPORT}::interval`)
    .returning('id')
    .execute();
  if (stale.length === 0) return;
  await db
    .deleteFrom('bank_import_row')
    .where(
      'import_id',
      'in',
      stale.map((r) => r.id),
    )
    .execute();
}
