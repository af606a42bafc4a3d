import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import type { Rule } from './rules.js';
import { domainSuffixes } from './rules.js';

/**
 * The live domain rules in memory, for the pipeline's jobs (two look-ups per
 * reported page, one per media item). At most once per `ttlMs` one small
 * query asks whether the rules changed (count, newest id, newest removal),
 * and only then are they read again; a rule set anywhere applies here
 * within about that time.
 */
export class RuleCache {
  readonly #db: Kysely<Database>;
  readonly #ttlMs: number;
  #byDomain = new Map<string, Rule[]>();
  #stamp = '';
  #checkedAt = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | undefined;

  constructor(db: Kysely<Database>, ttlMs = 1_000) {
    this.#db = db;
    this.#ttlMs = ttlMs;
  }

  async rulesFor(host: string): Promise<Rule[]> {
    if (performance.now() - this.#checkedAt >= this.#ttlMs) {
      this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
      await this.#refreshing;
    }
    return domainSuffixes(host).flatMap((domain) => this.#byDomain.get(domain) ?? []);
  }

  async #refresh(): Promise<void> {
    const { rows } = await sql<{ stamp: string }>`
      select count(*) || ':' || coalesce(max(id), 0) || ':' || coalesce(max(removed_at)::text, '') as stamp
      from domain_rule`.execute(this.#db);
    const stamp = rows[0].stamp;
    if (stamp !== this.#stamp) {
      const live = await this.#db
        .selectFrom('domain_rule')
        .select(['id', 'domain', 'action', 'hoster'])
        .where('removed_at', 'is', null)
        .execute();
      const byDomain = new Map<string, Rule[]>();
      for (const rule of live)
        byDomain.set(rule.domain, [...(byDomain.get(rule.domain) ?? []), rule]);
      this.#byDomain = byDomain;
      this.#stamp = stamp;
    }
    this.#checkedAt = performance.now();
  }
}
