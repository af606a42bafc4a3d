import type { Kysely, Selectable } from 'kysely';
import { inTransaction, recordChange } from '../changes/changes.js';
import { TakedownError } from '../errors.js';
import type { SignalType } from '../hash/signal.js';
import { SIGNAL_TYPES, normalizeSignalValue } from '../hash/signal.js';
import type { Database } from '../store/database.js';
import type { Bank } from './banks.js';
import { DEFAULT_PDQ_THRESHOLD, ENTRY_TEXT_LIMITS } from './banks.js';
import type { BankTable } from './tables.js';

/**
 * The bank tables' own SQL. One function per action (create, update,
 * enable, disable, remove an entry) so that each can be audited on its own;
 * every function that changes what matches also appends to the change log
 * in the same transaction. Pass a transaction as `db` to add statements of
 * your own (an audit record) to the same commit.
 */

export function toBank(row: Selectable<BankTable>): Bank {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    source: row.source,
    category: row.category,
    enabled: row.enabled,
    pdqThreshold: row.pdq_threshold,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface NewBank {
  readonly name: string;
  readonly description?: string;
  readonly source?: string;
  readonly category?: string;
  readonly pdqThreshold?: number;
}

/** Creates a bank; `bank-exists` (409) when the name is taken. Inputs are already validated. */
export async function createBank(db: Kysely<Database>, input: NewBank): Promise<Bank> {
  return inTransaction(db, async (trx) => {
    const row = await trx
      .insertInto('bank')
      .values({
        name: input.name,
        description: input.description ?? '',
        source: input.source ?? '',
        category: input.category ?? '',
        pdq_threshold: input.pdqThreshold ?? DEFAULT_PDQ_THRESHOLD,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) {
      throw new TakedownError('bank-exists', `There is already a bank named "${input.name}".`, {
        kind: 'conflict',
        details: { bank: input.name },
      });
    }
    await recordChange(trx, { kind: 'bank-created', bankId: row.id });
    return toBank(row);
  });
}

export async function findBank(db: Kysely<Database>, name: string): Promise<Bank | undefined> {
  const row = await db.selectFrom('bank').selectAll().where('name', '=', name).executeTakeFirst();
  return row === undefined ? undefined : toBank(row);
}

/** The bank, or `bank-not-found` (404) naming the banks there are. */
export async function getBank(db: Kysely<Database>, name: string): Promise<Bank> {
  const bank = await findBank(db, name);
  if (bank !== undefined) return bank;
  const names = await db.selectFrom('bank').select('name').orderBy('name').limit(20).execute();
  const known =
    names.length === 0
      ? 'There are no banks yet; create one with `takedown bank create`.'
      : `Banks: ${names.map((n) => n.name).join(', ')}.`;
  throw new TakedownError('bank-not-found', `There is no bank named "${name}". ${known}`, {
    kind: 'not-found',
    details: { bank: name },
  });
}

export type EntryCounts = Readonly<Record<SignalType, number>> & { readonly total: number };

const zeroCounts = (): Record<SignalType, number> & { total: number } => ({
  pdq: 0,
  md5: 0,
  sha1: 0,
  sha256: 0,
  total: 0,
});

export interface BankSummary extends Bank {
  /** Live entries (removed ones not counted), by signal type. */
  readonly entries: EntryCounts;
  readonly removedEntries: number;
}

/** Every bank with its entry counts, by name. */
export async function listBanks(db: Kysely<Database>): Promise<BankSummary[]> {
  const banks = await db.selectFrom('bank').selectAll().orderBy('name').execute();
  const counts = await db
    .selectFrom('bank_entry')
    .select(['bank_id', 'signal_type'])
    .select((eb) => [
      eb.fn.countAll<number>().filterWhere('removed_at', 'is', null).as('live'),
      eb.fn.countAll<number>().filterWhere('removed_at', 'is not', null).as('removed'),
    ])
    .groupBy(['bank_id', 'signal_type'])
    .execute();
  const byBank = new Map<number, { entries: ReturnType<typeof zeroCounts>; removed: number }>();
  for (const row of counts) {
    let bucket = byBank.get(row.bank_id);
    if (bucket === undefined)
      byBank.set(row.bank_id, (bucket = { entries: zeroCounts(), removed: 0 }));
    bucket.entries[row.signal_type] += row.live;
    bucket.entries.total += row.live;
    bucket.removed += row.removed;
  }
  return banks.map((row) => {
    const bucket = byBank.get(row.id);
    return {
      ...toBank(row),
      entries: bucket?.entries ?? zeroCounts(),
      removedEntries: bucket?.removed ?? 0,
    };
  });
}

export async function bankSummary(db: Kysely<Database>, name: string): Promise<BankSummary> {
  const bank = await getBank(db, name);
  const summary = (await listBanks(db)).find((b) => b.id === bank.id);
  return summary ?? { ...bank, entries: zeroCounts(), removedEntries: 0 };
}

export interface BankChanges {
  readonly description?: string;
  readonly source?: string;
  readonly category?: string;
  readonly pdqThreshold?: number;
}

/** Changes a bank's description, source, category or threshold. */
export async function updateBank(
  db: Kysely<Database>,
  name: string,
  changes: BankChanges,
): Promise<Bank> {
  return inTransaction(db, async (trx) => {
    const bank = await getBank(trx, name);
    const row = await trx
      .updateTable('bank')
      .set((eb) => ({
        description: changes.description ?? eb.ref('description'),
        source: changes.source ?? eb.ref('source'),
        category: changes.category ?? eb.ref('category'),
        pdq_threshold: changes.pdqThreshold ?? eb.ref('pdq_threshold'),
        updated_at: new Date(),
      }))
      .where('id', '=', bank.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordChange(trx, { kind: 'bank-updated', bankId: bank.id });
    return toBank(row);
  });
}

/** Stops a bank matching, on every server process within a second. Entries are kept. */
export function disableBank(db: Kysely<Database>, name: string): Promise<Bank> {
  return setEnabled(db, name, false);
}

export function enableBank(db: Kysely<Database>, name: string): Promise<Bank> {
  return setEnabled(db, name, true);
}

async function setEnabled(db: Kysely<Database>, name: string, enabled: boolean): Promise<Bank> {
  return inTransaction(db, async (trx) => {
    const bank = await getBank(trx, name);
    if (bank.enabled === enabled) return bank;
    const row = await trx
      .updateTable('bank')
      .set({ enabled, updated_at: new Date() })
      .where('id', '=', bank.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordChange(trx, { kind: enabled ? 'bank-enabled' : 'bank-disabled', bankId: bank.id });
    return toBank(row);
  });
}

export interface RemovedEntry {
  readonly id: number;
  readonly bank: string;
  readonly type: SignalType;
  readonly value: string;
}

/**
 * Removes an entry (a false positive): it stops matching, and stays
 * remembered so that importing its list again does not bring it back.
 * `type` may be left out when the value fits only one type, or only one
 * entry of the bank has it.
 */
export async function removeEntry(
  db: Kysely<Database>,
  bankName: string,
  entry: { readonly type?: SignalType; readonly value: string },
  reason?: string,
): Promise<RemovedEntry> {
  const types = entry.type === undefined ? typesFitting(entry.value) : [entry.type];
  if (types.length === 0) {
    throw new TakedownError(
      'invalid-hash',
      `${JSON.stringify(entry.value)} is not a hash: expected 32 (md5), 40 (sha1) or 64 (pdq, sha256) hex digits.`,
    );
  }
  const candidates = types.map((type) => ({ type, bytes: hashBytes(type, entry.value) }));
  if (reason !== undefined && reason.length > ENTRY_TEXT_LIMITS.note) {
    throw new TakedownError(
      'invalid-reason',
      `The reason is ${reason.length} characters; at most ${ENTRY_TEXT_LIMITS.note}.`,
    );
  }
  return inTransaction(db, async (trx) => {
    const bank = await getBank(trx, bankName);
    const rows = await trx
      .selectFrom('bank_entry')
      .select(['id', 'signal_type', 'value', 'removed_at'])
      .where('bank_id', '=', bank.id)
      .where((eb) =>
        eb.or(
          candidates.map((c) =>
            eb.and([eb('signal_type', '=', c.type), eb('value', '=', c.bytes)]),
          ),
        ),
      )
      .execute();
    const live = rows.filter((r) => r.removed_at === null);
    if (live.length === 0) {
      const already = rows.length > 0 ? ' It was removed before.' : '';
      throw new TakedownError(
        'entry-not-found',
        `Bank "${bank.name}" has no entry ${entry.value.trim().toLowerCase()}.${already}`,
        { kind: 'not-found', details: { bank: bank.name, value: entry.value } },
      );
    }
    if (live.length > 1) {
      throw new TakedownError(
        'ambiguous-entry',
        `Bank "${bank.name}" has this value as ${live.map((r) => r.signal_type).join(' and ')}; say which with --type.`,
        { kind: 'conflict' },
      );
    }
    const target = live[0];
    await trx
      .updateTable('bank_entry')
      .set({ removed_at: new Date(), removed_reason: reason ?? null })
      .where('id', '=', target.id)
      .execute();
    await recordChange(trx, { kind: 'entry-removed', bankId: bank.id, entryId: target.id });
    return {
      id: target.id,
      bank: bank.name,
      type: target.signal_type,
      value: target.value.toString('hex'),
    };
  });
}

/** Signal types whose values have this many hex digits. */
function typesFitting(value: string): SignalType[] {
  return SIGNAL_TYPES.filter((type) => {
    try {
      normalizeSignalValue(type, value);
      return true;
    } catch {
      return false;
    }
  });
}

/** A validated hash value as the bytes stored in bank_entry.value. */
export function hashBytes(type: SignalType, value: string): Buffer {
  return Buffer.from(normalizeSignalValue(type, value), 'hex');
}
