import Table from 'cli-table3';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { audited, cliAudit } from '../../audit/record.js';
import { createKey, listKeys, revokeKey } from '../../providers/queries.js';
import { positiveNumber, shortDate, withDatabase } from './with-database.js';

/**
 * `takedown key …`: API keys of providers. `key create` prints the key, and
 * nothing else, on standard output, so `KEY=$(takedown key create --provider
 * acme)` captures it; everything else goes to standard error.
 */
export function registerKey(program: Command): void {
  const key = program
    .command('key')
    .description('API keys for the hash-check API: create, list, revoke.');
  key
    .command('create')
    .description(
      'Create a key for a provider. The key is printed once, alone on standard output; only its hash is kept.',
    )
    .requiredOption('--provider <name>', 'the provider that will use it')
    .option('--label <text>', 'a note to recognise the key by, e.g. "upload scanner"')
    .option(
      '--hashes-per-second <n>',
      "this key's rate limit (default: TAKEDOWN_CHECK_HASHES_PER_SECOND)",
      positiveNumber,
    )
    .option(
      '--images-per-second <n>',
      "this key's image upload limit (default: TAKEDOWN_CHECK_IMAGES_PER_SECOND)",
      positiveNumber,
    )
    .action(create);
  key
    .command('list')
    .description('List keys (their prefixes, never the keys).')
    .option('--provider <name>', "only this provider's keys")
    .option('--json', 'print JSON')
    .action(list);
  key
    .command('revoke')
    .description('Revoke a key: every server refuses it within a second.')
    .argument('<id>', "the key's id, as `key list` shows it", keyId)
    .action(revoke);
}

function keyId(value: string): number {
  try {
    return positiveNumber(value);
  } catch {
    throw new InvalidArgumentError("is the key's number from `takedown key list`, e.g. 3.");
  }
}

interface CreateFlags {
  provider: string;
  label?: string;
  hashesPerSecond?: number;
  imagesPerSecond?: number;
}

async function create(flags: CreateFlags): Promise<void> {
  // Audited (issue 4): the key and its audit entry commit together.
  const created = await withDatabase((db) =>
    audited(
      db,
      (trx) =>
        createKey(trx, flags.provider, {
          label: flags.label,
          hashesPerSecond: flags.hashesPerSecond,
          imagesPerSecond: flags.imagesPerSecond,
        }),
      (key) => ({
        ...cliAudit(),
        action: 'key.create',
        object: { type: 'api-key', id: key.id },
        outcome: 'allowed',
        details: { provider: key.provider, prefix: key.prefix, role: key.role, label: key.label },
      }),
    ),
  );
  process.stdout.write(`${created.key}\n`);
  process.stderr.write(
    `Created API key ${created.id} (${created.prefix}...) for ${created.provider}. ` +
      'It is shown only now and cannot be recovered: store it safely. Use it as "Authorization: Bearer <key>".\n',
  );
}

async function list(flags: { provider?: string; json?: boolean }): Promise<void> {
  const keys = await withDatabase((db) => listKeys(db, { provider: flags.provider }));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
    return;
  }
  if (keys.length === 0) {
    process.stdout.write('No keys yet. Create one with `takedown key create --provider <name>`.\n');
    return;
  }
  const table = new Table({
    head: ['id', 'prefix', 'provider', 'label', 'hashes/s', 'images/s', 'created', 'revoked'],
  });
  for (const k of keys) {
    table.push([
      k.id,
      `${k.prefix}...`,
      k.provider,
      k.label ?? '',
      k.hashesPerSecond ?? 'default',
      k.imagesPerSecond ?? 'default',
      shortDate(k.createdAt),
      shortDate(k.revokedAt),
    ]);
  }
  process.stdout.write(`${table.toString()}\n`);
}

async function revoke(id: number): Promise<void> {
  const key = await withDatabase((db) =>
    audited(
      db,
      (trx) => revokeKey(trx, id),
      (revoked) => ({
        ...cliAudit(),
        action: 'key.revoke',
        object: { type: 'api-key', id: revoked.id },
        outcome: 'allowed',
        details: { provider: revoked.provider, prefix: revoked.prefix },
      }),
    ),
  );
  process.stdout.write(
    `Revoked key ${key.id} (${key.prefix}...) of ${key.provider}; every server refuses it within a second.\n`,
  );
}
