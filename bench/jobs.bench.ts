/**
 * `npm run bench:jobs [-- --jobs 5000 --rounds 3 --concurrency 16,64 --postgres <url>]`:
 * throughput of the job runner with a trivial handler (it only returns), so
 * the numbers are the queue's own cost per job: claim, lease, complete.
 *
 * - enqueue: `queue.enqueue` one job at a time (what intake does per report);
 * - run: N jobs inserted at once into an otherwise empty table, then drained
 *   by already-running workers; jobs/s from the insert until the table is empty.
 *   PGlite: one runner in this process (the embedded database is one
 *   process's). PostgreSQL: 1 and 2 worker processes (this file with
 *   `--worker`), each with its own connection pool, as separate machines.
 *
 * Besides wall-clock rates (which this shared 2-core machine lowers when
 * others are busy), the run is given per CPU-second of the worker
 * process(es): for PGlite that includes the database, for PostgreSQL it is
 * the client side only (the server's own CPU is not counted).
 *
 * PostgreSQL is DATABASE_URL / --postgres, or else a throw-away cluster as
 * the tests start one (test/support/postgres-cluster.ts: in /dev/shm, fsync
 * off): queue costs, not disk flushes. Medians of the rounds are printed as
 * a Markdown table for BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { createJobQueue, defineJob, startJobRunner } from '../src/jobs/index.js';
import { createLogger } from '../src/log.js';
import type { Database } from '../src/store/database.js';
import { openDatabase } from '../src/store/index.js';
import { startCluster } from '../test/support/postgres-cluster.js';

type BenchJobs = Record<string, { n: number }>;
const JOB = 'bench-noop';
const SELF = fileURLToPath(import.meta.url);
const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', 'bench-jobs');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Options {
  jobs: number;
  rounds: number;
  /** Runs at once per worker; each value is measured. */
  concurrency: number[];
  enqueues: number;
  postgres: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  return {
    jobs: Number(value('--jobs') ?? 5000),
    rounds: Number(value('--rounds') ?? 3),
    concurrency: (value('--concurrency') ?? '16,64').split(',').map(Number),
    enqueues: Number(value('--enqueues') ?? 1000),
    postgres: value('--postgres') ?? (process.env.DATABASE_URL || undefined),
  };
}

const noop = defineJob<BenchJobs>({ name: JOB, handler: async () => undefined });

function runner(db: Kysely<Database>, concurrency: number) {
  return startJobRunner<BenchJobs>({
    db,
    queue: createJobQueue<BenchJobs>(),
    jobs: [noop],
    logger,
    concurrency,
    pollMs: 100,
    leaseMs: 30_000,
  });
}

/** `--worker <url> <concurrency>`: a worker process for the PostgreSQL runs. */
async function worker(url: string, concurrency: number): Promise<void> {
  const db = await openDatabase(
    { dataDir: tmpdir(), databaseUrl: url, dbPoolSize: 4, shutdownGraceMs: 1_000 },
    { logger, migrate: false },
  );
  const jobs = runner(db, concurrency);
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    void jobs.stop(1_000).then(() => db.destroy());
  });
}

async function insertBacklog(db: Kysely<Database>, count: number): Promise<void> {
  await sql`insert into job (name, payload)
            select ${JOB}, jsonb_build_object('n', n) from generate_series(1, ${count}) as n`.execute(
    db,
  );
}

async function drained(db: Kysely<Database>): Promise<void> {
  for (;;) {
    const { rows } = await sql<{
      left: number;
    }>`select count(*) as left from job where name = ${JOB}`.execute(db);
    if (rows[0].left === 0) return;
    await sleep(20);
  }
}

/** jobs/s of `count` one-at-a-time enqueues. */
async function enqueueRate(db: Kysely<Database>, count: number): Promise<number> {
  const queue = createJobQueue<BenchJobs>();
  const started = performance.now();
  for (let n = 0; n < count; n += 1) await queue.enqueue(db, `${JOB}-enqueue`, { n });
  const rate = count / ((performance.now() - started) / 1000);
  await db.deleteFrom('job').where('name', '=', `${JOB}-enqueue`).execute();
  return rate;
}

/** CPU seconds used so far by processes (this one when `pids` is empty), from /proc. */
function cpuSeconds(pids: readonly number[]): number {
  if (pids.length === 0) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  let ticks = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return ticks / 100; // USER_HZ
}

interface Rate {
  /** Wall clock: what this machine did, with whatever else was running. */
  perSecond: number;
  /** Per CPU-second of the runner process(es): independent of other load. */
  perCpuSecond: number;
}

