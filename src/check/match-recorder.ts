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
    if (this.#pending.length >= this.#options.batchSize) void this.flush();
    else if (this.#timer === undefined) {
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

  async #write(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.slice(0, this.#options.batchSize);
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
 */
async function insertMatches(db: Kysely<Database>, rows: readonly MatchRecord[]): Promise<void> {
  const times = new Map<Date, string>();
  await sql`
    insert into check_match
      (checked_at, principal, key_id, provider_id, via, signal_type, value, bank_id, entry_id, distance)
    select checked_at, principal, key_id, provider_id, via, signal_type, decode(value, 'hex'),
      bank_id, entry_id, distance
    from unnest(
      ${arrayLiteral(rows, (r) => {
        let text = times.get(r.checkedAt);
        if (text === undefined) times.set(r.checkedAt, (text = r.checkedAt.toISOString()));
        return text;
      })}::timestamptz[],
      ${arrayLiteral(rows, (r) => quoted(r.principal))}::text[],
      ${arrayLiteral(rows, (r) => (r.keyId === null ? 'NULL' : String(r.keyId)))}::int[],
      ${arrayLiteral(rows, (r) => (r.providerId === null ? 'NULL' : String(r.providerId)))}::int[],
      ${arrayLiteral(rows, (r) => r.via)}::text[],
      ${arrayLiteral(rows, (r) => r.type)}::text[],
      ${arrayLiteral(rows, (r) => quoted(r.value))}::text[],
      ${arrayLiteral(rows, (r) => String(r.bankId))}::int[],
      ${arrayLiteral(rows, (r) => String(r.entryId))}::int[],
      ${arrayLiteral(rows, (r) => String(r.distance))}::smallint[]
    ) as m(checked_at, principal, key_id, provider_id, via, signal_type, value, bank_id, entry_id, distance)`.execute(
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
