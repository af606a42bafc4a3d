import type { Kysely } from 'kysely';
import type { SignalType } from '../hash/signal.js';
import type { Database } from '../store/database.js';
import type { Bank } from './banks.js';

/**
 * The export format, read back by `takedown bank import` and by
 * `takedown scan --bank FILE`: JSON lines, one entry per line, keys in
 * this order, optional ones only when set:
 *
 *   {"type":"pdq","value":"<hex>","bank":"police-nl","category":"baseline",
 *    "addedAt":"2025-01-31T12:00:00.000Z","source":"case 2025-117","note":"..."}
 *
 * `type` is pdq, md5, sha1 or sha256; `value` lower-case hex (64, 32, 40 or
 * 64 digits); `source` is the entry's source reference. Removed entries
 * (false positives) are not exported.
 */
export interface ExportedEntry {
  readonly type: SignalType;
  readonly value: string;
  readonly bank: string;
  readonly category: string;
  readonly addedAt: string;
  readonly source?: string;
  readonly note?: string;
}

const PAGE = 20_000;

/** The bank's live entries in the order they were added, read page by page (short queries). */
export async function* exportEntries(
  db: Kysely<Database>,
  bank: Bank,
  pageSize = PAGE,
): AsyncGenerator<ExportedEntry> {
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('bank_entry')
      .select(['id', 'signal_type', 'value', 'added_at', 'source_ref', 'note'])
      .where('bank_id', '=', bank.id)
      .where('removed_at', 'is', null)
      .where('id', '>', after)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      const entry: { -readonly [K in keyof ExportedEntry]: ExportedEntry[K] } = {
        type: row.signal_type,
        value: row.value.toString('hex'),
        bank: bank.name,
        category: bank.category,
        addedAt: row.added_at.toISOString(),
      };
      if (row.source_ref !== null) entry.source = row.source_ref;
      if (row.note !== null) entry.note = row.note;
      yield entry;
    }
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1].id;
  }
}

export function exportLine(entry: ExportedEntry): string {
  return `${JSON.stringify(entry)}\n`;
}
