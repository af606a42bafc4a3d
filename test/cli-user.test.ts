import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import type { Database } from '../src/store/database.js';
import { openDatabase } from '../src/store/index.js';
import { openTestDatabase, postgresSkipReason, seedDataDir } from './support/db.js';
import type { OpenedTestDatabase } from './support/db.js';
import { CLI, requireBuild, run, start, waitForReady } from './support/processes.js';
import type { Child } from './support/processes.js';
import { makeTempDir } from './support/temp.js';

/**
 * `takedown user …` and `takedown audit verify` as an operator runs them:
 * the built CLI in child processes, on the embedded database and on
 * PostgreSQL.
 */

const children: Child[] = [];
const dirs: string[] = [];

beforeAll(() =>
  requireBuild('src/cli/commands/user.ts', 'src/cli/commands/audit.ts', 'src/users/accounts.ts'),
);
afterEach(() => {
  for (const child of children.splice(0))
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
});
afterAll(async () => {
  for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

async function seeded(): Promise<string> {
  const dir = await makeTempDir('takedown-user-');
  dirs.push(dir);
  const data = path.join(dir, 'data');
  await seedDataDir(data);
  return data;
}

interface Target {
  readonly env: Record<string, string | undefined>;
  /** Opens the database in this process, as an attacker with the owner's rights would. */
  withDb<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
}

/**
 * The whole story; `full` adds the refusals, which need no second run on the
 * embedded database (each command there opens PGlite: a few seconds).
 */
function scenario(kind: string, target: () => Target, full: boolean): void {
  it(`creates the first admin, manages accounts and catches a tampered trail [${kind}]`, async () => {
    const { env, withDb } = target();
    if (full) {
      const empty = await run(CLI, ['user', 'list'], env);
      expect(empty.stdout).toMatch(
        /No accounts yet\. Create the first administrator: takedown user add <email> --role admin/,
      );
    }
    const added = await run(CLI, ['user', 'add', 'Chief@Hotline.Example', '--role', 'admin'], env);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^Created admin account chief@hotline\.example \(id \d+\)\.$/m);
    expect(added.stdout).toMatch(/^ {4}[a-z2-9]{5}(-[a-z2-9]{5}){3}$/m);

    if (full) {
      const again = await run(
        CLI,
        ['user', 'add', 'chief@hotline.example', '--role', 'admin'],
        env,
      );
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(
        'takedown: There is already an account for chief@hotline.example.\n',
      );
      const badRole = await run(CLI, ['user', 'add', 'x@hotline.example', '--role', 'wizard'], env);
      expect(badRole.code).toBe(2);
      expect(badRole.stderr).toMatch(/There is no role "wizard"/);
      const noProvider = await run(
        CLI,
        ['user', 'add', 'p@isp.example', '--role', 'provider', '--provider', 'Acme'],
        env,
      );
      expect(noProvider.code).toBe(2);
      expect(noProvider.stderr).toMatch(/There is no provider "Acme"/);
    }
    await withDb((db) =>
      db.insertInto('provider').values({ name: 'Acme Hosting', contact_email: null }).execute(),
    );
    const staff = await run(
      CLI,
      ['user', 'add', 'p@isp.example', '--role', 'provider', '--provider', 'acme hosting'],
      env,
    );
    expect(staff.code).toBe(0);

    if (full) {
      const listed = await run(CLI, ['user', 'list', '--json'], env);
      expect(JSON.parse(listed.stdout)).toMatchObject([
        {
          email: 'chief@hotline.example',
          role: 'admin',
          twoFactor: false,
          mustChangePassword: true,
        },
        { email: 'p@isp.example', role: 'provider', providerId: expect.any(Number) },
      ]);
    }
    expect((await run(CLI, ['user', 'disable', 'p@isp.example'], env)).stdout).toBe(
      'Disabled p@isp.example; its sessions have ended.\n',
    );
    if (full) {
      const lastAdmin = await run(CLI, ['user', 'disable', 'chief@hotline.example'], env);
      expect(lastAdmin.code).toBe(1);
      expect(lastAdmin.stderr).toMatch(/last enabled administrator/);
    }
    expect((await run(CLI, ['user', 'reset-2fa', 'chief@hotline.example'], env)).code).toBe(0);
    const table = await run(CLI, ['user', 'list'], env);
    expect(table.stdout).toMatch(/^id\s+email\s+role\s+two-factor\s+status$/m);
    expect(table.stdout).toMatch(
      /^\d+\s+p@isp\.example\s+provider \(provider \d+\)\s+no 2fa yet\s+disabled$/m,
    );

    const intact = await run(CLI, ['audit', 'verify'], env);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(
      /^The audit trail is intact: 4 entries, each linked to the one before\.$/m,
    );
    expect(intact.stdout).toMatch(/^Head: entry 4, hash [0-9a-f]{64}$/m);
    const entries = await withDb((db) =>
      db
        .selectFrom('audit_entry')
        .select(['seq', 'action', 'actor_label'])
        .orderBy('seq')
        .execute(),
    );
    expect(entries.map((e) => e.action)).toEqual([
      'user.create',
      'user.create',
      'user.disable',
      'user.reset-2fa',
    ]);
    expect(entries[0]?.actor_label).toMatch(/^cli:/);

    // An attacker with the owner's rights rewrites who did it.
    await withDb((db) =>
      db.transaction().execute(async (trx) => {
        await sql`alter table audit_entry disable trigger user`.execute(trx);
        await sql`update audit_entry set actor_label = 'cli:someone-else' where seq = 2`.execute(
          trx,
        );
        await sql`alter table audit_entry enable trigger user`.execute(trx);
      }),
    );
    const broken = await run(CLI, ['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(
      /^The audit trail is BROKEN at entry 2: its content does not match its hash/m,
    );
    expect(broken.stdout).toMatch(/^Entries 1 to 1 check out\.$/m);
    if (full) {
      const json = await run(CLI, ['audit', 'verify', '--json'], env);
      expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'broken', seq: 2 });
      // Only the original content checks out again.
      await withDb((db) =>
        db.transaction().execute(async (trx) => {
          await sql`alter table audit_entry disable trigger user`.execute(trx);
          await sql`update audit_entry set actor_label = ${entries[1]?.actor_label ?? ''} where seq = 2`.execute(
            trx,
          );
          await sql`alter table audit_entry enable trigger user`.execute(trx);
        }),
      );
      expect((await run(CLI, ['audit', 'verify'], env)).code).toBe(0);
    }
  });
}

