import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takedown as run0 } from './cli.js';
import type { Storage } from './fixture.js';
import { BANK, CATEGORY, writeStorage } from './fixture.js';

/**
 * `takedown scan <dir>` end to end: the built CLI over a folder with
 * synthetic known images and their near-duplicates planted in it, checked
 * against a bank file (the server's side: cli-scan-server.test.ts, and
 * real-server.test.ts against the real hash-check API).
 */

interface Report {
  complete: boolean;
  incomplete?: string;
  summary: Record<string, number>;
  rows: Array<Record<string, string | number>>;
}

let dir: string;
let storage: Storage;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-scan-'));
  storage = await writeStorage(dir);
}, 120_000);
afterAll(async () => {
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

describe('takedown scan <dir> --bank FILE', () => {
  it('finds the planted originals by exact hash and their near-duplicates by PDQ, and exits 1', async () => {
    const report = path.join(dir, 'bank-run.json');
    const run = await takedown(
      ['scan', storage.root, '--bank', storage.bankFile, '--report', report],
      {
        cwd: dir,
      },
    );
    expect(run.stderr).toContain('Loaded 10 hashes');
    expect(run.stderr).toContain('1 video-tmk');
    expect(run.code).toBe(1);
    const r = await readReport(report);
    expect(r.complete).toBe(true);
    expect(matches(r)).toEqual(expectedMatches());
    // Every near-duplicate is within the threshold, and none is a byte-for-byte copy.
    for (const e of storage.expected.filter((x) => x.matchedBy === 'pdq')) {
      expect(e.distance).toBeGreaterThan(0);
      expect(e.distance).toBeLessThanOrEqual(31);
    }
    const match = r.rows.find((row) => row.status === 'match' && row.matchedBy === 'sha256');
    expect(match).toMatchObject({ bank: BANK, category: CATEGORY, format: 'jpeg' });
    expect(match?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(match?.pdq).toMatch(/^[0-9a-f]{64}$/);
    const problems = Object.fromEntries(
      r.rows
        .filter((row) => row.status !== 'match')
        .map((row) => [path.basename(String(row.path)), `${row.status} ${row.errorCode}`]),
    );
    expect(problems).toEqual({
      'damaged.jpg': 'error corrupt-image',
      'empty.dat': 'skipped empty-file',
      loop: 'skipped symlink-loop',
      pipe: 'skipped not-a-file',
    });
    expect(r.summary).toMatchObject({
      found: storage.fileCount + 2,
      hashed: storage.fileCount,
      // Recognised by content, the damaged JPEG included; the text file and the empty file not.
      images: 12,
      pdq: 11,
      matchedItems: 5,
      matches: 5,
      errors: 1,
      skipped: 3,
    });
    // The terminal summary, and no state left behind by a complete scan.
    expect(run.stdout).toMatch(/Matched\s*│\s*5 files \(5 matches\)/);
    expect(run.stdout).toContain('holiday.jpg');
    expect(existsSync(path.join(dir, 'bank-run.state.jsonl'))).toBe(false);
  });

  it('writes the same rows as CSV', async () => {
    const report = path.join(dir, 'bank-run.csv');
    const run = await takedown([
      'scan',
      storage.root,
      '--bank',
      storage.bankFile,
      '--report',
      report,
    ]);
    expect(run.code).toBe(1);
    const rows = parse(await readFile(report, 'utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(Object.keys(rows[0])).toEqual([
      'status',
      'path',
      'url',
      'page',
      'bytes',
      'format',
      'md5',
      'sha1',
      'sha256',
      'pdq',
      'pdqQuality',
      'matchedBy',
      'bank',
      'category',
      'distance',
      'errorCode',
      'errorMessage',
    ]);
    const csvMatches = rows
      .filter((row) => row.status === 'match')
      .map((row) => ({ path: row.path, matchedBy: row.matchedBy, distance: Number(row.distance) }))
      .sort((a, b) => a.path.localeCompare(b.path));
    expect(csvMatches).toEqual(expectedMatches());
  });

  it('--exact-only finds byte-for-byte copies only, without decoding', async () => {
    const report = path.join(dir, 'exact.json');
    const run = await takedown([
      'scan',
      storage.root,
      '--bank',
      storage.bankFile,
      '--exact-only',
      '--report',
      report,
    ]);
    expect(run.code).toBe(1);
    const r = await readReport(report);
    expect(matches(r).map((m) => path.basename(String(m.path)))).toEqual(['holiday.jpg']);
    expect(r.rows.every((row) => row.pdq === undefined)).toBe(true);
    // Recognised as images by content all the same; the damaged JPEG is no error without decoding.
    expect(r.summary).toMatchObject({ images: 12, pdq: 0, errors: 0 });
  });

  it('exits 0 when nothing matches', async () => {
    const clean = path.join(dir, 'clean-bank.jsonl');
    await writeFile(
      clean,
      `${JSON.stringify({ type: 'md5', value: '0'.repeat(32), bank: 'b' })}\n`,
    );
    const run = await takedown(['scan', storage.root, '--bank', clean]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Matched\s*│\s*none/);
  });
});

describe('what is not a complete scan, and what is', () => {
  it('exits 2 when a folder to scan cannot be read', async () => {
    const report = path.join(dir, 'missing.json');
    const run = await takedown([
      'scan',
      storage.root,
      path.join(dir, 'no-such-folder'),
      '--bank',
      storage.bankFile,
      '--report',
      report,
    ]);
    expect(run.code).toBe(2);
    const r = await readReport(report);
    expect(r).toMatchObject({ complete: false });
    expect(r.incomplete).toContain('no-such-folder');
    // The rest was scanned all the same.
    expect(matches(r)).toEqual(expectedMatches());
  });

  it('exits 2 on bad usage, with what to do', async () => {
    expect((await takedown(['scan', storage.root])).stderr).toMatch(
      /--server URL .* or --bank FILE/,
    );
    expect(
      (await takedown(['scan', storage.root, '--server', 'http://127.0.0.1:9'])).stderr,
    ).toMatch(/TAKEDOWN_API_KEY/);
    const bad = await takedown([
      'scan',
      storage.root,
      '--bank',
      storage.bankFile,
      '--report',
      'x.txt',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--report-format/);
  });
});

describe('--since', () => {
  it('reads only files changed since the time', async () => {
    const since = new Date(Date.now() + 1500);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const changed = path.join(storage.root, 'customer-b', 'reupload.jpg');
    const bytes = await readFile(changed);
    await writeFile(changed, bytes);
    // An old modification time does not hide a file whose inode changed (ctime).
    const restored = path.join(storage.root, 'customer-a', 'photo-1.jpg');
    await utimes(restored, new Date('2020-01-01'), new Date('2020-01-01'));

    const dry = await takedown([
      'scan',
      storage.root,
      '--bank',
      storage.bankFile,
      '--since',
      since.toISOString(),
      '--dry-run',
    ]);
    expect(dry.stdout.trim().split('\n').sort()).toEqual([restored, changed].sort());

    const report = path.join(dir, 'since.json');
    const run = await takedown([
      'scan',
      storage.root,
      '--bank',
      storage.bankFile,
      '--since',
      since.toISOString(),
      '--report',
      report,
    ]);
    expect(run.code).toBe(1);
    const r = await readReport(report);
    expect(r.summary).toMatchObject({ hashed: 2, unchanged: storage.fileCount - 2 });
    expect(matches(r).map((m) => m.path)).toEqual([changed]);
  });
});
