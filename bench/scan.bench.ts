/**
 * `npm run bench:scan`: `takedown scan` over a generated folder of 10,000
 * synthetic images (7 sizes from 200×150 to 1600×1200; 90% JPEG at
 * quality 60–95, 10% PNG), each pass a real CLI process, against
 * baselines over the same folder in the same run:
 *
 * - `sha256sum` (coreutils, one process via `find | xargs`), and the same
 *   spread over every core (`xargs -P`);
 * - `takedown scan --exact-only` (MD5 + SHA-1 + SHA-256, no decoding);
 * - `takedown scan` (exact hashes + PDQ);
 * - `takedown hash` (the same hashing, printed instead of checked).
 *
 * Both scans check against a bank file (2,000 unrelated entries plus the
 * hashes of three files of the folder), so matching and the report path
 * are part of the time. Passes are interleaved over the rounds, so load
 * from other users of the machine hits them alike; the tables give medians
 * and, for ratios, the median of the per-round ratios.
 *
 *   npm run bench:scan              # 3 rounds
 *   npm run bench:scan -- --rounds 5
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { hashBytes } from '../src/hash/file/hash-file.js';
import { rng, syntheticImage } from '../test/support/synthetic.js';
import type { RawImage } from '../test/support/synthetic.js';

const FILES = 10_000;
const SIZES: ReadonlyArray<readonly [number, number]> = [
  [200, 150],
  [320, 240],
  [640, 480],
  [800, 600],
  [1024, 768],
  [1280, 960],
  [1600, 1200],
];
const BASES_PER_SIZE = 6;
const PER_FOLDER = 500;
const ROOT = path.resolve('.bench/scan');
const DIR = path.join(ROOT, 'images');
const CLI = path.resolve('dist/src/cli/main.js');
const run = promisify(execFile);

const argRounds = process.argv.indexOf('--rounds');
const ROUNDS = argRounds > 0 ? Number(process.argv[argRounds + 1]) : 3;

/** File i: its size, base picture, format and encoding: a pure function of i, so reruns agree. */
function fileSpec(i: number) {
  const [width, height] = SIZES[i % SIZES.length];
  return {
    rel: path.join(
      `d${String(Math.floor(i / PER_FOLDER)).padStart(2, '0')}`,
      `img-${String(i).padStart(5, '0')}`,
    ),
    width,
    height,
    base: Math.floor(i / SIZES.length) % BASES_PER_SIZE,
    png: i % 10 === 0,
    quality: 60 + ((i * 7) % 36),
    // A brightness offset makes every file's bytes different from its siblings'.
    offset: ((i * 13) % 41) - 20,
  };
}

