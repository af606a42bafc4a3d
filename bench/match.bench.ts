/**
 * `npm run bench:match [-- --n 1000000,10000000 --queries 4000 --hma]`: the
 * PDQ index on N uniform random 256-bit codes (seeded, generated here), with
 * queries half planted near-duplicates (a stored code with 1-30 bits
 * flipped) and half random. Reports build time, memory, single-thread
 * queries/second and p99 at radius 31, exactness against a brute-force scan
 * of the same data in the same run (and the speed-up over it), cold start
 * from a snapshot, add/remove visibility, and the rate of worker threads
 * sharing the index. Prints a Markdown table (copied into BENCHMARKS.md).
 *
 * Other users share this machine: every rate is measured in interleaved
 * rounds (median reported) and the comparisons are ratios within the run.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HitBuffer, scanCodes } from '../src/match/codes.js';
import { PdqIndex } from '../src/match/index.js';
import {
  compactInBackground,
  PdqSearchPool,
  readPdqSnapshot,
  writePdqSnapshot,
} from '../src/match/node/index.js';
import { nearCode, randomCodes, uint32Source } from '../src/match/synthetic-codes.js';

interface Options {
  sizes: number[];
  queries: number;
  scans: number;
  rounds: number;
  hma: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const sizes = (value('--n') ?? '1000000,10000000')
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('--n takes sizes like 1000000,10000000');
  return {
    sizes,
    queries: Number(value('--queries') ?? 4000),
    scans: Number(value('--scans') ?? 100),
    rounds: Number(value('--rounds') ?? 3),
    hma: argv.includes('--hma'),
  };
}

const RADIUS = 31;
const DIR = path.resolve('.bench/match');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const now = () => performance.now();
/** Seconds of this process's CPU time since `from` (all threads). */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};

interface Rate {
  qps: number;
  /** Queries per second of this process's CPU time: what one core does when it is not shared. */
  cpuQps: number;
  p99ms: number;
}

/** Queries/second and p99 latency of one pass of `search` over `queries`. */
function pass(index: { search: PdqIndex['search'] }, queries: Uint32Array[]): Rate {
  const times: number[] = [];
  const started = now();
  const cpu = process.cpuUsage();
  for (const q of queries) {
    const t = now();
    index.search(q, { radius: RADIUS });
    times.push(now() - t);
  }
  const used = process.cpuUsage(cpu);
  return {
    qps: queries.length / ((now() - started) / 1000),
    cpuQps: queries.length / ((used.user + used.system) / 1e6),
    p99ms: quantile(times, 0.99),
  };
}

/** Rounds of every named pass in turn, so load from other users hits them alike; medians. */
function interleaved(passes: Record<string, () => Rate>, rounds: number): Record<string, Rate> {
  const seen: Record<string, Rate[]> = {};
  for (const [name, run] of Object.entries(passes)) {
    run(); // warm-up
    seen[name] = [];
  }
  for (let r = 0; r < rounds; r++)
    for (const [name, run] of Object.entries(passes)) seen[name].push(run());
  const pick = (rs: Rate[], key: keyof Rate) => median(rs.map((x) => x[key]));
  return Object.fromEntries(
    Object.entries(seen).map(([name, rs]) => [
      name,
      { qps: pick(rs, 'qps'), cpuQps: pick(rs, 'cpuQps'), p99ms: pick(rs, 'p99ms') },
    ]),
  );
}

/** The brute-force scan (what BruteForcePdqMatcher runs), over the same codes: ids are positions here. */
function scan(codes: Uint32Array, n: number, q: Uint32Array): { id: number; distance: number }[] {
  const hits = new HitBuffer();
  scanCodes(codes, 0, n, q, RADIUS, hits);
  const out = Array.from({ length: hits.length }, (_, i) => ({
    id: hits.pos[i],
    distance: hits.dist[i],
  }));
  return out.sort((a, b) => a.distance - b.distance || a.id - b.id);
}

/**
 * Worker-pool throughput: batches of 50, two batches in flight per thread.
 * Also per CPU-second of the whole process (main thread included): if two
 * threads cost no more CPU per query than one, two free cores give twice the rate.
 */
