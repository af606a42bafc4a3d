import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processes.js';
import type { CheckServer } from './check-server.js';
import { startCheckServer } from './check-server.js';
import { takedown as run0 } from './cli.js';
import type { Storage } from './fixture.js';
import { BANK, CATEGORY, writeStorage } from './fixture.js';

/**
 * `takedown scan <dir> --server`: the client side of the hash-check API
 * against a loopback stand-in that follows the API's contract and can be
 * told to fail (429, 5xx, a wrong key, down), recording every body it gets.
 * The same scan against the real server: real-server.test.ts.
 */

const KEY = 'provider-key-0123456789';

interface Report {
  complete: boolean;
  incomplete?: string;
  summary: Record<string, number>;
  rows: Array<Record<string, string | number>>;
}

let dir: string;
let storage: Storage;
let server: CheckServer;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-scan-'));
  storage = await writeStorage(dir);
  server = await startCheckServer({ key: KEY, entries: storage.bankEntries });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every scan runs in the test's folder, so state files never land in the repository. */
const takedown = (args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) =>
  run0(args, { cwd: dir, ...options });

const readReport = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Report;
const matches = (report: Report) =>
  report.rows
    .filter((r) => r.status === 'match')
    .map((r) => ({ path: r.path, matchedBy: r.matchedBy, distance: r.distance }))
    .sort((a, b) => String(a.path).localeCompare(String(b.path)));
const expectedMatches = () => [...storage.expected].sort((a, b) => a.path.localeCompare(b.path));

describe('takedown scan <dir> --server URL', () => {
  it('matches the same files and sends the server nothing but hashes', async () => {
    server.requests.length = 0;
    const report = path.join(dir, 'server-run.json');
    const run = await takedown(['scan', storage.root, '--server', server.url, '--report', report], {
      env: { TAKEDOWN_API_KEY: KEY },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const r = await readReport(report);
    expect(matches(r)).toEqual(expectedMatches());
    expect(r.rows.find((row) => row.matchedBy === 'sha256')).toMatchObject({
      bank: BANK,
      category: CATEGORY,
    });

    // The privacy proof: every byte the server received.
    expect(server.requests.length).toBeGreaterThanOrEqual(1);
    const imageMagic = [
      Buffer.from([0xff, 0xd8, 0xff]),
      Buffer.from('\x89PNG', 'latin1'),
      Buffer.from('JFIF'),
      Buffer.from('IHDR'),
    ];
    let hashesSent = 0;
    for (const request of server.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
      for (const magic of imageMagic) expect(request.body.includes(magic)).toBe(false);
      const text = request.body.toString('utf8');
      for (const name of ['storage', 'customer', 'holiday', 'uploads', '.jpg', '.png', dir]) {
        expect(text).not.toContain(name);
      }
      const body = JSON.parse(text) as { hashes: Array<Record<string, string>> };
      expect(Object.keys(body)).toEqual(['hashes']);
      for (const hash of body.hashes) {
        expect(Object.keys(hash)).toEqual(['type', 'value']);
        expect(hash.value).toMatch(/^[0-9a-f]{32,64}$/);
      }
      // Proportional to the number of hashes: at most ~90 bytes per hash, nothing else.
      expect(request.body.length).toBeLessThanOrEqual(12 + body.hashes.length * 92);
      hashesSent += body.hashes.length;
    }
    const totalImageBytes = storage.imageBytes.reduce((n, b) => n + b.length, 0);
    const totalSent = server.requests.reduce((n, q) => n + q.body.length, 0);
    expect(totalSent).toBeLessThan(totalImageBytes / 50);
    expect(r.summary).toMatchObject({ hashesSent, requests: server.requests.length });
  });

  it('--dry-run lists what would be read and contacts nobody', async () => {
    server.requests.length = 0;
    const run = await takedown(
      [
        'scan',
        storage.root,
        '--server',
        server.url,
        '--dry-run',
        '--report',
        path.join(dir, 'dry.json'),
      ],
      {
        env: { TAKEDOWN_API_KEY: KEY },
        cwd: dir,
      },
    );
    expect(run.code).toBe(0);
    const listed = run.stdout.trim().split('\n');
    expect(listed).toHaveLength(storage.fileCount);
    expect(listed).toContain(path.join(storage.root, 'customer-a', 'uploads', 'holiday.jpg'));
    expect(run.stderr).toMatch(
      new RegExp(`would read ${storage.fileCount} files .*Nothing was hashed, checked or sent`),
    );
    expect(server.requests).toHaveLength(0);
    expect(existsSync(path.join(dir, 'dry.json'))).toBe(false);
    expect(existsSync(path.join(dir, 'dry.state.jsonl'))).toBe(false);
  });

  it('waits as a 429 asks, then completes', async () => {
    server.requests.length = 0;
    server.script.push({ status: 429, headers: { 'retry-after': '1' } });
    const run = await takedown(['scan', storage.root, '--server', server.url, '--key', KEY]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('asks to slow down (429): waiting 1 s');
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
    expect(server.requests[1].at - server.requests[0].at).toBeGreaterThanOrEqual(950);
  });

  it('retries a failing server (5xx) and completes', async () => {
    server.script.push({ status: 503 }, { status: 502 });
    const run = await takedown([
      'scan',
      storage.root,
      '--server',
      server.url,
      '--key',
      KEY,
      '--retries',
      '3',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/did not answer \(HTTP 503\): trying again/);
  });

  it('says so when the key is refused, and exits 2', async () => {
    const run = await takedown(['scan', storage.root, '--server', server.url, '--key', 'wrong'], {
      cwd: dir,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/refused the API key \(401: That key is not valid\.\)/);
    expect(run.stdout).toContain('INCOMPLETE');
  });

  it('exits 2 when the server is down, keeps the state, and --resume finishes once it is back', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const report = path.join(dir, 'down.json');
    const run = await takedown([
      'scan',
      storage.root,
      '--server',
      down,
      '--key',
      KEY,
      '--retries',
      '1',
      '--report',
      report,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/could not be used \(ECONNREFUSED; 2 attempts\)/);
    expect(run.stderr).toContain('--resume');
    const r = await readReport(report);
    expect(r.complete).toBe(false);
    expect(r.incomplete).toMatch(/could not be used/);
    const state = path.join(dir, 'down.state.jsonl');
    expect(existsSync(state)).toBe(true);

    const resumed = await takedown([
      'scan',
      storage.root,
      '--server',
      server.url,
      '--key',
      KEY,
      '--report',
      report,
      '--resume',
    ]);
    expect(resumed.code).toBe(1);
    const done = await readReport(report);
    expect(done.complete).toBe(true);
    expect(matches(done)).toEqual(expectedMatches());
    expect(existsSync(state)).toBe(false);
  });
});
