import type { Kysely } from 'kysely';
import { Readable } from 'node:stream';
import type { Bank } from '../banks/banks.js';
import { importEntries } from '../banks/import.js';
import type { ImportResult } from '../banks/import.js';
import { createBank, findBank } from '../banks/queries.js';
import { isTakedownError } from '../errors.js';
import { PDQ_MIN_RELIABLE_QUALITY } from '../hash/pdq.js';
import type { Database } from '../store/database.js';
import type { Classification } from './assessment.js';

/**
 * The hotline's own banks: the hashes of every item its analysts finally
 * classify as illegal, so that the same picture reported again anywhere is
 * classified by the bank without an analyst seeing it again. One bank per
 * classification, because a bank has one category and its matches take it:
 * `hotline` (baseline) and `hotline-national` (national), created on first
 * use. A bank of that name made by an admin beforehand is used as it is.
 *
 * Entries go in through the bank importer (src/banks/import.ts), the one
 * path that adds entries: under the change log, so every matcher following
 * it (hash-check service, pipeline workers) loads them within one poll.
 * SHA-256, MD5 and SHA-1 always; PDQ only when its quality is at least 50,
 * below which unrelated flat images collide.
 */

export const OWN_BANKS: Readonly<Record<'baseline' | 'national', string>> = {
  baseline: 'hotline',
  national: 'hotline-national',
};

export interface ItemHashes {
  readonly id: number;
  readonly md5: Buffer | null;
  readonly sha1: Buffer | null;
  readonly sha256: Buffer | null;
  readonly pdq: Buffer | null;
  readonly pdq_quality: number | null;
}

export interface OwnBankFeed {
  readonly bank: Bank;
  /** The bank was made just now (record `bank.create`). */
  readonly created: boolean;
  readonly result: ImportResult;
}

/** The entries one item gives (pure): JSON lines in the importer's format. */
export function ownBankLines(item: ItemHashes, assessmentId: number): string[] {
  const lines: string[] = [];
  const add = (type: string, value: Buffer | null) => {
    if (value === null) return;
    lines.push(
      JSON.stringify({
        type,
        value: value.toString('hex'),
        source: `media-item:${item.id}`,
        note: `analyst assessment ${assessmentId}`,
      }),
    );
  };
  add('sha256', item.sha256);
  add('md5', item.md5);
  add('sha1', item.sha1);
  if ((item.pdq_quality ?? 0) >= PDQ_MIN_RELIABLE_QUALITY) add('pdq', item.pdq);
  return lines;
}

/** Adds the item's hashes to the own bank for `classification`; undefined when it has none. */
export async function feedOwnBank(
  db: Kysely<Database>,
  item: ItemHashes,
  classification: Classification,
  assessmentId: number,
): Promise<OwnBankFeed | undefined> {
  if (classification !== 'baseline' && classification !== 'national') return undefined;
  const lines = ownBankLines(item, assessmentId);
  if (lines.length === 0) return undefined;
  const { bank, created } = await ownBank(db, classification);
  const result = await importEntries(db, bank.name, Readable.from([lines.join('\n') + '\n']), {
    file: `assessment:${assessmentId}`,
  });
  return { bank, created, result };
}

async function ownBank(
  db: Kysely<Database>,
  classification: 'baseline' | 'national',
): Promise<{ bank: Bank; created: boolean }> {
  const name = OWN_BANKS[classification];
  const found = await findBank(db, name);
  if (found !== undefined) return { bank: found, created: false };
  try {
    const bank = await createBank(db, {
      name,
      category: classification,
      source: 'this hotline',
      description: `Media this hotline's analysts classified as ${classification} (added automatically).`,
    });
    return { bank, created: true };
  } catch (error) {
    // Another process made it at the same moment.
    if (!isTakedownError(error) || error.code !== 'bank-exists') throw error;
    const bank = await findBank(db, name);
    if (bank === undefined) throw error;
    return { bank, created: false };
  }
}
