import { CheckQueue } from './check-queue.js';
import { problemKind, worthResuming } from './outcome.js';
import type { StateEntry } from './state.js';
import type { ScanCounts } from './summary.js';
import { emptyCounts } from './summary.js';
import type {
  HashChecker,
  ItemLocation,
  ItemMatch,
  ItemProblem,
  ReportRow,
  ScannedItem,
} from './types.js';

/** Where rows go: the report file, the terminal's list of matches. */
export interface RowSink {
  add(row: ReportRow): void;
}

/** Where finished items go so that `--resume` need not hash them again. */
export interface StateSink {
  append(entry: StateEntry): void;
}

export interface SessionOptions {
  readonly checker: HashChecker;
  readonly threshold: number | undefined;
  readonly minPdqQuality: number;
  readonly rows: RowSink;
  readonly state?: StateSink;
  /** After each item is hashed, taken from the state, or given up: the progress bar's tick. */
  readonly onSettled?: (item: ItemLocation, problem: boolean) => void;
}

/**
 * The part of a scan that is the same for folders and sites: every item
 * found is counted; a hashed item is saved to the state (when hashing it
 * again would give the same), its problem reported, its hashes queued for
 * checking; a checked item's matches become report rows.
 */
export class ScanSession {
  readonly counts: ScanCounts = emptyCounts();
  readonly #options: SessionOptions;
  readonly #queue: CheckQueue;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#queue = new CheckQueue({
      checker: options.checker,
      threshold: options.threshold,
      minPdqQuality: options.minPdqQuality,
      onChecked: (item, matches) => this.#checked(item, matches),
    });
  }

  get hashesSent(): number {
    return this.#queue.hashesSent;
  }

  get requests(): number {
    return this.#queue.requests;
  }

  /** An item found but not read: `--since` says it has not changed. */
  unchanged(location: ItemLocation): void {
    this.counts.found++;
    this.counts.unchanged++;
    this.#options.onSettled?.(location, false);
  }

  /** An item that could not even be opened or listed (the walk's or the crawl's problem). */
  problem(location: ItemLocation, error: ItemProblem): void {
    this.counts.found++;
    this.#report(location, {}, error);
    this.#options.onSettled?.(location, problemKind(error.code) === 'error');
  }

  /**
   * A hashed item (or one taken from the state). `stamp` identifies the
   * version that was hashed (files); items whose problem may go away are
   * not saved, so a resumed scan tries them again.
   */
  async hashed(item: ScannedItem, stamp: string | null): Promise<void> {
    const { record, location } = item;
    this.counts.found++;
    if (item.origin === 'resumed') this.counts.resumed++;
    else this.counts.hashed++;
    if (record.format) this.counts.images++;
    if (record.pdq) this.counts.pdq++;
    if (item.origin === 'hashed' && this.#options.state && worthResuming(record.error?.code)) {
      this.#options.state.append({
        key: location.kind === 'file' ? location.path : location.url,
        stamp,
        ...(location.kind === 'url' && location.page ? { page: location.page } : {}),
        record,
      });
    }
    if (record.error) this.#report(location, record, record.error);
    this.#options.onSettled?.(
      location,
      record.error !== undefined && problemKind(record.error.code) === 'error',
    );
    await this.#queue.add(item);
  }

  /** Checks what is still queued; throws if checking failed. */
  finish(): Promise<void> {
    return this.#queue.finish();
  }

  #checked(item: ScannedItem, matches: ItemMatch[]): void {
    if (item.record.md5 || item.record.pdq) this.counts.checked++;
    if (matches.length > 0) {
      this.counts.matchedItems++;
      this.counts.matches += matches.length;
    }
    for (const match of matches) {
      this.#options.rows.add({
        status: 'match',
        location: item.location,
        record: item.record,
        match,
      });
    }
  }

  #report(location: ItemLocation, record: ScannedItem['record'], error: ItemProblem): void {
    const kind = problemKind(error.code);
    if (kind === 'error') this.counts.errors++;
    else this.counts.skipped++;
    this.#options.rows.add({ status: kind, location, record, error });
  }
}
