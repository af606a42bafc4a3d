import type { SignalType } from '../hash/signal.js';
import { ExactIndex, PdqIndex } from '../match/index.js';
import type { ExactSignalType, PdqMatch } from '../match/index.js';
import { EntryTable } from './entry-table.js';
import { EXACT_WORDS, EntryColumns, rebuildWith } from './pdq-codes.js';

/**
 * Every enabled bank's entries, in memory: one `PdqIndex` per distinct PDQ
 * threshold among the banks (almost always one, at 31: a bank at 40 must
 * not make every search run at 40, which costs several times more), and an
 * `ExactIndex` per exact type. Pure state, no I/O: the loader (matcher.ts)
 * fills it from the database or a snapshot and keeps it current.
 */

export interface BankInfo {
  readonly id: number;
  readonly name: string;
  readonly category: string;
  readonly source: string;
  readonly enabled: boolean;
  readonly pdqThreshold: number;
}

/** One hash to look up; PDQ as words (several for the dihedral variants of an image). */
export type MatchQuery =
  | { readonly type: 'pdq'; readonly words: readonly Uint32Array[] }
  | { readonly type: ExactSignalType; readonly value: string };

/**
 * Searches one PDQ index for many queries (each a list of variants) at one
 * radius, e.g. on worker threads; results in query order, as
 * `PdqIndex.search` gives them. `BankMatcher.matchWith` uses it.
 */
export type PdqBatchSearch = (
  index: PdqIndex,
  queries: readonly (readonly Uint32Array[])[],
  radius: number,
) => PdqMatch[][] | Promise<PdqMatch[][]>;

/** The closest entry of one bank. */
export interface BankHit {
  readonly bank: BankInfo;
  readonly entryId: number;
  readonly distance: number;
}

export interface EntryInput {
  readonly id: number;
  readonly bankId: number;
  readonly type: SignalType;
  /** The hash's bytes (bank_entry.value). */
  readonly value: Uint8Array;
}

export interface MatcherStats {
  readonly entries: Readonly<Record<SignalType, number>>;
  readonly banks: number;
  /** Threshold -> entries, one per PDQ index. */
  readonly pdqGroups: Readonly<Record<string, number>>;
  readonly bytes: number;
}

const EXACT_TYPES: readonly ExactSignalType[] = ['md5', 'sha1', 'sha256'];

export class BankMatcher {
  readonly #banks = new Map<number, BankInfo>();
  readonly #entries: EntryTable;
  readonly #pdq = new Map<number, PdqIndex>();
  readonly #exact: Record<ExactSignalType, ExactIndex>;