/** Drains a backlog of `count` with runners already waiting. */
async function drainRate(
  db: Kysely<Database>,
  count: number,
  pids: readonly number[],
): Promise<Rate> {
  const cpu = cpuSeconds(pids);
  const started = performance.now();
  await insertBacklog(db, count);
  await drained(db);
  return {
    perSecond: count / ((performance.now() - started) / 1000),
    perCpuSecond: count / (cpuSeconds(pids) - cpu),
  };
}

async function startWorkers(url: string, n: number, concurrency: number): Promise<ChildProcess[]> {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, [SELF, '--worker', url, String(concurrency)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.stdout?.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('ready')) resolve();
          });
          child.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
        }),
    ),
  );
  return children;
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.on('exit', () => resolve());
          child.stdin?.end();
        }),
    ),
  );
}

const rates = (run: Rate[]) => ({
  run: median(run.map((r) => r.perSecond)),
  runCpu: median(run.map((r) => r.perCpuSecond)),
});

interface Row {
  database: string;
  workers: string;
  concurrency: number;
  enqueue: number;
  run: number;
  runCpu: number;
}

async function benchPglite(o: Options): Promise<Row[]> {
  const dataDir = await fs.mkdtemp(path.join('/dev/shm', 'takedown-bench-jobs-'));
  const db = await openDatabase(
    { dataDir, databaseUrl: undefined, dbPoolSize: 1, shutdownGraceMs: 1_000 },
    { logger },
  );
  const rows: Row[] = [];
  try {
    const enqueue: number[] = [];
    for (let r = 0; r < o.rounds; r += 1) enqueue.push(await enqueueRate(db, o.enqueues));
    for (const concurrency of o.concurrency) {
      const jobs = runner(db, concurrency);
      const run: Rate[] = [];
      await drainRate(db, Math.min(o.jobs, 500), []); // warm-up
      for (let r = 0; r < o.rounds; r += 1) run.push(await drainRate(db, o.jobs, []));
      await jobs.stop();
      const [database, workers] = ['PGlite (embedded)', '1 (in process)'];
      rows.push({ database, workers, concurrency, enqueue: median(enqueue), ...rates(run) });
    }
  } finally {
    await db.destroy();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
  return rows;
}

async function benchPostgres(o: Options, url: string): Promise<Row[]> {
  const db = await openDatabase(
    { dataDir: tmpdir(), databaseUrl: url, dbPoolSize: 4, shutdownGraceMs: 1_000 },
    { logger },
  );
  const rows: Row[] = [];
  try {
    const enqueue: number[] = [];
    for (let r = 0; r < o.rounds; r += 1) enqueue.push(await enqueueRate(db, o.enqueues));
    for (const concurrency of o.concurrency) {
      for (const processes of [1, 2]) {
        const children = await startWorkers(url, processes, concurrency);
        const pids = children.map((child) => child.pid as number);
        const run: Rate[] = [];
        await drainRate(db, Math.min(o.jobs, 500), pids); // warm-up
        for (let r = 0; r < o.rounds; r += 1) run.push(await drainRate(db, o.jobs, pids));
        await stopWorkers(children);
        const workers = `${processes} process${processes > 1 ? 'es' : ''}`;
        rows.push({
          database: 'PostgreSQL 15',
          workers,
          concurrency,
          enqueue: median(enqueue),
          ...rates(run),
        });
      }
    }
  } finally {
    await db.destroy();
  }
  return rows;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--worker') return worker(argv[1], Number(argv[2]));
  const o = parseOptions(argv);
  console.error(
    `jobs bench: ${o.jobs} jobs x ${o.rounds} rounds, concurrency ${o.concurrency.join(' and ')}, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}`,
  );
  const rows = await benchPglite(o);
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  let url = o.postgres;
  if (url === undefined) {
    cluster = await startCluster();
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    await admin.query('create database bench_jobs');
    await admin.end();
    url = cluster.url('bench_jobs');
  }
  try {
    rows.push(...(await benchPostgres(o, url)));
  } finally {
    await cluster?.stop();
  }
  console.log(
    '| database | worker processes | runs at once per worker | enqueue, one at a time (jobs/s) | run, trivial handler (jobs/s) | run, per CPU-second of the worker(s) |',
  );
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.database} | ${r.workers} | ${r.concurrency} | ${Math.round(r.enqueue)} | ${Math.round(r.run)} | ${Math.round(r.runCpu)} |`,
    );
  console.error(`load at the end: ${loadavg()[0].toFixed(2)}`);
}

await main();
