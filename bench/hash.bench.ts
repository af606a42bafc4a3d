/**
 * `npm run bench:hash`: end-to-end hashing speed (read + decode + MD5/SHA-1/
 * SHA-256 + PDQ) on 200 synthetic ~1-megapixel JPEGs, against baselines
 * measured in the same run, and the PDQ core's time per image at four sizes.
 * Prints Markdown tables (copied into BENCHMARKS.md).
 *
 * Numbers on a shared machine drift: compare ratios to the same-run
 * baselines, run it more than once, and read the CPU time per image, which
 * other users of the machine barely move (wall-clock rates they halve).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { rng, syntheticImage } from '../test/support/synthetic.js';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../src/hash/file/decode.js';
import { hashFile } from '../src/hash/file/hash-file.js';
import { hashFiles } from '../src/hash/file/hash-files.js';
import { HashWorkerPool } from '../src/hash/file/pool.js';
import { pdq } from '../src/hash/pdq.js';

const IMAGES = 200;
const WIDTH = 1216;
const HEIGHT = 832;
const ROUNDS = 5;
const DIR = path.resolve('.bench/hash');
const SELF = fileURLToPath(import.meta.url);
const run = promisify(execFile);

/** Writes the JPEGs once; later runs reuse them (same seeds, same files). */
async function ensureImages(): Promise<string[]> {
  await mkdir(DIR, { recursive: true });
  const files = Array.from({ length: IMAGES }, (_, i) =>
    path.join(DIR, `synthetic-${String(i).padStart(3, '0')}.jpg`),
  );
  const quality = rng(2026);
  for (const [i, file] of files.entries()) {
    const q = 70 + Math.floor(quality() * 26); // drawn even when cached, to keep seeds aligned
    if (existsSync(file)) continue;
    const image = syntheticImage(WIDTH, HEIGHT, 1000 + i);
    await sharp(image.data, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
      .jpeg({ quality: q })
      .toFile(file);
  }
  return files;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** One pass over all files: wall-clock rate, and CPU time of every thread of this process. */
interface Sample {
  readonly rate: number;
  /** User + system CPU milliseconds per image; undefined when the work ran in another process. */
  readonly cpuMs: number | undefined;
}
type Pass = () => Promise<Sample>;

function timed(files: string[], once: () => Promise<void>, inProcess = true): Pass {
  return async () => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await once();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    return {
      rate: files.length / seconds,
      cpuMs: inProcess ? (used.user + used.system) / 1000 / files.length : undefined,
    };
  };
}

/**
 * Runs every pass once to warm up, then ROUNDS rounds of all passes in turn,
 * so that load from other users of the machine hits them alike.
 */
async function interleaved(passes: Record<string, Pass>): Promise<Record<string, Sample[]>> {
  const samples: Record<string, Sample[]> = {};
  for (const [name, pass] of Object.entries(passes)) {
    await pass();
    samples[name] = [];
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, pass] of Object.entries(passes)) samples[name].push(await pass());
  }
  return samples;
}

/**
 * The full `takedown hash` path. Without a pool, each pass starts its own
 * (as one CLI run does: worker start-up and JIT warm-up included); with one,
 * the pool is already warm (the steady state of a long scan).
 */
function endToEnd(files: string[], jobs: number, pool?: HashWorkerPool): Pass {
  return timed(files, async () => {
    let images = 0;
    const records = hashFiles(files, pool ? { hasher: pool } : { jobs });
    for await (const record of records) if (record.pdq) images++;
    if (images !== files.length) throw new Error(`only ${images} of ${files.length} hashed`);
  });
}