async function poolRate(pool: PdqSearchPool, queries: Uint32Array[]): Promise<Rate> {
  const batches: Uint32Array[][] = [];
  for (let at = 0; at < queries.length; at += 50) batches.push(queries.slice(at, at + 50));
  let next = 0;
  const started = now();
  const cpu = process.cpuUsage();
  const lane = async () => {
    while (next < batches.length) await pool.searchMany(batches[next++], { radius: RADIUS });
  };
  await Promise.all(Array.from({ length: pool.threads * 2 }, lane));
  const used = process.cpuUsage(cpu);
  return {
    qps: queries.length / ((now() - started) / 1000),
    cpuQps: queries.length / ((used.user + used.system) / 1e6),
    p99ms: NaN,
  };
}

interface Data {
  codes: Uint32Array;
  ids: Uint32Array;
  near: Uint32Array[];
  planted: { source: number; flips: number }[];
  random: Uint32Array[];
  next: () => number;
}

/** The same seeded codes and queries for a given N, in this process and in a child. */
function makeData(n: number, o: Options): Data {
  const next = uint32Source(20_260_000 + n);
  const codes = randomCodes(n, next);
  const ids = Uint32Array.from({ length: n }, (_, i) => i);
  const near: Uint32Array[] = [];
  const planted: { source: number; flips: number }[] = [];
  for (let i = 0; i < o.queries; i++) {
    const source = next() % n;
    const flips = 1 + (next() % 30);
    near.push(nearCode(codes, source, flips, next));
    planted.push({ source, flips });
  }
  const random = Array.from({ length: o.queries }, () => randomCodes(1, next));
  return { codes, ids, near, planted, random, next };
}

