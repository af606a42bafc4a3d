import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listen } from '../../src/api/server.js';
import type { RunningServer } from '../../src/api/server.js';
import type { ApiApp } from '../../src/api/types.js';
import { exportEntries, exportLine } from '../../src/banks/export.js';
import { createBank, getBank } from '../../src/banks/queries.js';
import { addProvider, createKey } from '../../src/providers/queries.js';
import { describeEachDatabase } from '../support/db.js';
import type { CheckHarness } from '../support/hash-check.js';
import { importLines, startCheckHarness } from '../support/hash-check.js';
import { takedown as run0 } from './cli.js';
import type { Storage } from './fixture.js';
import { BANK, CATEGORY, writeStorage } from './fixture.js';

/**
 * `takedown scan --server` against the real hash-check server: the API app
 * (`createApp` with every route module), its matcher loaded from banks in a
 * test database (PGlite and PostgreSQL), a provider's API key, served on
 * 127.0.0.1 by the server's own `listen`. A thin layer in front records
 * every request body as it arrived, for the privacy proof.
 */

interface Recorded {
  readonly path: string;
  readonly body: Buffer;
}

function recording(app: ApiApp, into: Recorded[]): ApiApp {
  return {
    fetch: async (request: Request, env: unknown) => {
      into.push({
        path: new URL(request.url).pathname,
        body: Buffer.from(await request.clone().arrayBuffer()),
      });
      return app.fetch(request, env);
    },
  } as unknown as ApiApp;
}

interface Report {
  complete: boolean;
  summary: Record<string, number>;
  rows: Array<Record<string, string | number>>;
}

describeEachDatabase('takedown scan against the real hash-check server', (t) => {
  let dir: string;
  let storage: Storage;
  let harness: CheckHarness;
  let server: RunningServer;
  let key: string;
  let slowKey: string;
  const requests: Recorded[] = [];
  const takedown = (args: string[], env: Record<string, string> = {}) =>
    run0(args, { cwd: dir, env });
  const matches = (report: Report) =>
    report.rows
      .filter((r) => r.status === 'match')
      .map((r) => ({ path: r.path, matchedBy: r.matchedBy, distance: r.distance }))
      .sort((a, b) => String(a.path).localeCompare(String(b.path)));
  const expected = () => [...storage.expected].sort((a, b) => a.path.localeCompare(b.path));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `takedown-real-${t.kind}-`));
    storage = await writeStorage(dir);
    await createBank(t.db, { name: BANK, category: CATEGORY, source: 'police' });
    await importLines(
      t.db,
      BANK,
      storage.bankEntries.map((e) => ({ type: e.type, value: e.value })),
    );
    await addProvider(t.db, { name: 'acme-hosting' });
    key = (await createKey(t.db, 'acme-hosting')).key;
    slowKey = (await createKey(t.db, 'acme-hosting', { hashesPerSecond: 200 })).key;
    harness = await startCheckHarness(t.db, { TAKEDOWN_CHECK_BURST_HASHES: '10000' });
    server = await listen(recording(harness.app, requests), { port: 0, host: '127.0.0.1' });
  }, 120_000);
  afterAll(async () => {
    await server?.close(1000);
    await harness?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the planted images and their near-duplicates, and receives nothing but hashes', async () => {
    requests.length = 0;
    const report = path.join(dir, 'real.json');
    const run = await takedown(['scan', storage.root, '--server', server.url, '--report', report], {
      TAKEDOWN_API_KEY: key,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const r = JSON.parse(await readFile(report, 'utf8')) as Report;
    expect(r.complete).toBe(true);
    expect(matches(r)).toEqual(expected());
    expect(r.rows.find((row) => row.status === 'match')).toMatchObject({
      bank: BANK,
      category: CATEGORY,
    });

    expect(requests.length).toBeGreaterThanOrEqual(1);
    const totalImageBytes = storage.imageBytes.reduce((n, b) => n + b.length, 0);
    let sent = 0;
    for (const request of requests) {
      expect(request.path).toBe('/v1/check');
      for (const magic of [Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('\x89PNG', 'latin1')]) {
        expect(request.body.includes(magic)).toBe(false);
      }
      const text = request.body.toString('utf8');
      for (const name of ['storage', 'customer', 'holiday', '.jpg', dir]) {
        expect(text).not.toContain(name);
      }
      const body = JSON.parse(text) as { hashes: Array<Record<string, string>> };
      expect(Object.keys(body)).toEqual(['hashes']);
      for (const hash of body.hashes) expect(Object.keys(hash)).toEqual(['type', 'value']);
      expect(request.body.length).toBeLessThanOrEqual(12 + body.hashes.length * 92);
      sent += request.body.length;
    }
    expect(sent).toBeLessThan(totalImageBytes / 50);
  });

  it('finds the same with the bank exported to a file (`takedown bank export` format), offline', async () => {
    const file = path.join(dir, 'export.jsonl');
    let text = '';
    for await (const entry of exportEntries(t.db, await getBank(t.db, BANK))) {
      text += exportLine(entry);
    }
    await writeFile(file, text);
    const report = path.join(dir, 'offline.json');
    const run = await takedown(['scan', storage.root, '--bank', file, '--report', report]);
    expect(run.code).toBe(1);
    const r = JSON.parse(await readFile(report, 'utf8')) as Report;
    expect(matches(r)).toEqual(expected());
  });

  it('sends --threshold, and the server applies it', async () => {
    requests.length = 0;
    const report = path.join(dir, 'strict.json');
    const run = await takedown(
      ['scan', storage.root, '--server', server.url, '--threshold', '3', '--report', report],
      { TAKEDOWN_API_KEY: key },
    );
    expect(run.code).toBe(1);
    expect(JSON.parse(requests[0].body.toString('utf8'))).toMatchObject({ threshold: 3 });
    const r = JSON.parse(await readFile(report, 'utf8')) as Report;
    expect(matches(r)).toEqual(expected().filter((e) => e.distance <= 3));
  });

  it('waits out the server rate limit (429 with Retry-After) and completes', async () => {
    // 3,500 small files: 10,500 exact hashes, beyond the key's burst of 10,000.
    const many = path.join(dir, 'many');
    await mkdir(many);
    await Promise.all(
      Array.from({ length: 3500 }, (_, i) =>
        writeFile(path.join(many, `note-${i}.txt`), `note ${i}\n`),
      ),
    );
    const run = await takedown(['scan', many, '--server', server.url, '--exact-only'], {
      TAKEDOWN_API_KEY: slowKey,
    });
    expect(run.stderr).toMatch(/asks to slow down \(429\): waiting \d+ s/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Files scanned\s*│\s*3,500/);
  });

  it('says plainly that a wrong key was refused, and exits 2', async () => {
    const run = await takedown(['scan', storage.root, '--server', server.url], {
      TAKEDOWN_API_KEY: 'tdk_not-a-real-key',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/refused the API key \(401/);
  });
});
