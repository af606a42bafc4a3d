/**
 * `npm run bench:pipeline [-- --pages 10000 --rate 100 --db both|postgres|pglite
 *   --concurrency 32 --workers 0 --postgres <url>]`
 *
 * The automatic half of the pipeline, end to end, as deployed: a loopback
 * image-host site (bench/pipeline-site.ts: 16 hosts, N pages of 1-5
 * synthetic JPEG/PNG images, 30% of them in a bank) in its own process; a
 * real `takedown serve` (API + pipeline) in another, plus `--workers` extra
 * `takedown worker` processes; this process submits every page as a public
 * report (POST /v1/reports) at `--rate` per second (0: as fast as it can)
 * and watches the database until every case is classified or queued.
 *
 * Latency of a report = when its case was done (the last of its items
 * classified or queued, from the database clock) minus when the report was
 * stored. Throughput = reports / (last done - first stored).
 *
 * PostgreSQL: DATABASE_URL / --postgres, or else a throw-away cluster as the
 * tests start one (test/support/postgres-cluster.ts: /dev/shm, fsync off).
 * Media goes to a temporary folder under /dev/shm when there is one.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { importEntries } from '../src/banks/import.js';
import { createBank } from '../src/banks/queries.js';
import { createLogger } from '../src/log.js';
import type { Database } from '../src/store/database.js';
import { openDatabase } from '../src/store/index.js';
import { startCluster } from '../test/support/postgres-cluster.js';
import { makeTempDir } from '../test/support/temp.js';
import { ensureSite, pageHost, serveSite } from './pipeline-site.js';
import type { SiteManifest } from './pipeline-site.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const CACHE = path.join(ROOT, '.bench/pipeline');
const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', 'bench-pipeline');
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Options {
  readonly pages: number;
  readonly rate: number;
  readonly dbs: ReadonlyArray<'postgres' | 'pglite'>;
  readonly concurrency: number;
  readonly workers: number;
  readonly postgres: string | undefined;
  /** --profile <dir>: V8 CPU profiles of the Takedown processes go there. */
  readonly profile: string | undefined;
  /** --hash-threads <n>: TAKEDOWN_HASH_THREADS for the Takedown processes (default: theirs). */
  readonly hashThreads: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const db = value('--db') ?? 'both';
  return {
    pages: Number(value('--pages') ?? 10_000),
    rate: Number(value('--rate') ?? 100),
    dbs: db === 'both' ? ['postgres', 'pglite'] : [db as 'postgres' | 'pglite'],
    concurrency: Number(value('--concurrency') ?? 32),
    workers: Number(value('--workers') ?? 0),
    postgres: value('--postgres') ?? (process.env.DATABASE_URL || undefined),
    profile: value('--profile'),
    hashThreads: value('--hash-threads'),
  };
}

interface Result {
  readonly database: string;
  readonly processes: string;
  readonly reports: number;
  readonly rejected: Record<string, number>;
  readonly submitSeconds: number;
  /** How long POST /v1/reports took to answer, p50 and p99 (ms). */
  readonly intakeP50: number;
  readonly intakeP99: number;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly items: Record<string, number>;
  readonly expectedKnown: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
  readonly nodeCpuSeconds: number;
  /** PostgreSQL only: CPU of the server backends serving this database. */
  readonly pgCpuSeconds: number | undefined;
  /** PostgreSQL only: transactions committed or rolled back in this database (one per statement outside a transaction). */
  readonly pgTransactions: number | undefined;
  readonly load: [number, number];
}

/** user+system CPU seconds of a process so far (Linux /proc). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** user+system CPU seconds so far of each thread of a process, summed by thread name (Linux /proc). */
function threadCpu(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  if (pid === undefined) return byName;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      // The main thread is named after the program; workers, libuv's pool and V8's helpers by role.
      const key = tid === String(pid) ? 'event loop' : name;
      byName.set(key, (byName.get(key) ?? 0) + seconds);
    }
  } catch {
    // the process is gone
  }
  return byName;
}

function child(args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  void fs.open(logFile, 'a').then((handle) => {
    const stream = handle.createWriteStream();
    proc.stderr?.pipe(stream);
  });
  return proc;
}

