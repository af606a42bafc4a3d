import Table from 'cli-table3';
import type { Command } from 'commander';
import {
  addProvider,
  listProviders,
  parseEmail,
  parseProviderName,
} from '../../providers/queries.js';
import { audited, cliAudit } from '../../audit/record.js';
import { shortDate, withDatabase } from './with-database.js';

/** `takedown provider …`: hosting-provider accounts, which hold API keys. */
export function registerProvider(program: Command): void {
  const provider = program
    .command('provider')
    .description('Hosting-provider accounts: they get API keys for the hash-check API.');
  provider
    .command('add')
    .description('Add a provider.')
    .argument('<name>', 'e.g. acme or "Acme Hosting B.V." (unique, regardless of case)')
    .option('--contact <email>', 'an address for questions about its use of the API')
    .action(add);
  provider
    .command('list')
    .description('List providers and how many active keys each has.')
    .option('--json', 'print JSON')
    .action(list);
}

async function add(name: string, flags: { contact?: string }): Promise<void> {
  const input = {
    name: parseProviderName(name),
    ...(flags.contact === undefined ? {} : { contactEmail: parseEmail(flags.contact) }),
  };
  const provider = await withDatabase((db) =>
    audited(
      db,
      (trx) => addProvider(trx, input),
      (added) => ({
        ...cliAudit(),
        action: 'provider.create',
        object: { type: 'provider', id: added.id },
        outcome: 'allowed',
        details: { name: added.name },
      }),
    ),
  );
  process.stdout.write(
    `Added provider ${provider.name} (id ${provider.id}). Give it a key with: takedown key create --provider ${JSON.stringify(provider.name)}\n`,
  );
}

async function list(flags: { json?: boolean }): Promise<void> {
  const providers = await withDatabase((db) => listProviders(db));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(providers, null, 2)}\n`);
    return;
  }
  if (providers.length === 0) {
    process.stdout.write('No providers yet. Add one with `takedown provider add <name>`.\n');
    return;
  }
  const table = new Table({ head: ['id', 'name', 'contact', 'active keys', 'added'] });
  for (const p of providers)
    table.push([p.id, p.name, p.contactEmail ?? '', p.activeKeys, shortDate(p.createdAt)]);
  process.stdout.write(`${table.toString()}\n`);
}
