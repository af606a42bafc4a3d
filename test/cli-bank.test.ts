import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, postgresSkipReason, seedDataDir } from './support/db.js';
import type { OpenedTestDatabase } from './support/db.js';
import { within } from './support/hash-check.js';
import { CLI, requireBuild, run, start, waitForReady } from './support/processes.js';
import type { Child } from './support/processes.js';
import { makeTempDir } from './support/temp.js';

/**
 * `takedown bank|provider|key` as an operator runs them: the built CLI in
 * child processes, alone and beside a running server. Hashes are generated.
 */

const children: Child[] = [];
const dirs: string[] = [];

beforeAll(() =>
  requireBuild(
    'src/cli/commands/bank.ts',
    'src/cli/commands/key.ts',
    'src/banks/import.ts',
    'src/check/service.ts',
    'src/api/check-routes.ts',
  ),
);
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
});
afterAll(async () => {
  for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir('takedown-bank-');
  dirs.push(dir);
  return dir;
}

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
/** Random-looking, far apart: sha256 of the number, read as a PDQ hash. */
const pdq = (n: number) => createHash('sha256').update(String(n)).digest('hex');

describe('takedown bank on the embedded database', () => {
  let env: Record<string, string | undefined>;
  let work: string;
  beforeAll(async () => {
    work = await tempDir();
    const data = path.join(work, 'data');
    await seedDataDir(data);
    // error: a loaded machine makes the database layer warn about slow queries.
    env = { TAKEDOWN_DATA: data, DATABASE_URL: undefined, LOG_LEVEL: 'error' };
  });
  const cli = (...args: string[]) => run(CLI, args, env);

  it('creates, imports (all or nothing), lists, shows, exports, re-imports, disables and removes entries', async () => {
    const created = await cli(
      'bank',
      'create',
      'police-nl',
      '--category',
      'baseline',
      '--source',
      'police',
    );
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toBe(
      'Created bank police-nl (category baseline, source police, PDQ threshold 31, enabled).\n',
    );
    expect((await cli('bank', 'create', 'Police NL')).stderr).toMatch(
      /^takedown: "Police NL" is not a usable bank name/,
    );
    expect((await cli('bank', 'create', 'police-nl')).stderr).toBe(
      'takedown: There is already a bank named "police-nl".\n',
    );

    const bare = path.join(work, 'bare.txt');
    await fs.writeFile(
      bare,
      ['# a list', ...Array.from({ length: 1000 }, (_, i) => pdq(i)), pdq(5)].join('\n'),
    );
    const imported = await cli('bank', 'import', 'police-nl', bare, '--type', 'pdq');
    expect(imported.code).toBe(0);
    expect(imported.stderr).toContain('bare hashes, one per line (detected)');
    expect(imported.stdout).toMatch(
      /^Imported into police-nl: 1,000 added, 0 already present, 1 duplicate lines, 0 kept removed, 0 invalid \(1,001 lines, [\d.]+ s\)\.\n$/,
    );

    const csv = path.join(work, 'list.csv');
    await fs.writeFile(
      csv,
      `type,value,note\nmd5,${hex(1, 32)},first\nsha1,nothex,bad\nmd5,${hex(2, 32)},\nmd5,${hex(3, 31)},short\n`,
    );
    const rejected = await cli('bank', 'import', 'police-nl', csv);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toBe('');
    expect(rejected.stderr).toContain('2 of 4 lines are invalid:');
    expect(rejected.stderr).toMatch(
      / {2}line 3: "nothex" is not a sha1 hash: it contains characters other than 0-9 and a-f\n/,
    );
    expect(rejected.stderr).toMatch(/ {2}line 5: .* it has 31 hex digits, a md5 hash has 32\n/);
    expect(rejected.stderr).toContain('Nothing was imported.');
    const skipped = await cli('bank', 'import', 'police-nl', csv, '--skip-invalid', '--json');
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({
      kind: 'imported',
      format: 'csv',
      added: 2,
      invalid: 2,
    });

    const list = JSON.parse((await cli('bank', 'list', '--json')).stdout) as Array<
      Record<string, unknown>
    >;
    expect(list).toEqual([
      expect.objectContaining({
        name: 'police-nl',
        category: 'baseline',
        entries: { pdq: 1000, md5: 2, sha1: 0, sha256: 0, total: 1002 },
      }),
    ]);
    expect((await cli('bank', 'list')).stdout).toMatch(
      /police-nl.*baseline.*police.*yes.*1,000.*2/,
    );
    expect((await cli('bank', 'show', 'police-nl')).stdout).toMatch(
      /entries: +1,002 \(pdq 1,000, md5 2/,
    );

    const exported = path.join(work, 'export.jsonl');
    const exportRun = await cli('bank', 'export', 'police-nl', '--output', exported);
    expect(exportRun).toMatchObject({ code: 0, stdout: '' });
    const lines = (await fs.readFile(exported, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1002);
    expect(lines).toContainEqual({
      type: 'md5',
      value: hex(1, 32),
      bank: 'police-nl',
      category: 'baseline',
      addedAt: expect.any(String),
      note: 'first',
    });
    const toStdout = await cli('bank', 'export', 'police-nl');
    expect(toStdout.stdout.trim().split('\n')).toHaveLength(1002);

    await cli('bank', 'create', 'copy');
    const again = await cli('bank', 'import', 'copy', exported, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ format: 'jsonl', added: 1002 });

    const removed = await cli(
      'bank',
      'remove-entry',
      'police-nl',
      pdq(3),
      '--reason',
      'false positive',
    );
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(
      new RegExp(`^Removed pdq ${pdq(3)} from bank police-nl \\(entry \\d+\\)`),
    );
    expect((await cli('bank', 'remove-entry', 'police-nl', pdq(3))).stderr).toMatch(
      /has no entry .* It was removed before\./,
    );
    const reimport = await cli('bank', 'import', 'police-nl', bare, '--type', 'pdq', '--json');
    expect(JSON.parse(reimport.stdout)).toMatchObject({
      added: 0,
      alreadyPresent: 999,
      keptRemoved: 1,
    });

    expect((await cli('bank', 'disable', 'police-nl')).stdout).toMatch(
      /^Bank police-nl is disabled/,
    );
    expect((await cli('bank', 'show', 'nope')).stderr).toMatch(
      /^takedown: There is no bank named "nope"\. Banks: copy, police-nl\.\n$/,
    );
  }, 300_000); // ~20 processes, each opening the embedded database

  it('creates a key that is alone on standard output, lists it by prefix, and revokes it', async () => {
    expect((await cli('provider', 'add', 'Acme Hosting')).code).toBe(0);
    expect((await cli('provider', 'add', 'acme hosting')).stderr).toMatch(
      /already a provider named "Acme Hosting"/,
    );
    const created = await cli('key', 'create', '--provider', 'acme hosting', '--label', 'scanner');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^tdk_[0-9A-Za-z]{40}\n$/);
    expect(created.stderr).toMatch(
      /^Created API key \d+ \(tdk_[0-9A-Za-z]{8}\.\.\.\) for Acme Hosting\. It is shown only now/,
    );
    const key = created.stdout.trim();
    const listed = JSON.parse(
      (await cli('key', 'list', '--provider', 'Acme Hosting', '--json')).stdout,
    ) as Array<{ id: number; prefix: string }>;
    expect(listed).toEqual([
      expect.objectContaining({ prefix: key.slice(0, 12), label: 'scanner', revokedAt: null }),
    ]);
    expect((await cli('key', 'list')).stdout).not.toContain(key);
    const revoked = await cli('key', 'revoke', String(listed[0].id));
    expect(revoked.stdout).toMatch(/^Revoked key \d+ \(tdk_\w{8}\.\.\.\) of Acme Hosting/);
    expect((await cli('key', 'revoke', 'x')).code).toBe(2);
    expect((await cli('key', 'create', '--provider', 'nobody')).stderr).toMatch(
      /There is no provider named "nobody"/,
    );
  }, 120_000);
});

/** A running server and the CLI beside it: changes made by commands reach the server within a second. */
async function serverAndCli(env: Record<string, string | undefined>): Promise<void> {
  const server = start(CLI, ['serve', '--port', '0'], {
    ...env,
    TAKEDOWN_CHANGES_POLL_MS: '100',
    TAKEDOWN_PIPELINE: 'off', // the report pipeline needs a media key; not under test here
    LOG_LEVEL: 'info',
  });
  children.push(server);
  const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  await waitForReady(url);
  const cli = async (...args: string[]) => {
    const result = await run(CLI, args, { ...env, LOG_LEVEL: 'error' });
    expect(result.stderr).not.toMatch(/lock|busy|in use/i);
    return result;
  };
  expect((await cli('bank', 'create', 'live', '--category', 'baseline')).code).toBe(0);
  expect((await cli('provider', 'add', 'acme')).code).toBe(0);
  const key = (await cli('key', 'create', '--provider', 'acme')).stdout.trim();
  const list = path.join(await tempDir(), 'list.txt');
  const hashes = Array.from({ length: 20_000 }, (_, i) => pdq(i + 1));
  await fs.writeFile(list, hashes.join('\n'));
  const check = async (value: string, withKey = key) => {
    const res = await fetch(`${url}/v1/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${withKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hashes: [{ type: 'pdq', value }] }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { results: Array<{ matches: unknown[] }> },
    };
  };
  expect((await check(hashes[7])).body.results[0].matches).toEqual([]);
  const imported = await cli('bank', 'import', 'live', list, '--type', 'pdq');
  expect(imported.code).toBe(0);
  const done = performance.now();
  await within(1000, async () => (await check(hashes[7])).body.results[0].matches.length === 1);
  expect(performance.now() - done).toBeLessThan(1000);
  expect((await check(hashes[7])).body.results[0].matches).toEqual([
    { bank: 'live', category: 'baseline', distance: 0 },
  ]);

  expect((await cli('bank', 'remove-entry', 'live', hashes[7])).code).toBe(0);
  await within(1000, async () => (await check(hashes[7])).body.results[0].matches.length === 0);
  expect((await cli('bank', 'disable', 'live')).code).toBe(0);
  await within(1000, async () => (await check(hashes[8])).body.results[0].matches.length === 0);

  const keys = JSON.parse((await cli('key', 'list', '--json')).stdout) as Array<{ id: number }>;
  expect((await cli('key', 'revoke', String(keys[0].id))).code).toBe(0);
  await within(1000, async () => (await check(hashes[8])).status === 401);

  server.process.kill('SIGTERM');
  expect(await server.exited).toBe(0);
  expect(server.stderr).not.toContain(hashes[8]);
}

describe('the CLI beside a running server', () => {
  let database: OpenedTestDatabase | undefined;
  beforeAll(async () => {
    if (postgresSkipReason() === undefined) database = await openTestDatabase('postgres');
  });
  afterAll(() => database?.close());

  it('on the embedded database: no lock error, and the server follows within a second', async () => {
    const data = path.join(await tempDir(), 'data');
    await seedDataDir(data);
    await serverAndCli({ TAKEDOWN_DATA: data, DATABASE_URL: undefined });
    expect(existsSync(path.join(data, 'matcher', 'entries.snap'))).toBe(true);
  }, 180_000);

  it('on PostgreSQL', async ({ skip }) => {
    if (database === undefined) return skip(postgresSkipReason());
    await serverAndCli({ TAKEDOWN_DATA: await tempDir(), DATABASE_URL: database.url });
  }, 180_000);
});
