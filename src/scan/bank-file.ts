import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { TakedownError, isTakedownError } from '../errors.js';
import type { SignalType } from '../hash/signal.js';
import { isSignalType, normalizeSignalValue } from '../hash/signal.js';
import { ExactIndex } from '../match/exact-index.js';
import type { ExactSignalType } from '../match/exact-index.js';
import { PdqIndex } from '../match/pdq-index.js';
import type { BankHit, HashChecker, HashQuery } from './types.js';

/**
 * `--bank FILE`: a bank export (`takedown bank export`, JSON lines of
 * `{"type","value","bank","category",…}`) loaded into in-memory indexes, so
 * that a provider holding the list checks without any network at all.
 * Blank lines and `#` comments are skipped, as `takedown bank import` does;
 * lines of hash types this version does not know are counted and skipped
 * (a newer export may carry more); a malformed line stops the load, naming
 * its number, because a silently shortened list would under-report.
 */

export interface BankFileEntry {
  readonly type: SignalType;
  readonly value: string;
  readonly bank: string;
  readonly category: string;
}

export type BankLine =
  | { readonly kind: 'entry'; readonly entry: BankFileEntry }
  | { readonly kind: 'blank' }
  | { readonly kind: 'unknown-type'; readonly type: string };

/** One line of an export file (pure). `defaultBank` names entries that carry no bank. */
export function parseBankLine(text: string, lineNo: number, defaultBank: string): BankLine {
  const line = text.replace(/^\uFEFF/, '').trim();
  if (line === '' || line.startsWith('#')) return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw badLine(lineNo, 'it is not JSON (an export has one JSON object per line)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badLine(lineNo, 'it is not a JSON object');
  }
  const fields = value as Record<string, unknown>;
  if (typeof fields.type !== 'string') throw badLine(lineNo, 'it has no "type"');
  if (!isSignalType(fields.type)) return { kind: 'unknown-type', type: fields.type };
  let hex: string;
  try {
    hex = normalizeSignalValue(fields.type, fields.value);
  } catch (error) {
    throw badLine(lineNo, isTakedownError(error) ? error.message : String(error));
  }
  return {
    kind: 'entry',
    entry: {
      type: fields.type,
      value: hex,
      bank: typeof fields.bank === 'string' && fields.bank !== '' ? fields.bank : defaultBank,
      category: typeof fields.category === 'string' ? fields.category : '',
    },
  };
}

function badLine(lineNo: number, reason: string): TakedownError {
  return new TakedownError('invalid-bank-file', `Line ${lineNo} of the bank file: ${reason}.`, {
    details: { line: lineNo },
  });
}

const EXACT_TYPES: readonly ExactSignalType[] = ['md5', 'sha1', 'sha256'];

/** Banks in memory: a PDQ index and one exact index per type, ids pointing at bank and category. */
export class BankIndex {
  readonly #pdq = new PdqIndex();
  readonly #exact = new Map<ExactSignalType, ExactIndex>(
    EXACT_TYPES.map((type) => [type, new ExactIndex(type)]),
  );
  /** Entry id -> index into #labels. */
  #labelOf = new Uint32Array(1024);
  readonly #labels: BankHit[] = [];
  readonly #labelIds = new Map<string, number>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(entry: BankFileEntry): void {
    const id = this.#size++;
    if (id === this.#labelOf.length) {
      const grown = new Uint32Array(this.#labelOf.length * 2);
      grown.set(this.#labelOf);
      this.#labelOf = grown;
    }
    const key = `${entry.bank}\u0000${entry.category}`;
    let label = this.#labelIds.get(key);
    if (label === undefined) {
      label = this.#labels.length;
      this.#labels.push({ bank: entry.bank, category: entry.category, distance: 0 });
      this.#labelIds.set(key, label);
    }
    this.#labelOf[id] = label;
    if (entry.type === 'pdq') this.#pdq.add(id, entry.value);
    else this.#exact.get(entry.type)?.add(id, entry.value);
  }

  /** Entries matching one hash: equal exact hashes, PDQ hashes within `radius`. */
  lookup(query: HashQuery, radius: number): BankHit[] {
    if (query.type === 'pdq') {
      return this.#pdq
        .search(query.value, { radius })
        .map(({ id, distance }) => ({ ...this.#labels[this.#labelOf[id]], distance }));
    }
    const ids = this.#exact.get(query.type)?.lookup(query.value) ?? [];
    return ids.map((id) => this.#labels[this.#labelOf[id]]);
  }
}

export interface LoadedBankFile {
  readonly index: BankIndex;
  /** Lines skipped because their hash type is unknown to this version, by type. */
  readonly unknownTypes: Readonly<Record<string, number>>;
}

/** Reads an export file into a `BankIndex`. Throws `bank-file-unreadable` or `invalid-bank-file`. */
export async function loadBankFile(file: string): Promise<LoadedBankFile> {
  const index = new BankIndex();
  const unknownTypes: Record<string, number> = {};
  const defaultBank = path.basename(file).replace(/\.[^.]*$/, '') || 'bank-file';
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const text of lines) {
      lineNo++;
      const parsed = parseBankLine(text, lineNo, defaultBank);
      if (parsed.kind === 'entry') index.add(parsed.entry);
      else if (parsed.kind === 'unknown-type') {
        unknownTypes[parsed.type] = (unknownTypes[parsed.type] ?? 0) + 1;
      }
    }
  } catch (error) {
    if (isTakedownError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new TakedownError(
      'bank-file-unreadable',
      code === 'ENOENT'
        ? `There is no bank file at ${file}. Write one with \`takedown bank export\`, or ask the hotline for one.`
        : `The bank file ${file} could not be read (${code ?? String(error)}).`,
      { cause: error },
    );
  } finally {
    lines.close();
    stream.destroy();
  }
  return { index, unknownTypes };
}

/** A checker over a loaded bank file: no network, answers at once. */
export function bankFileChecker(file: string, loaded: LoadedBankFile, radius: number): HashChecker {
  return {
    maxBatch: 10_000,
    target: { kind: 'bank-file', path: path.resolve(file), entries: loaded.index.size },
    check: async (queries) => queries.map((query) => loaded.index.lookup(query, radius)),
  };
}
