import type { Kysely, Selectable, Transaction } from 'kysely';
import { TakedownError } from '../errors.js';
import type { Database } from '../store/database.js';
import type { Rule } from './rules.js';
import { domainSuffixes } from './rules.js';
import type { DomainRuleTable, RuleAction } from './tables.js';

/** Domain rules' SQL. */

export interface DomainRule extends Rule {
  readonly note: string;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly removedAt: Date | null;
  readonly removedBy: string | null;
}

type Db = Kysely<Database> | Transaction<Database>;

export function toRule(row: Selectable<DomainRuleTable>): DomainRule {
  return {
    id: row.id,
    domain: row.domain,
    action: row.action,
    hoster: row.hoster,
    note: row.note,
    createdBy: row.created_by,
    createdAt: row.created_at,
    removedAt: row.removed_at,
    removedBy: row.removed_by,
  };
}

/** The live rules that can apply to `host` (its domain and every parent domain). */
export async function rulesFor(db: Db, host: string): Promise<Rule[]> {
  const rows = await db
    .selectFrom('domain_rule')
    .select(['id', 'domain', 'action', 'hoster'])
    .where('domain', 'in', domainSuffixes(host))
    .where('removed_at', 'is', null)
    .execute();
  return rows;
}

export async function listRules(
  db: Db,
  options: { readonly includeRemoved?: boolean } = {},
): Promise<DomainRule[]> {
  let query = db.selectFrom('domain_rule').selectAll().orderBy('domain').orderBy('id');
  if (!options.includeRemoved) query = query.where('removed_at', 'is', null);
  return (await query.execute()).map(toRule);
}

export interface NewRule {
  readonly domain: string;
  readonly action: RuleAction;
  readonly hoster: string | null;
  readonly note: string;
  readonly createdBy: string;
}

/** Adds a rule; 409 when the domain already has a live rule with this action. */
export async function addRule(db: Db, rule: NewRule): Promise<DomainRule> {
  const row = await db
    .insertInto('domain_rule')
    .values({
      domain: rule.domain,
      action: rule.action,
      hoster: rule.action === 'force-hoster' ? rule.hoster : null,
      note: rule.note,
      created_by: rule.createdBy,
    })
    .onConflict((oc) =>
      oc.columns(['domain', 'action']).where('removed_at', 'is', null).doNothing(),
    )
    .returningAll()
    .executeTakeFirst();
  if (row === undefined) {
    throw new TakedownError(
      'rule-exists',
      `${rule.domain} already has a ${rule.action} rule; remove it first to change it.`,
      { kind: 'conflict', details: { domain: rule.domain, action: rule.action } },
    );
  }
  return toRule(row);
}

/** Retires a live rule (it stays on record); 404 when there is no live rule with this id. */
export async function removeRule(db: Db, id: number, removedBy: string): Promise<DomainRule> {
  const row = await db
    .updateTable('domain_rule')
    .set({ removed_at: new Date(), removed_by: removedBy })
    .where('id', '=', id)
    .where('removed_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row === undefined) {
    throw new TakedownError('rule-not-found', `There is no rule ${id} in force.`, {
      kind: 'not-found',
      details: { id },
    });
  }
  return toRule(row);
}