describe('takedown user and audit verify on the embedded database', () => {
  let data = '';
  beforeAll(async () => {
    data = await seeded();
  });
  scenario(
    'pglite',
    () => ({
      env: { TAKEDOWN_DATA: data, DATABASE_URL: undefined, LOG_LEVEL: 'error' },
      async withDb(work) {
        const config = loadConfig({ TAKEDOWN_DATA: data });
        const db = await openDatabase(config, { logger: createLogger('error') });
        try {
          return await work(db);
        } finally {
          await db.destroy();
        }
      },
    }),
    false,
  );

  it('tells the operator of a fresh install how to create the first admin, and stays ready', async () => {
    const fresh = await seeded();
    const server = start(CLI, ['serve', '--port', '0'], {
      TAKEDOWN_DATA: fresh,
      DATABASE_URL: undefined,
    });
    children.push(server);
    const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    await waitForReady(url);
    await server.waitFor(/No administrator account exists yet/);
    expect(server.stdout).toContain('    takedown user add <email> --role admin\n');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 180_000); // a server start on a busy shared machine
});

describe('takedown user and audit verify on PostgreSQL', () => {
  let database: OpenedTestDatabase | undefined;
  beforeAll(async () => {
    if (postgresSkipReason() === undefined) database = await openTestDatabase('postgres');
  });
  afterAll(() => database?.close());
  if (postgresSkipReason() !== undefined) {
    it.skip(`skipped: ${postgresSkipReason()}`, () => undefined);
    return;
  }
  scenario(
    'postgres',
    () => ({
      env: { DATABASE_URL: database?.url, LOG_LEVEL: 'error' },
      withDb: (work) => work((database as OpenedTestDatabase).db),
    }),
    true,
  );
  it('records provider, key and bank changes made with the other commands', async () => {
    const env = { DATABASE_URL: database?.url, LOG_LEVEL: 'error' };
    expect((await run(CLI, ['provider', 'add', 'Audited Hosting'], env)).code).toBe(0);
    const key = await run(CLI, ['key', 'create', '--provider', 'Audited Hosting'], env);
    expect(key.code).toBe(0);
    const id = /Created API key (\d+)/.exec(key.stderr)?.[1] ?? '';
    expect((await run(CLI, ['key', 'revoke', id], env)).code).toBe(0);
    expect((await run(CLI, ['bank', 'create', 'audited-bank'], env)).code).toBe(0);
    const db = (database as OpenedTestDatabase).db;
    const entries = await db
      .selectFrom('audit_entry')
      .select(['action', 'object_type', 'object_id', 'actor_label', 'details'])
      .where('action', 'in', ['provider.create', 'key.create', 'key.revoke', 'bank.create'])
      .orderBy('seq')
      .execute();
    expect(entries.map((e) => [e.action, e.object_type])).toEqual([
      ['provider.create', 'provider'],
      ['key.create', 'api-key'],
      ['key.revoke', 'api-key'],
      ['bank.create', 'bank'],
    ]);
    expect(entries[1]?.object_id).toBe(id);
    expect(JSON.stringify(entries)).not.toContain(key.stdout.trim()); // never the key itself
    expect(entries.every((e) => e.actor_label?.startsWith('cli:'))).toBe(true);
    expect((await run(CLI, ['audit', 'verify'], env)).code).toBe(0);
  });
});