/** Transparent huge pages backing this process's memory, in MiB (Linux). */
function hugePagesMiB(): number {
  try {
    const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const HUGE = 'glibc.malloc.hugetlb=1';
const SELF = fileURLToPath(import.meta.url);

/**
 * The single-thread rates with the other huge-page setting, in a child
 * process (glibc reads GLIBC_TUNABLES once, at start).
 */
async function otherSetting(
  n: number,
  o: Options,
): Promise<{ huge: boolean; near: Rate; random: Rate }> {
  const huge = process.env.GLIBC_TUNABLES !== HUGE;
  const env = { ...process.env };
  if (huge) env.GLIBC_TUNABLES = HUGE;
  else delete env.GLIBC_TUNABLES;
  const args = ['--max-old-space-size=8192', SELF, '--child', '--n', String(n)];
  args.push('--queries', String(o.queries), '--rounds', String(o.rounds));
  const { stdout } = await promisify(execFile)(process.execPath, args, { env, maxBuffer: 1 << 20 });
  return { huge, ...(JSON.parse(stdout) as { near: Rate; random: Rate }) };
}

/** `--child`: build and time single-thread searches only; JSON on standard output. */
function childRates(n: number, o: Options): void {
  const { ids, codes, near, random } = makeData(n, o);
  const index = PdqIndex.fromCodes(ids, codes, { shared: true });
  const rates = interleaved(
    { near: () => pass(index, near), random: () => pass(index, random) },
    o.rounds,
  );
  process.stdout.write(JSON.stringify(rates));
}

async function benchSize(n: number, o: Options): Promise<Record<string, string>> {
  const row: Record<string, string> = {};
  const { codes, ids, near, planted, random, next } = makeData(n, o);

  let t = now();
  let cpu = process.cpuUsage();
  const index = PdqIndex.fromCodes(ids, codes, { shared: true });
  row['Build: s (CPU s)'] = `${((now() - t) / 1000).toFixed(1)} (${cpuSince(cpu).toFixed(1)})`;
  const stats = index.stats();
  row['Codes + index (MiB)'] = (stats.bytes / 2 ** 20).toFixed(0);
  row['Memory per hash (B)'] = (stats.bytes / n).toFixed(1);
  row['Chunks (bits)'] = stats.parts.map((p) => p.chunks?.join('·') ?? 'scan').join(' + ');

  const rates = interleaved(
    { near: () => pass(index, near), random: () => pass(index, random) },
    o.rounds,
  );
  row['Near-duplicate queries/s, 1 thread (per CPU-second)'] =
    `${rates.near.qps.toFixed(0)} (${rates.near.cpuQps.toFixed(0)})`;
  row['Near-duplicate p99 (ms)'] = rates.near.p99ms.toFixed(2);
  row['Random queries/s, 1 thread (per CPU-second)'] =
    `${rates.random.qps.toFixed(0)} (${rates.random.cpuQps.toFixed(0)})`;
  row['Random p99 (ms)'] = rates.random.p99ms.toFixed(2);
  row['Transparent huge pages in use (MiB)'] = hugePagesMiB().toFixed(0);
  const other = await otherSetting(n, o);
  row[
    `Same, ${other.huge ? 'with' : 'without'} huge pages (child process): near / random q/s per CPU-second`
  ] = `${other.near.cpuQps.toFixed(0)} / ${other.random.cpuQps.toFixed(0)}`;

  // Exactness: every planted source is found at its distance (all queries), and
  // the full answer equals the scan's on a sample (both kinds).
  let missed = 0;
  near.forEach((q, i) => {
    const hit = index.search(q).find((m) => m.id === planted[i].source);
    if (hit?.distance !== planted[i].flips) missed++;
  });
  const sample = [...near.slice(0, o.scans / 2), ...random.slice(0, o.scans / 2)];
  let wanted = 0;
  let found = 0;
  let differing = 0;
  const scanTimes: number[] = [];
  const indexTimes: number[] = [];
  for (const q of sample) {
    t = now();
    const want = scan(codes, n, q);
    scanTimes.push(now() - t);
    t = now();
    const got = index.search(q);
    indexTimes.push(now() - t);
    wanted += want.length;
    found += want.filter((w) => got.some((g) => g.id === w.id && g.distance === w.distance)).length;
    if (JSON.stringify(got) !== JSON.stringify(want)) differing++;
  }
  const scanQps = sample.length / (scanTimes.reduce((a, b) => a + b, 0) / 1000);
  const sampleQps = sample.length / (indexTimes.reduce((a, b) => a + b, 0) / 1000);
  row['Recall vs brute-force scan'] =
    `${((100 * found) / wanted).toFixed(1)}% (${found}/${wanted}; ${differing} of ${sample.length} answers differ; planted missed: ${missed}/${near.length})`;
  row['Brute-force scan queries/s (same run)'] = scanQps.toFixed(1);
  row['Speed-up over the scan'] = `${(sampleQps / scanQps).toFixed(0)}×`;

  mkdirSync(DIR, { recursive: true });
  const file = path.join(DIR, `pdq-${n}.snap`);
  t = now();
  const bytes = writePdqSnapshot(file, index, { n });
  row['Snapshot write (s)'] =
    `${((now() - t) / 1000).toFixed(1)} (${(bytes / 2 ** 20).toFixed(0)} MiB)`;
  t = now();
  cpu = process.cpuUsage();
  const loaded = readPdqSnapshot(file, { shared: true });
  const cold = (now() - t) / 1000;
  const coldCpu = cpuSince(cpu);
  if (loaded.kind !== 'loaded') throw new Error(`snapshot ${loaded.kind}`);
  for (const q of sample.slice(0, 20)) {
    if (JSON.stringify(loaded.value.index.search(q)) !== JSON.stringify(index.search(q)))
      throw new Error('snapshot answers differ');
  }
  row['Cold start from snapshot: s (CPU s)'] =
    `${cold.toFixed(1)} (${coldCpu.toFixed(1)}; file in page cache)`;
  rmSync(file);

  const mixed = near.flatMap((q, i) => [q, random[i]]);
  const one = await PdqSearchPool.start(index, { threads: 1 });
  const two = await PdqSearchPool.start(index, { threads: 2 });
  const pools: Record<string, Rate[]> = { inThread: [], one: [], two: [] };
  await poolRate(one, mixed);
  await poolRate(two, mixed);
  for (let r = 0; r < o.rounds; r++) {
    pools.inThread.push(pass(index, mixed));
    pools.one.push(await poolRate(one, mixed));
    pools.two.push(await poolRate(two, mixed));
  }
  const poolVisible: number[] = [];
  for (let i = 0; i < 200; i++) {
    const code = randomCodes(1, next);
    t = now();
    index.add(n + 20_000 + i, code);
    if ((await two.search(code, { radius: 0 }))[0]?.id !== n + 20_000 + i)
      throw new Error('add not visible to the pool');
    poolVisible.push(now() - t);
  }
  row['Add → visible to worker threads, p99 (ms)'] = quantile(poolVisible, 0.99).toFixed(2);
  await one.close();
  await two.close();
  const ratios = pools.two.map((x, i) => x.qps / pools.one[i].qps);
  const summary = (key: 'qps' | 'cpuQps') =>
    [pools.inThread, pools.one, pools.two]
      .map((rs) => median(rs.map((x) => x[key])).toFixed(0))
      .join(' / ');
  row['Mixed queries/s: this thread / 1 worker / 2 workers'] = summary('qps');
  row['… per CPU-second of the process'] = summary('cpuQps');
  row['2 workers ÷ 1 worker'] = `${median(ratios).toFixed(2)}×`;

  // Visibility: the time from calling add/remove until a search reflects it,
  // over enough adds to freeze the delta into parts (and merge them) a few times.
  const addTimes: number[] = [];
  const removeTimes: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const code = randomCodes(1, next);
    t = now();
    index.add(n + i, code);
    if (index.search(code, { radius: 0 })[0]?.id !== n + i) throw new Error('add not visible');
    addTimes.push(now() - t);
    if (i % 10 === 0) {
      t = now();
      index.remove(n + i);
      if (index.search(code, { radius: 0 }).length !== 0) throw new Error('remove not visible');
      removeTimes.push(now() - t);
    }
  }
  row['Add → visible, p50 / p99 / max (ms)'] = [0.5, 0.99, 1]
    .map((q) => quantile(addTimes, q).toFixed(2))
    .join(' / ');
  row['Remove → visible, p50 / p99 / max (ms)'] = [0.5, 0.99, 1]
    .map((q) => quantile(removeTimes, q).toFixed(2))
    .join(' / ');

  const churned = interleaved({ random: () => pass(index, random) }, o.rounds);
  row['Random queries/s after those adds (per CPU-second)'] =
    `${churned.random.qps.toFixed(0)} (${churned.random.cpuQps.toFixed(0)}; ${index.stats().parts.length} parts + delta)`;

  // Back to one part on a worker thread, while this thread keeps searching.
  t = now();
  let finished = false;
  const compaction = compactInBackground(index).then(() => {
    finished = true;
  });
  let during = 0;
  let worst = 0;
  while (!finished) {
    const q = random[during++ % random.length];
    const started = now();
    index.search(q, { radius: RADIUS });
    worst = Math.max(worst, now() - started);
    if (during % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await compaction;
  const took = (now() - t) / 1000;
  row['Compaction on a worker thread: s, searches meanwhile (q/s, slowest ms)'] =
    `${took.toFixed(1)}, ${(during / took).toFixed(0)}, ${worst.toFixed(1)} (${index.stats().parts.length} part)`;

  if (o.hma) {
    // The same code with HMA's fixed layout (16 chunks of 16 bits): the layout decision, measured.
    t = now();
    const hma = PdqIndex.fromCodes(ids, codes, { chunkWidths: Array(16).fill(16) });
    const built = (now() - t) / 1000;
    const subset = mixed.slice(0, 400);
    const r = interleaved(
      { planned: () => pass(index, subset), hma: () => pass(hma, subset) },
      o.rounds,
    );
    row["HMA's 16×16 layout, same code: build s / MiB / q/s per CPU-second"] =
      `${built.toFixed(1)} / ${(hma.stats().bytes / 2 ** 20).toFixed(0)} / ${r.hma.cpuQps.toFixed(0)} (planned layout: ${r.planned.cpuQps.toFixed(0)})`;
  }
  return row;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (process.argv.includes('--child')) return childRates(o.sizes[0], o);
  const load = loadavg()[0];
  const columns: Record<string, Record<string, string>> = {};
  for (const n of o.sizes) {
    process.stderr.write(`N = ${n.toLocaleString('en')}...\n`);
    columns[n] = await benchSize(n, o);
    process.stderr.write(`${JSON.stringify(columns[n], null, 1)}\n`);
  }
  const names = Object.keys(columns[o.sizes[0]]);
  const head = o.sizes.map((n) => `N = ${n.toLocaleString('en')}`);
  const lines = [
    `${cpus()[0].model}, ${cpus().length} cores, Node ${process.version}; load average ${load.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end; radius ${RADIUS}; GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? '(unset)'}; ${o.queries} near-duplicate + ${o.queries} random queries, median of ${o.rounds} interleaved rounds.`,
    '',
    `| | ${head.join(' | ')} |`,
    `|---|${head.map(() => '---').join('|')}|`,
    ...names.map(
      (name) => `| ${name} | ${o.sizes.map((n) => columns[n][name] ?? '').join(' | ')} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
