import type { Generated } from 'kysely';

/** Row type of the domain rules (migration 0009-reports). */

/**
 * do-not-fetch: never touch the site (an analyst looks at the URL instead).
 * not-illegal: everything from it is classified not illegal, unfetched.
 * force-hoster: attribution names this hoster instead of looking it up.
 */
export type RuleAction = 'do-not-fetch' | 'not-illegal' | 'force-hoster';
export const RULE_ACTIONS: readonly RuleAction[] = ['do-not-fetch', 'not-illegal', 'force-hoster'];

export interface DomainRuleTable {
  id: Generated<number>;
  /** Lower case, punycode, no trailing dot; applies to the domain and every subdomain. */
  domain: string;
  action: RuleAction;
  /** force-hoster only. */
  hoster: string | null;
  note: Generated<string>;
  created_by: string;
  created_at: Generated<Date>;
  /** Rules are retired, not deleted: cases keep pointing at the rule that decided them. */
  removed_at: Date | null;
  removed_by: string | null;
}

export interface ClassifyTables {
  domain_rule: DomainRuleTable;
}
