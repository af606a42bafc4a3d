import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { embeddedPaths } from '../src/store/pglite/embedded.js';
import { MIGRATIONS } from '../src/store/migrations/index.js';
import { openTestDatabase, postgresSkipReason } from './support/db.js';
import type { OpenedTestDatabase } from './support/db.js';
import { CLI, requireBuild, run, start, waitForReady } from './support/processes.js';
import type { Child } from './support/processes.js';
import { makeTempDir } from './support/temp.js';

/** `takedown serve` (what `npm start` runs) as an operator runs it: the built CLI in a child process. */

const children: Child[] = [];
const dirs: string[] = [];

beforeAll(() =>
  requireBuild('src/cli/commands/serve.ts', 'src/cli/commands/db.ts', 'src/api/app.ts'),
);
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir('takedown-serve-');
  dirs.push(dir);
  return dir;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe('takedown serve on the embedded database', () => {
  it('creates and migrates the database on first start, serves the endpoints, shares the database with a second command, and stops cleanly', async () => {
    const data = path.join(await tempDir(), 'data');
    const server = start(CLI, ['serve'], {
      TAKEDOWN_DATA: data,
      PORT: '0',
      DATABASE_URL: undefined,
    });
    children.push(server);
    const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    await waitForReady(url);
    expect(server.stdout).toContain(`Data folder: ${data}\n`);
    expect(server.stdout).toContain(`Database: embedded PostgreSQL (PGlite) in ${data}/pglite\n`);
    expect(server.stderr).toContain('creating the embedded database');

    expect(await getJson(`${url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await getJson(`${url}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { database: { ok: true }, matcher: { ok: true } } },
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /^takedown_http_requests_total\{method="GET",route="\/readyz",status="200"\} 2$/m,
    ); // waitForReady and the call above
    expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);
    expect(((await getJson(`${url}/openapi.json`)).body as { openapi: string }).openapi).toBe(
      '3.1.0',
    );
    expect(await (await fetch(`${url}/docs`)).text()).toContain('<h1>Takedown API</h1>');

    // A second process while the server runs: no lock error, it goes through the server.
    const [status] = await Promise.all([
      run(CLI, ['db', 'status'], { TAKEDOWN_DATA: data, DATABASE_URL: undefined }),
      ...Array.from({ length: 20 }, () =>
        fetch(`${url}/readyz`).then((r) => expect(r.status).toBe(200)),
      ),
    ]);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^Open in process \d+ \(takedown serve\); reached through it\.$/m,
    );
    expect(status.stdout).toMatch(
      new RegExp(`^Migrations: ${Object.keys(MIGRATIONS).length} applied, 0 pending$`, 'm'),
    );

    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stderr).toMatch(/"msg":"stopped"/);
    expect(existsSync(embeddedPaths(data).lock)).toBe(false);
  });
});

describe('takedown serve on a PostgreSQL server', () => {
  let database: OpenedTestDatabase | undefined;
  beforeAll(async () => {
    if (postgresSkipReason() === undefined) database = await openTestDatabase('postgres');
  });
  afterAll(() => database?.close());

  it('uses DATABASE_URL, with --port and --host overriding the environment', async ({ skip }) => {
    if (database === undefined) return skip(postgresSkipReason());
    const data = await tempDir();
    const env = { TAKEDOWN_DATA: data, DATABASE_URL: database.url, PORT: '1' };
    const server = start(CLI, ['serve', '--port', '0', '--host', '127.0.0.1'], env);
    children.push(server);
    const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    await waitForReady(url);
    expect(server.stdout).toMatch(/^Database: PostgreSQL at 127\.0\.0\.1:\d+\/test_\d+_\d+$/m);
    expect(await getJson(`${url}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { database: { ok: true }, matcher: { ok: true } } },
    });
    const status = await run(CLI, ['db', 'status', '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      pending: [],
      unknown: [],
      applied: Object.keys(MIGRATIONS).map((name) => ({ name })),
    });
    server.process.kill('SIGINT');
    expect(await server.exited).toBe(0);
    expect(existsSync(path.join(data, 'pglite'))).toBe(false); // the embedded database was never touched
  });
});

describe('takedown serve refuses bad settings with one sentence', () => {
  it.each([
    [
      { PORT: 'eighty' },
      [],
      /^takedown: Environment variable PORT="eighty" is not valid: .*HTTP port of `takedown serve`.*\n$/,
    ],
    [{ LOG_LEVEL: 'loud' }, [], /^takedown: Environment variable LOG_LEVEL="loud" is not valid: /],
    [
      { DATABASE_URL: 'mysql://db/x' },
      [],
      /^takedown: Environment variable DATABASE_URL="mysql:\/\/db\/x" is not valid: must start with postgres:\/\/ or postgresql:\/\//,
    ],
    [{}, ['--port', '99999'], /^takedown: --port "99999" is not a port number \(0-65535\)\.\n$/],
  ])('%j %j', async (env, args, message) => {
    const result = await run(CLI, ['serve', ...args], {
      TAKEDOWN_DATA: await tempDir(),
      DATABASE_URL: undefined,
      ...env,
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says so when the port is taken', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    const data = await tempDir();
    try {
      const result = await run(CLI, ['serve', '--port', String(port)], {
        TAKEDOWN_DATA: data,
        DATABASE_URL: undefined,
        LOG_LEVEL: 'warn',
      });
      expect(result.stderr).toMatch(
        new RegExp(
          `^takedown: Port ${port} on 127\\.0\\.0\\.1 is already in use; choose another with --port or PORT\\.\\n$`,
          'm',
        ),
      );
      expect(result.code).toBe(1);
      expect(existsSync(path.join(data, 'pglite'))).toBe(false); // failed before touching the database
    } finally {
      blocker.close();
    }
  });
});
