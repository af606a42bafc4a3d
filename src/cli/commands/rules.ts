import Table from 'cli-table3';
import { Option } from 'commander';
import type { Command } from 'commander';
import os from 'node:os';
import { recordAudit, systemActor } from '../../audit/index.js';
import { addRule, listRules, removeRule } from '../../classify/queries.js';
import { MAX_HOSTER_CHARS, MAX_NOTE_CHARS, parseDomain } from '../../classify/rules.js';
import { RULE_ACTIONS } from '../../classify/tables.js';
import type { RuleAction } from '../../classify/tables.js';
import { TakedownError } from '../../errors.js';
import { positiveNumber, shortDate, withDatabase } from './with-database.js';

/** `takedown rules`: domain rules, as the API's /v1/rules, for the operator at the console. */
export function registerRules(program: Command): void {
  const rules = program
    .command('rules')
    .description(
      'Domain rules: do not fetch a site, classify everything from it as not illegal, or force its hoster. A rule covers the domain and its subdomains.',
    );
  rules
    .command('list')
    .description('List the rules in force.')
    .option('--all', 'include retired rules')
    .option('--json', 'print JSON')
    .action(list);
  rules
    .command('add')
    .description('Set a rule; it applies to work that starts from now on.')
    .argument('<domain>', 'e.g. legal-adult.example (covers every subdomain)')
    .addOption(
      new Option('--action <action>', 'what the rule does')
        .choices(RULE_ACTIONS)
        .makeOptionMandatory(),
    )
    .option('--hoster <name>', 'force-hoster: the hosting provider to attribute the domain to')
    .option('--note <text>', 'why, for the record')
    .action(add);
  rules
    .command('remove')
    .description('Retire a rule (it stays on record).')
    .argument('<id>', 'the rule id (from `takedown rules list`)', positiveNumber)
    .action(remove);
}

const operator = () => `cli:${os.userInfo().username}`;

async function list(flags: { all?: boolean; json?: boolean }): Promise<void> {
  const rules = await withDatabase((db) => listRules(db, { includeRemoved: flags.all === true }));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rules, null, 2)}\n`);
    return;
  }
  if (rules.length === 0) {
    process.stdout.write(
      'No domain rules. Add one with `takedown rules add <domain> --action ...`.\n',
    );
    return;
  }
  const table = new Table({
    head: ['id', 'domain', 'action', 'hoster', 'note', 'set by', 'set', 'retired'],
  });
  for (const r of rules)
    table.push([
      r.id,
      r.domain,
      r.action,
      r.hoster ?? '',
      r.note,
      r.createdBy,
      shortDate(r.createdAt),
      shortDate(r.removedAt),
    ]);
  process.stdout.write(`${table.toString()}\n`);
}

async function add(
  domainText: string,
  flags: { action: RuleAction; hoster?: string; note?: string },
): Promise<void> {
  const domain = parseDomain(domainText);
  const hoster = flags.hoster?.trim();
  if (flags.action === 'force-hoster' && (hoster === undefined || hoster === ''))
    throw new TakedownError('hoster-required', 'A force-hoster rule needs --hoster <name>.');
  if (flags.action !== 'force-hoster' && hoster !== undefined)
    throw new TakedownError('hoster-not-allowed', 'Only a force-hoster rule takes --hoster.');
  if ((hoster?.length ?? 0) > MAX_HOSTER_CHARS || (flags.note?.length ?? 0) > MAX_NOTE_CHARS)
    throw new TakedownError(
      'too-long',
      `--hoster takes at most ${MAX_HOSTER_CHARS} characters, --note ${MAX_NOTE_CHARS}.`,
    );
  const rule = await withDatabase((db) =>
    db.transaction().execute(async (trx) => {
      const added = await addRule(trx, {
        domain,
        action: flags.action,
        hoster: hoster ?? null,
        note: flags.note?.trim() ?? '',
        createdBy: operator(),
      });
      await recordAudit(trx, {
        actor: systemActor(operator()),
        action: 'rule.create',
        object: { type: 'domain-rule', id: added.id },
        outcome: 'allowed',
        details: { domain, action: added.action, hoster: added.hoster },
      });
      return added;
    }),
  );
  process.stdout.write(
    `Rule ${rule.id}: ${rule.action} ${rule.domain}${rule.hoster ? ` (${rule.hoster})` : ''}, in force from now on.\n`,
  );
}

async function remove(id: number): Promise<void> {
  const rule = await withDatabase((db) =>
    db.transaction().execute(async (trx) => {
      const removed = await removeRule(trx, id, operator());
      await recordAudit(trx, {
        actor: systemActor(operator()),
        action: 'rule.remove',
        object: { type: 'domain-rule', id },
        outcome: 'allowed',
        details: { domain: removed.domain, action: removed.action },
      });
      return removed;
    }),
  );
  process.stdout.write(`Rule ${rule.id} (${rule.action} ${rule.domain}) is retired.\n`);
}
