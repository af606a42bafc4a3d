import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseFormat } from '../src/cli/commands/hash.js';
import { DIHEDRAL_NAMES } from '../src/hash/pdq-dct.js';
import { pdq } from '../src/hash/pdq.js';
import type { ImageSet } from './support/image-files.js';
import { hasHeifEnc, writeImageSet } from './support/image-files.js';
import { CLI, childEnv } from './support/processes.js';
import { noiseImage } from './support/synthetic.js';

/** `takedown hash` as a user runs it: the built CLI in a child process. */
const exec = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function takedown(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], {
      env: childEnv(env),
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

let dir: string;
let good: string;
let set: ImageSet;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first.`);
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-cli-'));
  good = path.join(dir, 'good');
  await mkdir(path.join(good, 'nested'), { recursive: true });
  set = await writeImageSet(good, { withExtensions: false });
  await writeFile(path.join(good, 'nested', 'notes.txt'), 'not an image\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('takedown hash output', () => {
  it('writes jsonl when piped: one record per file, in walk order, exit 0', async () => {
    const run = await takedown(['hash', good]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const records = lines(run.stdout);
    const paths = records.map((r) => r.path as string);
    expect(paths).toEqual([...paths].sort());
    expect(paths).toContain(path.join(good, 'nested', 'notes.txt'));
    expect(records).toHaveLength(Object.keys(set.files).length + 1);
    const png = records.find((r) => r.path === set.files.png);
    expect(Object.keys(png ?? {})).toEqual([
      'path',
      'bytes',
      'md5',
      'sha1',
      'sha256',
      'format',
      'pdq',
      'pdqQuality',
    ]);
    expect(png?.pdq).toBe(pdq(set.base).hash);
    expect(records.find((r) => r.format === undefined)?.path).toMatch(/notes\.txt$/);
  });

  it('--variants adds the eight dihedral hashes', async () => {
    const run = await takedown(['hash', '--variants', set.files.png]);
    expect(lines(run.stdout)[0].pdqVariants).toEqual(pdq(set.base, { variants: true }).variants);
  });

  it('--format csv: a header, the variant columns, parseable rows', async () => {
    const run = await takedown(['hash', '--format', 'csv', '--variants', good]);
    expect(run.code).toBe(0);
    const rows = parse(run.stdout, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(Object.keys(set.files).length + 1);
    const png = rows.find((r) => r.path === set.files.png);
    expect(png?.pdq).toBe(pdq(set.base).hash);
    for (const name of DIHEDRAL_NAMES)
      expect(png?.[`pdqVariants.${name}`]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--format tsv: tab-separated with a header', async () => {
    const run = await takedown(['hash', '--format', 'tsv', set.files.jpeg, set.files.png]);
    const [header, ...rows] = run.stdout.trim().split('\n');
    expect(header.split('\t').slice(0, 8)).toEqual([
      'path',
      'bytes',
      'md5',
      'sha1',
      'sha256',
      'format',
      'pdq',
      'pdqQuality',
    ]);
    expect(rows.map((r) => r.split('\t')[0])).toEqual([set.files.jpeg, set.files.png]);
  });

  it('--pdq-semantics cli hashes as the reference tool does', async () => {
    // Noise: smooth synthetic scenes can hash alike under both semantics.
    const large = noiseImage(900, 700, 21);
    const file = path.join(dir, 'large.png');
    const sharp = (await import('sharp')).default;
    await sharp(large.data, { raw: { width: 900, height: 700, channels: 3 } })
      .png()
      .toFile(file);
    const cli = lines((await takedown(['hash', '--pdq-semantics', 'cli', file])).stdout)[0];
    const full = lines((await takedown(['hash', file])).stdout)[0];
    expect(cli.pdq).toBe(pdq(large, { semantics: 'cli' }).hash);
    expect(full.pdq).toBe(pdq(large).hash);
    expect(cli.pdq).not.toBe(full.pdq);
  });

  it('--jobs 1 and --jobs 3 give identical output', async () => {
    const one = await takedown(['hash', '--jobs', '1', good]);
    const three = await takedown(['hash', '--jobs', '3', good]);
    expect(three.stdout).toBe(one.stdout);
  });

  it('streams thousands of files in order', async () => {
    const many = path.join(dir, 'many');
    await mkdir(many);
    const names = Array.from({ length: 2000 }, (_, i) => `f${String(i).padStart(5, '0')}`);
    await Promise.all(names.map((name) => writeFile(path.join(many, name), name)));
    const run = await takedown(['hash', many]);
    expect(run.code).toBe(0);
    expect(lines(run.stdout).map((r) => path.basename(r.path as string))).toEqual(names);
  });
});

describe('takedown hash exit codes', () => {
  it('1 when some files fail, each failure in the output, a summary on stderr', async () => {
    const bad = path.join(dir, 'bad');
    await mkdir(bad);
    await writeFile(path.join(bad, 'empty'), '');
    await writeFile(path.join(bad, 'ok.txt'), 'fine');
    const run = await takedown(['hash', bad, path.join(dir, 'does-not-exist')]);
    expect(run.code).toBe(1);
    expect(lines(run.stdout).map((r) => (r.error as { code?: string } | undefined)?.code)).toEqual([
      'empty-file',
      undefined,
      'not-found',
    ]);
    expect(run.stderr).toMatch(/2 of 3 files could not be hashed/);
  });

  it.skipIf(!hasHeifEnc())('keeps decoder chatter off stdout (a damaged HEIC)', async () => {
    const whole = await readFile(set.files.heic);
    const damaged = path.join(dir, 'damaged.heic');
    await writeFile(damaged, whole.subarray(0, whole.length >> 1));
    const run = await takedown(['hash', damaged, set.files.heic]);
    expect(run.code).toBe(1);
    // Every line parses: libheif's console.log did not leak into the JSON.
    const records = lines(run.stdout);
    expect(records.map((r) => (r.error as { code?: string } | undefined)?.code)).toEqual([
      'corrupt-image',
      undefined,
    ]);
    expect(run.stderr).not.toMatch(/Decoding image failed/);
  });

  it('1 for an image over --max-pixels', async () => {
    const run = await takedown(['hash', '--max-pixels', '1000', set.files.jpeg]);
    expect(run.code).toBe(1);
    expect((lines(run.stdout)[0].error as { code: string }).code).toBe('image-too-large');
  });

  it.each([
    [['hash', '--format', 'xml', 'x'], /argument 'xml' is invalid/],
    [['hash', '--pdq-semantics', 'other', 'x'], /Allowed choices are fullres, cli/],
    [['hash', '--jobs', '0', 'x'], /at least 1/],
    [['hash', '--jobs', 'many', 'x'], /at least 1/],
    [['hash', '--max-pixels', '-5', 'x'], /at least 1|unknown option/],
    [['hash', '--no-such-option', 'x'], /unknown option/],
    [['hash'], /missing required argument/],
  ])('2 for bad usage: %j', async (args, message) => {
    const run = await takedown(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });

  it('2 for a bad TAKEDOWN_MAX_PIXELS', async () => {
    const run = await takedown(['hash', good], { TAKEDOWN_MAX_PIXELS: 'lots' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/TAKEDOWN_MAX_PIXELS/);
  });

  it('stops quietly when the reader goes away (| head -1)', async () => {
    const child = spawn(process.execPath, [CLI, 'hash', path.join(dir, 'many'), good], {
      env: childEnv(),
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/Error|at /);
  });
});

describe('on a terminal', () => {
  it('defaults to a table on a TTY and jsonl otherwise; --format wins', () => {
    expect(chooseFormat(undefined, true)).toBe('table');
    expect(chooseFormat(undefined, false)).toBe('jsonl');
    expect(chooseFormat('csv', true)).toBe('csv');
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'shows a table and a progress bar under a pseudo-terminal',
    async () => {
      const command = [process.execPath, CLI, 'hash', good].map((a) => `'${a}'`).join(' ');
      const { stdout } = await exec('script', ['-qec', command, '/dev/null'], {
        env: { ...process.env, COLUMNS: '200' },
      });
      expect(stdout).toContain('PATH');
      expect(stdout).toContain('SHA-256');
      expect(stdout).toContain(pdq(set.base).hash);
      expect(stdout).not.toContain('{"path"');
      expect(stdout).toMatch(/files \| [\d.]+\/s \| ETA/);
      expect(stdout).toMatch(/Hashed \d+ files in/);
    },
  );
});