function waitFor(
  proc: ChildProcess,
  pattern: RegExp,
  timeoutMs = 180_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}`)),
      timeoutMs,
    );
    proc.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = pattern.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    proc.once('exit', (code) => reject(new Error(`exited (${code}) before ${pattern}`)));
  });
}

async function stopChild(proc: ChildProcess | undefined): Promise<void> {
  if (proc === undefined || proc.exitCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000).then(() => proc.kill('SIGKILL'))]);
}

/** CPU seconds so far of each backend connected to this database (PostgreSQL, same machine). */
async function backendCpu(db: Kysely<Database>): Promise<Map<number, number>> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where datname = current_database()`.execute(db);
  return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]));
}

/** Transactions so far in this database (PostgreSQL's statistics, flushed within about a second). */
async function transactions(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select xact_commit + xact_rollback as n from pg_stat_database
    where datname = current_database()`.execute(db);
  return Number(rows[0].n);
}

async function seedBank(db: Kysely<Database>, manifest: SiteManifest): Promise<void> {
  await createBank(db, { name: 'bench-known', category: 'baseline', source: 'benchmark' });
  const text = `type,value\n${manifest.bankLines.join('\n')}\n`;
  const result = await importEntries(db, 'bench-known', Readable.from([text]));
  if (result.kind !== 'imported') throw new Error('bank import failed');
}

/** What the submitter saw: answers by status, and how long each report's POST took (ms). */
interface Submitted {
  readonly statuses: Record<string, number>;
  readonly intakeMs: number[];
}

async function submitAll(base: string, port: number, o: Options): Promise<Submitted> {
  const statuses: Record<string, number> = {};
  const intakeMs: number[] = [];
  let inFlight = 0;
  const started = performance.now();
  const sends: Array<Promise<void>> = [];
  for (let n = 0; n < o.pages; n++) {
    if (o.rate > 0) {
      const due = started + (n * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
    }
    while (inFlight >= 256) await sleep(1);
    inFlight += 1;
    const url = `http://${pageHost(n)}:${port}/p/${n}`;
    const sent = performance.now();
    sends.push(
      fetch(`${base}/v1/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ urls: [url], description: 'benchmark' }),
      })
        .then(async (res) => {
          await res.arrayBuffer();
          intakeMs.push(performance.now() - sent);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        })
        .catch(() => {
          statuses.error = (statuses.error ?? 0) + 1;
        })
        .finally(() => (inFlight -= 1)),
    );
  }
  await Promise.all(sends);
  return { statuses, intakeMs };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function settled(db: Kysely<Database>, total: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const { rows } = await sql<{ done: number }>`
      select count(*) as done from url_case where processed_at is not null`.execute(db);
    const done = Number(rows[0].done);
    if (done >= total) return;
    if (done !== last && done % 1000 < 200) log(`  ${done}/${total} reports done`);
    last = done;
    if (Date.now() > deadline)
      throw new Error(`only ${done} of ${total} reports were done in time`);
    await sleep(1_000);
  }
}

async function measure(db: Kysely<Database>, manifest: SiteManifest, pages: number) {
  const { rows } = await sql<{ ms: number; received: Date; done: Date }>`
    select extract(epoch from (c.processed_at - r.received_at)) * 1000 as ms,
           r.received_at as received, c.processed_at as done
    from report r join report_case rc on rc.report_id = r.id join url_case c on c.id = rc.case_id`.execute(
    db,
  );
  const ms = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
  const first = Math.min(...rows.map((r) => new Date(r.received).getTime()));
  const last = Math.max(...rows.map((r) => new Date(r.done).getTime()));
  const items = await db.selectFrom('media_item').select(['url', 'state']).execute();
  const known = new Set(
    manifest.pages
      .slice(0, pages)
      .flatMap((p) => p.images.filter((i) => i.known).map((i) => i.file)),
  );
  const states: Record<string, number> = {};
  let falsePositives = 0;
  let falseNegatives = 0;
  for (const item of items) {
    states[item.state] = (states[item.state] ?? 0) + 1;
    const file = /\/i\/(\d+\.\w+)$/.exec(item.url)?.[1] ?? '';
    if (item.state === 'classified' && !known.has(file)) falsePositives += 1;
    if (item.state !== 'classified' && known.has(file)) falseNegatives += 1;
  }
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))];
  return {
    throughput: rows.length / ((last - first) / 1000),
    p50: at(0.5),
    p99: at(0.99),
    max: ms[ms.length - 1],
    items: states,
    expectedKnown: known.size,
    falsePositives,
    falseNegatives,
  };
}

async function runOne(
  kind: 'postgres' | 'pglite',
  o: Options,
  manifest: SiteManifest,
  sitePort: number,
  postgresUrl: (name: string) => Promise<{ url: string; drop: () => Promise<void> }>,
): Promise<Result> {
  const work = await makeTempDir(`takedown-bench-pipeline-${kind}-`);
  const dataDir = path.join(work, 'data');
  let database: { url: string; drop: () => Promise<void> } | undefined;
  if (kind === 'postgres') database = await postgresUrl(`bench_pipeline_${Date.now()}`);
  const dbConfig = {
    dataDir,
    databaseUrl: database?.url,
    dbPoolSize: 4,
    shutdownGraceMs: 5_000,
  };
  let db = await openDatabase(dbConfig, { logger, role: 'server' });
  await seedBank(db, manifest);
  if (kind === 'pglite') await db.destroy(); // the server owns the data folder
  const env: Record<string, string> = {
    TAKEDOWN_DATA: dataDir,
    DATABASE_URL: database?.url ?? '',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TAKEDOWN_FETCH_ALLOW: '127.0.0.0/8',
    TAKEDOWN_MEDIA_KEY: randomBytes(32).toString('hex'),
    TAKEDOWN_MEDIA_DIR: path.join(work, 'media'),
    TAKEDOWN_REPORT_RATE_PER_MINUTE: '100000000',
    TAKEDOWN_REPORT_BURST: '1000000',
    TAKEDOWN_JOBS_CONCURRENCY: String(o.concurrency),
    TAKEDOWN_DB_POOL_SIZE: '10',
    TAKEDOWN_MATCHER_SNAPSHOT: 'false',
    ...(o.hashThreads === undefined ? {} : { TAKEDOWN_HASH_THREADS: o.hashThreads }),
  };
  const processes: ChildProcess[] = [];
  const load0 = loadavg()[0];
  try {
    const profile = o.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.profile}`];
    const server = child([...profile, CLI, 'serve'], env, path.join(work, 'serve.log'));
    processes.push(server);
    const [, base] = await waitFor(server, /listening on (http:\/\/[\d.:]+)/);
    for (let ready = false; !ready; await sleep(200))
      ready =
        (await fetch(`${base}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200;
    for (let w = 0; w < o.workers; w++) {
      const worker = child([...profile, CLI, 'worker'], env, path.join(work, `worker-${w}.log`));
      processes.push(worker);
      await waitFor(worker, /is taking jobs/);
    }
    if (kind === 'pglite') db = await openDatabase(dbConfig, { logger, role: 'command' });
    const cpuBefore = processes.reduce((sum, p) => sum + cpuSeconds(p.pid), 0);
    const threadsBefore = threadCpu(server.pid);
    const pgBefore = kind === 'postgres' ? await backendCpu(db) : undefined;
    const xactBefore = kind === 'postgres' ? await transactions(db) : undefined;
    log(
      `${kind}: submitting ${o.pages} reports${o.rate > 0 ? ` at ${o.rate}/s` : ' as fast as possible'}`,
    );
    const started = performance.now();
    const { statuses, intakeMs } = await submitAll(base, sitePort, o);
    intakeMs.sort((a, b) => a - b);
    const submitSeconds = (performance.now() - started) / 1000;
    const accepted = statuses['202'] ?? 0;
    await settled(db, accepted, 30 * 60_000);
    const cpu = processes.reduce((sum, p) => sum + cpuSeconds(p.pid), 0) - cpuBefore;
    const threads = [...threadCpu(server.pid)]
      .map(([name, seconds]) => [name, seconds - (threadsBefore.get(name) ?? 0)] as const)
      .filter(([, seconds]) => seconds > 0)
      .sort((a, b) => b[1] - a[1]);
    log(
      `  serve CPU ms per report by thread: ${threads
        .map(([name, seconds]) => `${name} ${((seconds * 1000) / o.pages).toFixed(1)}`)
        .join(', ')}`,
    );
    let pgCpu: number | undefined;
    if (pgBefore !== undefined) {
      pgCpu = 0;
      for (const [pid, seconds] of await backendCpu(db))
        pgCpu += seconds - (pgBefore.get(pid) ?? 0);
    }
    let pgTransactions: number | undefined;
    if (xactBefore !== undefined) {
      await sleep(1_500); // the statistics of the last transactions reach the view
      pgTransactions = (await transactions(db)) - xactBefore;
    }
    const measured = await measure(db, manifest, o.pages);
    const { '202': _ok, ...rejected } = statuses;
    return {
      database: kind === 'postgres' ? 'PostgreSQL 15' : 'PGlite (embedded)',
      processes: `serve${o.workers > 0 ? ` + ${o.workers} worker${o.workers > 1 ? 's' : ''}` : ''}`,
      reports: accepted,
      rejected,
      submitSeconds,
      intakeP50: percentile(intakeMs, 0.5),
      intakeP99: percentile(intakeMs, 0.99),
      ...measured,
      nodeCpuSeconds: cpu,
      pgCpuSeconds: pgCpu,
      pgTransactions,
      load: [load0, loadavg()[0]],
    };
  } finally {
    // Ours first: on PGlite it goes through the server's socket, which is about to close.
    await db.destroy().catch(() => undefined);
    for (const proc of processes.reverse()) await stopChild(proc);
    await database?.drop();
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--serve-site') return serveSite(process.argv[3]);
  const o = parseOptions(process.argv.slice(2));
  log(
    `pipeline bench: ${o.pages} pages, rate ${o.rate || 'max'}/s, ${o.dbs.join(' and ')}, concurrency ${o.concurrency}, ${o.workers} extra workers; ${cpus().length} CPUs, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const generating = performance.now();
  const manifest = await ensureSite(CACHE, o.pages, 0.3, log);
  log(`site ready in ${((performance.now() - generating) / 1000).toFixed(1)} s (${CACHE})`);
  const site = spawn(process.execPath, [SELF, '--serve-site', CACHE], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  const results: Result[] = [];
  try {
    const [, port] = await waitFor(site, /port (\d+)/);
    const postgresUrl = async (name: string) => {
      let adminUrl = o.postgres;
      if (adminUrl === undefined) {
        cluster ??= await startCluster();
        adminUrl = cluster.url('postgres');
      }
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        drop: async () => {
          const again = new pg.Client({ connectionString: adminUrl });
          await again.connect();
          await again.query(`drop database if exists ${name} with (force)`);
          await again.end();
        },
      };
    };
    for (const kind of o.dbs)
      results.push(await runOne(kind, o, manifest, Number(port), postgresUrl));
  } finally {
    site.kill('SIGTERM');
    await cluster?.stop();
  }
  const f = (n: number, digits = 0) =>
    n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  process.stdout.write(
    `\n| database | processes | reports | submitted at (reports/s) | intake answer p50 / p99 | done (reports/s) | p50 latency | p99 latency | max | items classified / queued / unavailable | known images missed / false matches | CPU ms per report: Takedown + PostgreSQL backends | PostgreSQL transactions per report | load avg before → after |\n` +
      `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |\n` +
      results
        .map(
          (r) =>
            `| ${r.database} | ${r.processes} | ${f(r.reports)}${Object.keys(r.rejected).length ? ` (refused: ${JSON.stringify(r.rejected)})` : ''} | ${f(r.reports / r.submitSeconds, 1)} | ${f(r.intakeP50)} / ${f(r.intakeP99)} ms | **${f(r.throughput, 1)}** | ${f(r.p50)} ms | ${f(r.p99)} ms | ${f(r.max)} ms | ${f(r.items.classified ?? 0)} / ${f(r.items.queued ?? 0)} / ${f(r.items.unavailable ?? 0)} (expected known: ${f(r.expectedKnown)}) | ${r.falseNegatives} / ${r.falsePositives} | ${f((r.nodeCpuSeconds * 1000) / r.reports, 1)}${r.pgCpuSeconds === undefined ? '' : ` + ${f((r.pgCpuSeconds * 1000) / r.reports, 1)}`} | ${r.pgTransactions === undefined ? '–' : f(r.pgTransactions / r.reports, 1)} | ${r.load[0].toFixed(2)} → ${r.load[1].toFixed(2)} |`,
        )
        .join('\n') +
      '\n',
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
