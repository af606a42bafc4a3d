import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ReadinessResult } from '../api/readiness.js';
import type { Change } from '../changes/changes.js';
import { latestChange } from '../changes/changes.js';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import { BankMatcher } from './bank-matcher.js';
import { loadBank, loadBanks, loadEntries } from './matcher-queries.js';
import { readMatcherSnapshot, writeMatcherSnapshot } from './matcher-snapshot.js';

export interface MatcherServiceOptions {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** Where snapshots go (`<data>/matcher`); none: always load from the database. */
  readonly snapshotDir?: string;
}

export interface LoadReport {
  readonly from: 'snapshot' | 'database';
  /** The last change included; the change feed continues from here. */
  readonly seq: number;
  readonly entries: number;
  readonly ms: number;
}

/**
 * The in-memory matcher of one server process and how it stays current:
 * loaded once (a snapshot when there is a usable one, else the database),
 * then changed by the change log (`apply`) and, for removals made in this
 * process, at once (`removeEntryNow`).
 */
export class MatcherService {
  readonly #options: MatcherServiceOptions;
  #matcher = new BankMatcher();
  #state: ReadinessResult = { ok: false, reason: 'loading the banks' };
  #seq = 0;

  constructor(options: MatcherServiceOptions) {
    this.#options = options;
  }

  get matcher(): BankMatcher {
    return this.#matcher;
  }

  get loaded(): boolean {
    return this.#state.ok;
  }

  /** The last change applied. */
  get seq(): number {
    return this.#seq;
  }

  readiness(): ReadinessResult {
    return this.#state;
  }

  async load(): Promise<LoadReport> {
    const started = performance.now();
    const { db, logger, snapshotDir } = this.#options;
    try {
      const instance = snapshotDir === undefined ? '' : await instanceId(db);
      if (snapshotDir !== undefined) {
        const snapshot = readMatcherSnapshot(snapshotDir, instance);
        const latest = await latestChange(db);
        if (snapshot.kind === 'loaded' && snapshot.seq <= latest) {
          this.#matcher = snapshot.matcher;
          this.#seq = snapshot.seq;
          return this.#loaded('snapshot', started);
        }
        const reason =
          snapshot.kind === 'loaded'
            ? 'it is newer than the database (restored from a backup?)'
            : snapshot.kind === 'unusable'
              ? snapshot.reason
              : undefined;
        if (reason !== undefined)
          logger.warn({ reason }, 'not using the matcher snapshot; loading from the database');
      }
      // The change number first: whatever changes while we read comes again from the feed.
      const seq = await latestChange(db);
      const banks = await loadBanks(db);
      const matcher = new BankMatcher();
      for (const bank of banks) matcher.setBank(bank);
      const pending = await loadEntries(db, {
        banks: banks.filter((b) => b.enabled).map((b) => b.id),
      });
      matcher.apply(pending);
      this.#matcher = matcher;
      this.#seq = seq;
      const report = this.#loaded('database', started);
      if (snapshotDir !== undefined) await this.writeSnapshot(instance);
      return report;
    } catch (error) {
      this.#state = { ok: false, reason: `loading the banks failed: ${(error as Error).message}` };
      throw error;
    }
  }

  #loaded(from: LoadReport['from'], started: number): LoadReport {
    this.#state = { ok: true };
    const stats = this.#matcher.stats();
    const entries = Object.values(stats.entries).reduce((a, b) => a + b, 0);
    return { from, seq: this.#seq, entries, ms: Math.round(performance.now() - started) };
  }

  /** Brings the matcher up to date with these changes (in order). Idempotent. */
  async apply(changes: readonly Change[]): Promise<void> {
    for (const change of changes) {
      switch (change.kind) {
        case 'entries-added':
          if (change.entryId !== null && change.lastEntryId !== null) {
            const pending = await loadEntries(this.#options.db, {
              from: change.entryId,
              to: change.lastEntryId,
            });
            this.#matcher.apply(pending);
          }
          break;
        case 'entry-removed':
          if (change.entryId !== null) this.#matcher.removeEntry(change.entryId);
          break;
        case 'bank-created':
        case 'bank-updated':
        case 'bank-enabled':
        case 'bank-disabled':
          if (change.bankId !== null) await this.#syncBank(change.bankId);
          break;
        case 'key-revoked':
          break; // the key cache's
      }
      this.#seq = Math.max(this.#seq, change.seq);
    }
  }

  /** Takes an entry out of this process's matcher now, before its change comes round. */
  removeEntryNow(id: number): void {
    this.#matcher.removeEntry(id);
  }

  /** Writes the snapshot; the writing itself is synchronous, so it shows one moment. */
  async writeSnapshot(instance?: string): Promise<void> {
    const { snapshotDir, logger, db } = this.#options;
    if (snapshotDir === undefined || !this.loaded) return;
    try {
      const id = instance ?? (await instanceId(db));
      const started = performance.now();
      const bytes = writeMatcherSnapshot(snapshotDir, this.#matcher, {
        seq: this.#seq,
        instance: id,
      });
      const ms = Math.round(performance.now() - started);
      logger.info({ bytes, ms, seq: this.#seq }, 'matcher snapshot written');
    } catch (error) {
      logger.warn({ err: error }, 'could not write the matcher snapshot');
    }
  }

  /** A bank's row as it is now: enable, disable, move its PDQ entries, or just relabel. */
  async #syncBank(bankId: number): Promise<void> {
    const { db } = this.#options;
    const info = await loadBank(db, bankId);
    const current = this.#matcher.bank(bankId);
    if (info === undefined || !info.enabled) {
      if (info !== undefined) this.#matcher.setBank(info);
      this.#matcher.removeBankEntries(bankId);
      return;
    }
    if (current === undefined || !current.enabled) {
      const pending = await loadEntries(db, { banks: [bankId] });
      this.#matcher.setBank(info);
      this.#matcher.apply(pending);
      return;
    }
    if (current.pdqThreshold !== info.pdqThreshold) {
      const pending = await loadEntries(db, { banks: [bankId], type: 'pdq' });
      this.#matcher.reindexBank(info, pending);
      return;
    }
    this.#matcher.setBank(info);
  }
}

/** This database's id (made on first use): snapshots never cross databases. */
export async function instanceId(db: Kysely<Database>): Promise<string> {
  await db
    .insertInto('setting')
    .values({ key: 'instance-id', value: JSON.stringify(randomUUID()) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('setting')
    .select('value')
    .where('key', '=', 'instance-id')
    .executeTakeFirstOrThrow();
  return String(row.value);
}