  constructor(
    parts: {
      readonly entries?: EntryTable;
      readonly pdq?: ReadonlyMap<number, PdqIndex>;
      readonly exact?: Readonly<Record<ExactSignalType, ExactIndex>>;
    } = {},
  ) {
    this.#entries = parts.entries ?? new EntryTable();
    for (const [threshold, index] of parts.pdq ?? []) this.#pdq.set(threshold, index);
    this.#exact = parts.exact ?? {
      md5: new ExactIndex('md5'),
      sha1: new ExactIndex('sha1'),
      sha256: new ExactIndex('sha256'),
    };
  }

  /** The parts, for snapshots. */
  parts(): {
    entries: EntryTable;
    pdq: ReadonlyMap<number, PdqIndex>;
    exact: Readonly<Record<ExactSignalType, ExactIndex>>;
  } {
    return { entries: this.#entries, pdq: this.#pdq, exact: this.#exact };
  }

  bank(id: number): BankInfo | undefined {
    return this.#banks.get(id);
  }

  banks(): BankInfo[] {
    return [...this.#banks.values()];
  }

  /** Adds or changes a bank's description. Moving its entries is the caller's job (see `reindexBank`). */
  setBank(info: BankInfo): void {
    this.#banks.set(info.id, info);
  }

  hasEntry(id: number): boolean {
    return this.#entries.typeOf(id) !== undefined;
  }

  /**
   * Adds entries of enabled banks (others are ignored); adding an id again
   * replaces it. Many at once (an import) are built into the index in bulk.
   */
  addEntries(rows: Iterable<EntryInput>): number {
    const pending = new PendingEntries();
    for (const row of rows) pending.push(row);
    return this.apply(pending);
  }

  /**
   * Adds gathered entries (`PendingEntries`, filled page by page from the
   * database) in one synchronous step.
   */
  apply(pending: PendingEntries): number {
    let added = 0;
    for (const [type, columns] of pending.columns) {
      // Ids loaded already are being replaced: take them out first.
      for (const id of columns.ids()) if (this.hasEntry(id)) this.removeEntry(id);
      added += this.#insert(type, columns);
    }
    return added;
  }

  #insert(type: SignalType, all: EntryColumns): number {
    // Split by PDQ threshold of each entry's (enabled) bank.
    const groups = new Map<number, EntryColumns>();
    const ids = all.ids();
    const banks = all.banks();
    const words = all.words();
    const w = all.wordsPerEntry;
    for (let i = 0; i < ids.length; i++) {
      const bank = this.#banks.get(banks[i]);
      if (bank === undefined || !bank.enabled) continue;
      const key = type === 'pdq' ? bank.pdqThreshold : 0;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = new EntryColumns(w)));
      group.pushWords(ids[i], banks[i], words, i * w);
      this.#entries.set(ids[i], banks[i], type);
    }
    let added = 0;
    for (const [threshold, columns] of groups) {
      added += columns.count;
      if (type === 'pdq') this.#insertPdq(threshold, columns);
      else this.#insertExact(type, columns);
    }
    return added;
  }

  #insertPdq(threshold: number, columns: EntryColumns): void {
    const index = this.#pdq.get(threshold);
    if (index === undefined || index.size === 0) {
      this.#pdq.set(
        threshold,
        PdqIndex.fromCodes(columns.ids(), columns.words(), { shared: true }),
      );
    } else if (isBulk(columns.count, index.size)) {
      this.#pdq.set(threshold, rebuildWith(index, columns));
    } else {
      const ids = columns.ids();
      const codes = columns.words();
      for (let i = 0; i < ids.length; i++) index.add(ids[i], codes.subarray(i * 8, i * 8 + 8));
    }
  }

  #insertExact(type: ExactSignalType, columns: EntryColumns): void {
    const index = this.#exact[type];
    if (isBulk(columns.count, index.size)) {
      this.#exact[type] = rebuildExact(index, columns);
      return;
    }
    const ids = columns.ids();
    const words = columns.words();
    const w = columns.wordsPerEntry;
    for (let i = 0; i < ids.length; i++) index.add(ids[i], wordsHex(words, i * w, w));
  }

  /** Stops an entry matching at once; false when it was not loaded. */
  removeEntry(id: number): boolean {
    const type = this.#entries.typeOf(id);
    if (type === undefined) return false;
    if (type === 'pdq') {
      for (const [threshold, index] of this.#pdq) {
        if (index.remove(id)) {
          if (index.size === 0) this.#pdq.delete(threshold);
          break;
        }
      }
    } else {
      this.#exact[type].remove(id);
    }
    this.#entries.clear(id);
    return true;
  }

  /** Removes every loaded entry of a bank (of one type, when given); returns how many. */
  removeBankEntries(bankId: number, type?: SignalType): number {
    const ids = this.#entries.idsOf(bankId, type);
    for (const id of ids) this.removeEntry(id);
    return ids.length;
  }

  /**
   * Replaces a bank's description and its PDQ entries in one synchronous
   * step (a threshold change moves them to another index): no search sees
   * the bank half-moved.
   */
  reindexBank(info: BankInfo, pdqEntries: PendingEntries): void {
    this.removeBankEntries(info.id, 'pdq');
    this.setBank(info);
    this.apply(pdqEntries);
  }

  /**
   * The closest entry of each enabled bank within reach of each query, in
   * query order; per query ordered by distance, then bank name. `threshold`
   * replaces every bank's own PDQ threshold for this search.
   */
  match(queries: readonly MatchQuery[], threshold?: number): BankHit[][] {
    const groups = [...this.#pdq];
    return queries.map((query) => {
      if (query.type !== 'pdq') return this.#exactHits(query);
      const found = groups.map(([groupThreshold, index]) =>
        index.search(query.words, { radius: threshold ?? groupThreshold }),
      );
      return this.#pdqHits(found);
    });
  }

  /**
   * `match`, with the PDQ queries searched by `search` (worker threads, for
   * large batches) one call per PDQ index. Same answers: the same searches,
   * gathered the same way; exact lookups stay in this thread.
   */
  async matchWith(
    queries: readonly MatchQuery[],
    threshold: number | undefined,
    search: PdqBatchSearch,
  ): Promise<BankHit[][]> {
    const pdq: (readonly Uint32Array[])[] = [];
    for (const query of queries) if (query.type === 'pdq') pdq.push(query.words);
    const groups = pdq.length === 0 ? [] : [...this.#pdq];
    const found = await Promise.all(
      groups.map(([groupThreshold, index]) => search(index, pdq, threshold ?? groupThreshold)),
    );
    let k = 0;
    return queries.map((query) => {
      if (query.type !== 'pdq') return this.#exactHits(query);
      const at = k++;
      return this.#pdqHits(found.map((group) => group[at]));
    });
  }

  #exactHits(query: Extract<MatchQuery, { type: ExactSignalType }>): BankHit[] {
    const ids = this.#exact[query.type].lookup(query.value);
    if (ids.length === 0) return [];
    const best = new Map<number, BankHit>();
    for (const id of ids) this.#consider(best, id, 0);
    return sortHits(best);
  }

  /** One query's matches, one list per PDQ index searched. */
  #pdqHits(found: readonly (readonly PdqMatch[])[]): BankHit[] {
    let best: Map<number, BankHit> | undefined;
    for (const matches of found) {
      for (const match of matches) this.#consider((best ??= new Map()), match.id, match.distance);
    }
    return best === undefined ? [] : sortHits(best);
  }

  /** Keeps the closest entry per bank (ties: the lower entry id). */
  #consider(best: Map<number, BankHit>, entryId: number, distance: number): void {
    const bank = this.#banks.get(this.#entries.bankOf(entryId));
    // A bank being disabled: its entries go shortly after its flag.
    if (bank === undefined || !bank.enabled) return;
    const seen = best.get(bank.id);
    if (
      seen === undefined ||
      distance < seen.distance ||
      (distance === seen.distance && entryId < seen.entryId)
    ) {
      best.set(bank.id, { bank, entryId, distance });
    }
  }

  stats(): MatcherStats {
    const pdqGroups: Record<string, number> = {};
    let pdq = 0;
    let bytes = this.#entries.cells.byteLength;
    for (const [threshold, index] of this.#pdq) {
      pdqGroups[String(threshold)] = index.size;
      pdq += index.size;
      bytes += index.stats().bytes;
    }
    for (const type of EXACT_TYPES) bytes += this.#exact[type].bytes;
    return {
      entries: {
        pdq,
        md5: this.#exact.md5.size,
        sha1: this.#exact.sha1.size,
        sha256: this.#exact.sha256.size,
      },
      banks: [...this.#banks.values()].filter((b) => b.enabled).length,
      pdqGroups,
      bytes,
    };
  }
}

