import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { SignalType } from '../hash/signal.js';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';

/** One match found by the hash-check API (never a hash that matched nothing). */
export interface MatchRecord {
  readonly checkedAt: Date;
  /** "key:7", "user:3". */
  readonly principal: string;
  readonly keyId: number | null;
  readonly providerId: number | null;
  readonly via: 'hashes' | 'image';
  readonly type: SignalType;
  /** Lower-case hex. */
  readonly value: string;
  readonly bankId: number;
  readonly entryId: number;
  readonly distance: number;
}

export interface MatchRecorderOptions {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** Longest a record waits before it is written. */
  readonly flushMs?: number;
  /** Rows per statement. */
  readonly batchSize?: number;
  /** Records held while the database is unreachable; beyond this they are dropped (and counted). */
  readonly maxPending?: number;
}

/**
 * Writes match records in batches, off the request path: a request hands
 * its matches over and answers at once; every `flushMs` (or a full batch)
 * one statement writes them all. At 10,000 checks a second a write per
 * request would cost more than the checks.
 */
export class MatchRecorder {
  readonly #options: Required<MatchRecorderOptions>;
  #pending: MatchRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #writing = false;
  #dropped = 0;
  #written = 0;
  /** Said so in the log since the last successful write. */
  #warned = false;

  constructor(options: MatchRecorderOptions) {
    this.#options = { flushMs: 1000, batchSize: 5000, maxPending: 100_000, ...options };
  }

  /** Records dropped because the database could not keep up. */
  get dropped(): number {
    return this.#dropped;
  }

  get written(): number {
    return this.#written;
  }

  record(records: readonly MatchRecord[]): void {
    if (records.length === 0) return;
    const room = Math.max(0, this.#options.maxPending - this.#pending.length);
    if (room < records.length) {
      this.#dropped += records.length - room;
      if (!this.#warned) {
        this.#warned = true;
        this.#options.logger.error(
          { pending: this.#pending.length },
          'match records are piling up because the database does not take them; dropping the newest',
        );
      }
    }
    for (let i = 0; i < Math.min(room, records.length); i++) this.#pending.push(records[i]);
    // A full batch goes at once, unless a write is under way: that one takes it next.
    if (this.#pending.length >= this.#options.batchSize) {
      if (!this.#writing) void this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#options.flushMs);
      this.#timer.unref();
    }
  }

  /** Writes everything recorded so far. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  /**
   * Writes what is pending now, a batch per statement, and then full
   * batches while there are. Smaller remainders that arrive meanwhile wait
   * for their own timer: chasing them would, under steady load and with a
   * database that answers while requests keep coming, write a statement of
   * a few rows every few milliseconds (each a commit and an fsync) instead
   * of one a second (seen in an in-process load test: 7,400 statements of
   * one or two rows in 25 s).
   */
  async #write(): Promise<void> {
    this.#writing = true;
    try {
      await this.#writeBatches();
    } finally {
      this.#writing = false;
    }
  }

  async #writeBatches(): Promise<void> {
    let left = this.#pending.length;
    while (left > 0 || this.#pending.length >= this.#options.batchSize) {
      if (left <= 0) left = this.#pending.length;
      const batch = this.#pending.slice(0, Math.min(left, this.#options.batchSize));
      try {
        await insertMatches(this.#options.db, batch);
      } catch (error) {
        this.#options.logger.warn(
          { err: error, records: this.#pending.length },
          'could not write match records; will retry',
        );
        if (this.#timer === undefined) {
          this.#timer = setTimeout(() => void this.flush(), this.#options.flushMs * 5);
          this.#timer.unref();
        }
        return;
      }
      this.#pending.splice(0, batch.length);
      left -= batch.length;
      this.#written += batch.length;
      this.#warned = false;
    }
  }
}

/**
 * One statement for the whole batch. The columns go as array literals built
 * here (one text parameter each) rather than as JS arrays for the driver to
 * escape element by element: on the embedded database that conversion and
 * its parsing cost more than the insert (measured: 40% of the server's CPU
 * at 25,000 matches a second). The literals are the same values.
 *
 * The check times go once each (a batch holds a few hundred requests, each
 * with one time) and every row names its time by position: parsing a
 * timestamp is the dearest part of the statement, about a third of its CPU
 * when every row carried its own (measured on the embedded database:
 * 8.7 -> 7.2 µs per row).
 */
async function insertMatches(db: Kysely<Database>, rows: readonly MatchRecord[]): Promise<void> {
  const times = new Map<Date, number>();
  let timeList = '{';
  const timeAt = (row: MatchRecord): string => {
    let at = times.get(row.checkedAt);
    if (at === undefined) {
      at = times.size + 1;
      times.set(row.checkedAt, at);
      timeList += (at === 1 ? '' : ',') + row.checkedAt.toISOString();
    }
    return String(at);
  };
  const positions = arrayLiteral(rows, timeAt);
  await sql`
    insert into check_match
      (checked_at, principal, key_id, provider_id, via, signal_type, value, bank_id, entry_id, distance)
    select t.times[m.at], principal, key_id, provider_id, via, signal_type, decode(value, 'hex'),
      bank_id, entry_id, distance
    from (select ${`${timeList}}`}::timestamptz[] as times) as t,
      unnest(
        ${positions}::int[],
        ${arrayLiteral(rows, (r) => quoted(r.principal))}::text[],
        ${arrayLiteral(rows, (r) => (r.keyId === null ? 'NULL' : String(r.keyId)))}::int[],
        ${arrayLiteral(rows, (r) => (r.providerId === null ? 'NULL' : String(r.providerId)))}::int[],
        ${arrayLiteral(rows, (r) => r.via)}::text[],
        ${arrayLiteral(rows, (r) => r.type)}::text[],
        ${arrayLiteral(rows, (r) => quoted(r.value))}::text[],
        ${arrayLiteral(rows, (r) => String(r.bankId))}::int[],
        ${arrayLiteral(rows, (r) => String(r.entryId))}::int[],
        ${arrayLiteral(rows, (r) => String(r.distance))}::smallint[]
      ) as m(at, principal, key_id, provider_id, via, signal_type, value, bank_id, entry_id, distance)`.execute(
    db,
  );
}

/** `{a,b,c}`: a PostgreSQL array literal of already safe elements. */
function arrayLiteral(rows: readonly MatchRecord[], element: (row: MatchRecord) => string): string {
  let text = '{';
  for (let i = 0; i < rows.length; i++) text += (i === 0 ? '' : ',') + element(rows[i]);
  return `${text}}`;
}

/** A double-quoted array element: any text. */
function quoted(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}