/** Writes the folder once (a few minutes); later runs reuse it. */
async function ensureImages(): Promise<void> {
  const marker = path.join(ROOT, `complete-${FILES}`);
  if (existsSync(marker)) return;
  console.error(`Writing ${FILES} synthetic images to ${DIR} (once)…`);
  await rm(DIR, { recursive: true, force: true });
  const bases = new Map<string, RawImage>();
  for (const [w, h] of SIZES) {
    for (let b = 0; b < BASES_PER_SIZE; b++)
      bases.set(`${w}x${h}/${b}`, syntheticImage(w, h, w * 31 + b));
  }
  let next = 0;
  const lane = async () => {
    while (next < FILES) {
      const spec = fileSpec(next++);
      const base = bases.get(`${spec.width}x${spec.height}/${spec.base}`) as RawImage;
      const file = path.join(DIR, `${spec.rel}.${spec.png ? 'png' : 'jpg'}`);
      await mkdir(path.dirname(file), { recursive: true });
      const image = sharp(base.data, {
        raw: { width: base.width, height: base.height, channels: 3 },
      }).linear(1, spec.offset);
      await (spec.png ? image.png() : image.jpeg({ quality: spec.quality })).toFile(file);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  await writeFile(marker, '');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out.sort();
}

/** 2,000 unrelated hashes, plus the hashes of three files of the folder. */
async function writeBank(files: string[]): Promise<string> {
  const random = rng(7);
  const hex = (digits: number) =>
    Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    lines.push(
      JSON.stringify({ type: 'pdq', value: hex(64), bank: 'bench', category: 'baseline' }),
    );
    lines.push(
      JSON.stringify({ type: 'sha256', value: hex(64), bank: 'bench', category: 'baseline' }),
    );
  }
  for (const file of [files[1], files[500], files[9001]]) {
    const h = await hashBytes(await readFile(file));
    lines.push(JSON.stringify({ type: 'pdq', value: h.pdq, bank: 'bench', category: 'baseline' }));
    lines.push(
      JSON.stringify({ type: 'sha256', value: h.sha256, bank: 'bench', category: 'baseline' }),
    );
  }
  const bank = path.join(ROOT, 'bank.jsonl');
  await writeFile(bank, `${lines.join('\n')}\n`);
  return bank;
}

interface Sample {
  readonly wall: number;
  /** User + system CPU seconds of the process and its children (GNU time). */
  readonly cpu: number;
}

/** Runs a shell command under GNU time in `cwd`; its exit code must be one of `ok`. */
async function timed(command: string, cwd: string, ok: readonly number[] = [0]): Promise<Sample> {
  const times = path.join(cwd, 'time.txt');
  const started = performance.now();
  try {
    await run('/usr/bin/time', ['-f', '%U %S', '-o', times, 'sh', '-c', command], {
      cwd,
      maxBuffer: 1 << 26,
    });
  } catch (error) {
    const code = (error as { code?: number }).code ?? -1;
    if (!ok.includes(code)) throw error;
  }
  const wall = (performance.now() - started) / 1000;
  const [user, system] = (await readFile(times, 'utf8'))
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  return { wall, cpu: user + system };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first.`);
  await mkdir(ROOT, { recursive: true });
  await ensureImages();
  const files = await listFiles(DIR);
  if (files.length !== FILES)
    throw new Error(`${DIR} holds ${files.length} files, expected ${FILES}`);
  const bytes = (await Promise.all(files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);
  const bank = await writeBank(files);
  const cwd = await mkdtemp(path.join(tmpdir(), 'takedown-bench-scan-'));
  const cores = availableParallelism();
  const q = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  const node = q(process.execPath);
  const passes: Record<string, () => Promise<Sample>> = {
    sha256sum: () => timed(`find ${q(DIR)} -type f -print0 | xargs -0 sha256sum > /dev/null`, cwd),
    sha256sumAll: () =>
      timed(
        `find ${q(DIR)} -type f -print0 | xargs -0 -P ${cores} -n 250 sha256sum > /dev/null`,
        cwd,
      ),
    // Exit 1: the three planted files match.
    exactOnly: () =>
      timed(
        `${node} ${q(CLI)} scan ${q(DIR)} --bank ${q(bank)} --exact-only > /dev/null`,
        cwd,
        [1],
      ),
    pdq: () => timed(`${node} ${q(CLI)} scan ${q(DIR)} --bank ${q(bank)} > /dev/null`, cwd, [1]),
    hash: () => timed(`${node} ${q(CLI)} hash ${q(DIR)} > /dev/null`, cwd),
  };
  const loadBefore = loadavg()[0];
  // Warm the page cache (every pass then reads from memory), and each program once.
  await timed(`find ${q(DIR)} -type f -print0 | xargs -0 cat > /dev/null`, cwd);
  await passes.sha256sum();
  await passes.exactOnly();
  const samples: Record<string, Sample[]> = Object.fromEntries(
    Object.keys(passes).map((k) => [k, []]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, pass] of Object.entries(passes)) {
      const sample = await pass();
      samples[name].push(sample);
      console.error(
        `round ${round + 1}/${ROUNDS} ${name}: ${sample.wall.toFixed(2)} s wall, ${sample.cpu.toFixed(2)} s CPU`,
      );
    }
  }
  await rm(cwd, { recursive: true, force: true });

  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  const wall = (name: string) => median(samples[name].map((s) => s.wall));
  const cpu = (name: string) => median(samples[name].map((s) => s.cpu));
  const ratio = (a: string, b: string) =>
    median(samples[a].map((s, i) => s.wall / samples[b][i].wall));
  const row = (label: string, name: string, vs?: string) =>
    `| ${label} | ${f2(wall(name))} | ${f1(FILES / wall(name))} | ${f2(cpu(name))} | ${f2((cpu(name) * 1000) / FILES)} | ${vs ? f2(ratio(name, vs)) : '–'} |`;
  const out = [
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}).`,
    `Load average (1 min) before/after: ${f2(loadBefore)} / ${f2(loadavg()[0])} (the machine is shared; anything above 0 takes cores from this run).`,
    `Data: ${FILES} synthetic images in ${Math.ceil(FILES / PER_FOLDER)} folders, ${SIZES.map(([w, h]) => `${w}×${h}`).join(', ')} in equal shares, 90% JPEG (quality 60–95), 10% PNG; ${f1(bytes / 1e6)} MB, in the page cache. Medians of ${ROUNDS} interleaved rounds.`,
    '',
    '| pass | wall s | files/s | CPU s (all threads) | CPU ms per file | time ÷ baseline, same round |',
    '|---|---:|---:|---:|---:|---:|',
    row('baseline: `sha256sum` (one process, `find \\| xargs`)', 'sha256sum'),
    row(
      `baseline: \`sha256sum\` on ${cores} cores (\`xargs -P ${cores}\`)`,
      'sha256sumAll',
      'sha256sum',
    ),
    row(
      '**`takedown scan --exact-only`** (MD5 + SHA-1 + SHA-256, all cores)',
      'exactOnly',
      'sha256sum',
    ),
    row('**`takedown scan`** (exact + PDQ, all cores)', 'pdq', 'hash'),
    row('`takedown hash` (exact + PDQ, all cores, printed)', 'hash'),
    '',
    `Exact-only ÷ one-process sha256sum: ${f2(ratio('exactOnly', 'sha256sum'))} (target ≤ 1.5). Exact-only ÷ sha256sum on all cores: ${f2(ratio('exactOnly', 'sha256sumAll'))}.`,
    `PDQ scan throughput ÷ \`takedown hash\` throughput: ${f2(1 / ratio('pdq', 'hash'))} (target ≥ 1.0).`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  await writeFile(path.join(ROOT, 'last-result.md'), `${out.join('\n')}\n`);
}

await main();
