import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/hash/file/hash-file.js';
import { syntheticImage } from '../support/synthetic.js';
import { startTakedown, takedown } from './cli.js';

/**
 * `--resume` after a real `takedown scan` process is killed with SIGKILL
 * mid-scan: the state file holds every file finished before the kill, and
 * the resumed scan does not read those files again. The witness is each
 * file's access time: every file is given an access time in 2001 and a
 * fixed modification time, so any read moves its access time (relatime
 * updates it when it is older than the modification time), while the
 * resume check (size and modification time) is unaffected.
 */

const FILES = 120;
const OLD_ATIME = new Date('2001-01-01T00:00:00Z');
const MTIME = new Date('2024-01-01T00:00:00Z');

let dir: string;
let root: string;
let files: string[];
let bank: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-resume-'));
  root = path.join(dir, 'storage');
  await mkdir(root);
  files = [];
  // 24 pictures, each saved at five qualities: 120 different files.
  for (let i = 0; i < FILES / 5; i++) {
    const image = syntheticImage(1024, 768, 3000 + i);
    for (let q = 0; q < 5; q++) {
      const file = path.join(root, `img-${String(i * 5 + q).padStart(3, '0')}.jpg`);
      await sharp(image.data, { raw: { width: 1024, height: 768, channels: 3 } })
        .jpeg({ quality: 60 + q * 8 })
        .toFile(file);
      files.push(file);
    }
  }
  // The bank lists the first file (finished before any kill) and the last.
  const first = await hashBytes(await readFile(files[0]));
  const last = await hashBytes(await readFile(files[FILES - 1]));
  bank = path.join(dir, 'bank.jsonl');
  await writeFile(
    bank,
    [first, last]
      .map((h) => JSON.stringify({ type: 'sha256', value: h.sha256, bank: 'b', category: 'c' }))
      .join('\n'),
  );
  for (const file of files) await utimes(file, OLD_ATIME, MTIME);
}, 180_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entries = (text: string) =>
  text
    .split('\n')
    .slice(1)
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as { key: string });

describe('takedown scan --resume', () => {
  it('continues after SIGKILL without reading the files finished before it', async () => {
    const report = path.join(dir, 'scan.json');
    const state = path.join(dir, 'scan.state.jsonl');
    const args = ['scan', root, '--bank', bank, '--report', report, '--jobs', '1'];
    const first = startTakedown(args, { cwd: dir });
    // Kill it once a good part of the files is done, the rest still to do.
    for (let waited = 0; ; waited += 20) {
      const done = existsSync(state) ? entries(await readFile(state, 'utf8')).length : 0;
      if (done >= 25) break;
      if (waited > 60_000) throw new Error(`the scan finished only ${done} files in a minute`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill('SIGKILL');
    expect((await first.done).code).toBe('SIGKILL');
    expect(existsSync(report)).toBe(false);

    const saved = await readFile(state, 'utf8');
    const finished = new Set(entries(saved).map((e) => e.key));
    expect(finished.size).toBeGreaterThanOrEqual(25);
    expect(finished.size).toBeLessThan(FILES);
    expect(finished.has(files[0])).toBe(true);
    // Every file read in the first run has a new access time: set them back.
    for (const file of files) await utimes(file, OLD_ATIME, MTIME);

    const second = await takedown([...args, '--resume'], { cwd: dir });
    expect(second.stderr).toContain(
      `Resuming the scan in ${state}: ${finished.size} items are done`,
    );
    expect(second.code).toBe(1);
    const result = JSON.parse(await readFile(report, 'utf8')) as {
      complete: boolean;
      summary: Record<string, number>;
      rows: Array<Record<string, string>>;
    };
    expect(result.complete).toBe(true);
    expect(result.summary).toMatchObject({
      found: FILES,
      resumed: finished.size,
      hashed: FILES - finished.size,
    });
    // Matches come from both runs: the first file's hashes from the state, the last file's fresh.
    expect(
      result.rows
        .filter((r) => r.status === 'match')
        .map((r) => r.path)
        .sort(),
    ).toEqual([files[0], files[FILES - 1]]);

    const read = files.filter((file) => statSync(file).atimeMs > OLD_ATIME.getTime());
    expect(read.filter((file) => finished.has(file))).toEqual([]);
    // The witness works: every file not finished before the kill was read.
    expect(read.sort()).toEqual(files.filter((file) => !finished.has(file)).sort());
    // The state is gone now that the scan is complete.
    expect(existsSync(state)).toBe(false);
  }, 180_000);

  it('refuses to resume a different scan', async () => {
    const state = path.join(dir, 'other.state.jsonl');
    await writeFile(
      state,
      `${JSON.stringify({ takedownScanState: 1, source: { kind: 'folders', roots: ['/elsewhere'] }, mode: 'pdq', since: null, sinceAt: null, startedAt: '2025-01-01T00:00:00Z' })}\n`,
    );
    const run = await takedown(['scan', root, '--bank', bank, '--state', state, '--resume'], {
      cwd: dir,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/belongs to another scan: it scans \/elsewhere/);
  });
});
