import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { ROLES } from '../../access/principal.js';
import { cliAudit } from '../../audit/record.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import type { Database } from '../../store/database.js';
import { openDatabase } from '../../store/index.js';
import {
  createUser,
  findProviderId,
  findUser,
  listUsers,
  resetPassword,
  resetTwoFactor,
  updateUser,
} from '../../users/accounts.js';
import type { Acting, CreatedUser, UserSummary } from '../../users/accounts.js';
import { argon2Hasher } from '../../users/passwords.js';

/**
 * Staff accounts from the command line: the first administrator, and
 * recovery when nobody can sign in. Whoever can run this can read the
 * database anyway; every change is still audited, as "cli:<OS user>".
 */
export function registerUser(program: Command): void {
  const user = program
    .command('user')
    .description(
      'Staff accounts: create the first administrator, list, disable, reset two-factor sign-in.',
    );
  user
    .command('add')
    .description('Create an account and print its one-time password (shown once).')
    .argument('<email>', 'the person’s e-mail address; they sign in with it')
    .requiredOption('--role <role>', ROLES.join(', '))
    .option(
      '--provider <name>',
      'for --role provider: the provider (name or id) whose staff this is',
    )
    .action(add);
  user
    .command('list')
    .description('List accounts with role, two-factor status and whether they are disabled.')
    .option('--json', 'print JSON')
    .action(list);
  user
    .command('disable')
    .description('Disable an account and end its sessions at once.')
    .argument('<email>')
    .action((email: string) => change(email, { disabled: true }, 'Disabled'));
  user
    .command('enable')
    .description('Enable a disabled account again.')
    .argument('<email>')
    .action((email: string) => change(email, { disabled: false }, 'Enabled'));
  user
    .command('reset-2fa')
    .description('Remove two-factor sign-in (lost phone); it is set up again at the next sign-in.')
    .argument('<email>')
    .action(reset2fa);
  user
    .command('reset-password')
    .description('Issue a new one-time password (forgotten password); ends the account’s sessions.')
    .argument('<email>')
    .action(newPassword);
}

async function withDb<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase(config, { logger: createLogger(config.logLevel) });
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

function acting(): Acting {
  return { ...cliAudit(), now: new Date() };
}

function printIssued(issued: CreatedUser, what: string): void {
  const { user } = issued;
  process.stdout.write(
    `${what} ${user.role} account ${user.email} (id ${user.id}).\n` +
      `One-time password (shown only now; valid until ${issued.expiresAt.toISOString()}):\n\n` +
      `    ${issued.oneTimePassword}\n\n` +
      'Hand it over in person or by a second channel. At the first sign-in they set up\n' +
      'two-factor sign-in with an authenticator app and choose their own password.\n',
  );
}

async function add(email: string, flags: { role: string; provider?: string }): Promise<void> {
  await withDb(async (db) => {
    const providerId =
      flags.provider === undefined ? null : await findProviderId(db, flags.provider);
    const created = await createUser(
      db,
      argon2Hasher(),
      { email, role: flags.role, providerId },
      acting(),
    );
    printIssued(created, 'Created');
  });
}

async function list(flags: { json?: boolean }): Promise<void> {
  const users = await withDb((db) => listUsers(db));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(users, null, 2)}\n`);
    return;
  }
  if (users.length === 0) {
    process.stdout.write(
      'No accounts yet. Create the first administrator: takedown user add <email> --role admin\n',
    );
    return;
  }
  const rows = users.map((u) => [
    String(u.id),
    u.email,
    u.role + (u.providerId === null ? '' : ` (provider ${u.providerId})`),
    u.twoFactor ? '2fa' : 'no 2fa yet',
    u.disabled ? 'disabled' : u.mustChangePassword ? 'one-time password' : 'active',
  ]);
  const header = ['id', 'email', 'role', 'two-factor', 'status'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[header, ...rows].map(line).join('\n')}\n`);
}

async function byEmail(db: Kysely<Database>, email: string): Promise<UserSummary> {
  return findUser(db, email);
}

async function change(email: string, what: { disabled: boolean }, verb: string): Promise<void> {
  await withDb(async (db) => {
    const user = await byEmail(db, email);
    await updateUser(db, user.id, what, acting());
    process.stdout.write(
      `${verb} ${user.email}${what.disabled ? '; its sessions have ended' : ''}.\n`,
    );
  });
}

async function reset2fa(email: string): Promise<void> {
  await withDb(async (db) => {
    const user = await byEmail(db, email);
    await resetTwoFactor(db, user.id, acting());
    process.stdout.write(
      `Two-factor sign-in removed for ${user.email}; its sessions have ended. ` +
        'They set it up again at their next sign-in.\n',
    );
  });
}

async function newPassword(email: string): Promise<void> {
  await withDb(async (db) => {
    const user = await byEmail(db, email);
    printIssued(
      await resetPassword(db, argon2Hasher(), user.id, acting()),
      'New one-time password for',
    );
  });
}