/** Baseline: read each file and decode it to RGB with sharp, `concurrency` at a time, nothing else. */
function decodeOnly(files: string[], concurrency: number): Pass {
  return timed(files, async () => {
    let next = 0;
    const lane = async () => {
      while (next < files.length) {
        const bytes = await readFile(files[next++]);
        await sharp(bytes).removeAlpha().raw().toBuffer();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  });
}

/** Baseline: this thread, one file at a time: read, decode, PDQ; nothing else. */
function decodeAndPdq(files: string[]): Pass {
  return timed(files, async () => {
    for (const file of files) {
      pdq(await decodeImage(await readFile(file), { maxPixels: DEFAULT_MAX_PIXELS }));
    }
  });
}

/** The same work through hashFile (adds sniffing, the three digests, checks): its overhead. */
function hashFileInThread(files: string[]): Pass {
  return timed(files, async () => {
    for (const file of files) if (!(await hashFile(file)).pdq) throw new Error(`no PDQ: ${file}`);
  });
}

/** Baseline: coreutils sha256sum over the same files (one process, one core). */
function sha256sum(files: string[]): Pass {
  return timed(
    files,
    async () => {
      await run('sha256sum', files, { maxBuffer: 1 << 24 });
    },
    false,
  );
}

/**
 * PDQ core only: decode once, then time pdq() alone after warm-up; median
 * wall-clock and median CPU time (nothing else runs in this process then).
 */
async function pdqCore(width: number, height: number, runs: number): Promise<[number, number]> {
  const image = syntheticImage(width, height, width * 7 + height);
  const jpeg = await sharp(image.data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  const decoded = await decodeImage(jpeg, { maxPixels: DEFAULT_MAX_PIXELS });
  for (let i = 0; i < Math.max(5, runs / 4); i++) pdq(decoded);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    pdq(decoded);
    wall.push(performance.now() - started);
    const used = process.cpuUsage(cpuBefore);
    cpu.push((used.user + used.system) / 1000);
  }
  return [median(wall), median(cpu)];
}

function canPin(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}

/** One end-to-end pass with 1 warm worker in a child process restricted to CPU 0. */
function pinnedEndToEnd(): Pass {
  return async () => {
    const { stdout } = await run('taskset', ['-c', '0', process.execPath, SELF, '--child']);
    return JSON.parse(stdout) as Sample;
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    // A warm pool: one pass to warm it up, then the timed pass.
    const files = await ensureImages();
    const pool = new HashWorkerPool({ jobs: 1 });
    const pass = endToEnd(files, 1, pool);
    await pass();
    process.stdout.write(`${JSON.stringify(await pass())}\n`);
    await pool.close();
    return;
  }
  const cores = availableParallelism();
  const files = await ensureImages();
  const loadBefore = loadavg()[0];
  const megabytes =
    (await Promise.all(files.map((f) => readFile(f)))).reduce((n, b) => n + b.length, 0) / 1e6;
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);

  const warmOne = new HashWorkerPool({ jobs: 1 });
  const warmAll = new HashWorkerPool({ jobs: cores });
  const samples = await interleaved({
    e2eOne: endToEnd(files, 1),
    e2eOneWarm: endToEnd(files, 1, warmOne),
    decodeOne: decodeOnly(files, 1),
    e2eAll: endToEnd(files, cores),
    e2eAllWarm: endToEnd(files, cores, warmAll),
    decodeAll: decodeOnly(files, cores * 2),
    bare: decodeAndPdq(files),
    hashFile: hashFileInThread(files),
    sha: sha256sum(files),
    ...(canPin() ? { pinned: pinnedEndToEnd() } : {}),
  });
  await Promise.all([warmOne.close(), warmAll.close()]);
  const rate = (name: string) => f1(median(samples[name].map((s) => s.rate)));
  const cpuMs = (name: string) => {
    const values = samples[name].map((s) => s.cpuMs).filter((v) => v !== undefined);
    return values.length ? f2(median(values)) : '–';
  };
  const perCpuSecond = (name: string) => {
    const values = samples[name].map((s) => s.cpuMs).filter((v) => v !== undefined);
    return values.length ? f1(1000 / median(values)) : '–';
  };
  /** Median over rounds of the ratio of rates within each round. */
  const ratio = (a: string, b: string) =>
    f2(median(samples[a].map((s, i) => s.rate / samples[b][i].rate)));

  const sizes: Array<[string, number, number, number]> = [
    ['64×64', 64, 64, 2000],
    ['512×512', 512, 512, 300],
    ['1216×832 (1 MP)', 1216, 832, 100],
    ['4032×3024 (12 MP)', 4032, 3024, 15],
  ];
  const core: Array<[string, [number, number]]> = [];
  for (const [label, w, h, runs] of sizes) core.push([label, await pdqCore(w, h, runs)]);

  const row = (label: string, name: string, vs?: string) =>
    `| ${label} | ${rate(name)} | ${cpuMs(name)} | ${perCpuSecond(name)} | ${vs ? ratio(name, vs) : '–'} |`;
  const out = [
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}).`,
    `Load average (1 min) before/after: ${f2(loadBefore)} / ${f2(loadavg()[0])} (the machine is shared; anything above 0 takes cores from this run).`,
    `Data: ${IMAGES} synthetic ${WIDTH}×${HEIGHT} JPEGs, quality 70–95, ${f1(megabytes)} MB in total. Medians of ${ROUNDS} interleaved rounds after a warm-up round.`,
    '',
    '| pass | images/s (wall) | CPU ms per image (all threads) | images per CPU-second | rate ÷ decode-only, same round |',
    '|---|---:|---:|---:|---:|',
    row('**end to end**, 1 worker, warm pool', 'e2eOneWarm', 'decodeOne'),
    ...(samples.pinned
      ? [row('**end to end**, 1 worker, warm pool, pinned to CPU 0 (one core)', 'pinned')]
      : []),
    row(`**end to end**, ${cores} workers (all cores), warm pool`, 'e2eAllWarm', 'decodeAll'),
    row('end to end, 1 worker, pool started per pass (one CLI run)', 'e2eOne', 'decodeOne'),
    row(`end to end, ${cores} workers, pool started per pass (one CLI run)`, 'e2eAll', 'decodeAll'),
    row('baseline: read + sharp decode to RGB only, 1 at a time', 'decodeOne'),
    row(`baseline: read + sharp decode to RGB only, ${cores * 2} at a time`, 'decodeAll'),
    row('baseline: read + decode + PDQ only, one at a time, this thread', 'bare'),
    row('hashFile one at a time, this thread (+ sniffing, MD5/SHA-1/SHA-256)', 'hashFile', 'bare'),
    row('baseline: sha256sum (coreutils, one process)', 'sha'),
    '',
    '| PDQ core after decode (pdq() only, one thread) | median wall ms/image | median CPU ms/image |',
    '|---|---:|---:|',
    ...core.map(([label, [wall, cpu]]) => `| ${label} | ${f2(wall)} | ${f2(cpu)} |`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  await writeFile(path.join(DIR, 'last-result.md'), `${out.join('\n')}\n`);
}

await main();