/** Per query: by distance, then bank name. */
function sortHits(best: ReadonlyMap<number, BankHit>): BankHit[] {
  if (best.size === 0) return [];
  const hits = [...best.values()];
  if (hits.length === 1) return hits;
  return hits.sort((a, b) => a.distance - b.distance || (a.bank.name < b.bank.name ? -1 : 1));
}

/**
 * Entries gathered for `BankMatcher.apply`, by signal type: ids, banks and
 * hash words in typed arrays (a million rows as objects would cost ten
 * times the memory).
 */
export class PendingEntries {
  readonly columns = new Map<SignalType, EntryColumns>();
  count = 0;

  push(row: EntryInput): void {
    let columns = this.columns.get(row.type);
    if (columns === undefined) {
      const w = row.type === 'pdq' ? 8 : EXACT_WORDS[row.type];
      this.columns.set(row.type, (columns = new EntryColumns(w)));
    }
    columns.push(row.id, row.bankId, row.value);
    this.count++;
  }
}

/**
 * Rebuild rather than add one by one when the batch is large, absolutely
 * and against what is there: a rebuild costs about what adding a tenth of
 * the entries one at a time does.
 */
function isBulk(adding: number, size: number): boolean {
  return adding >= 20_000 && adding * 4 >= size;
}

function rebuildExact(index: ExactIndex, extra: EntryColumns): ExactIndex {
  const replaced = new Set(extra.ids());
  const { ids, values } = index.entries();
  const w = extra.wordsPerEntry;
  const allIds = new Uint32Array(ids.length + extra.count);
  const allValues = new Uint32Array(allIds.length * w);
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    if (replaced.has(ids[i])) continue;
    allIds[at] = ids[i];
    allValues.set(values.subarray(i * w, (i + 1) * w), at * w);
    at++;
  }
  allIds.set(extra.ids(), at);
  allValues.set(extra.words(), at * w);
  at += extra.count;
  return ExactIndex.fromEntries(index.type, allIds.subarray(0, at), allValues.subarray(0, at * w));
}

function wordsHex(words: Uint32Array, at: number, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += words[at + i].toString(16).padStart(8, '0');
  return text;
}
