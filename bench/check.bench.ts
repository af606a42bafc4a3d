/**
 * `npm run bench:check [-- --n 1000000 --duration 10 --log info --cases single,pdq,sha256 --profile <dir>]`:
 * the hash-check API over HTTP on loopback. Generates a bank of N uniform
 * random PDQ hashes and one of N random SHA-256 values (seeded; never real
 * hashes), imports them through the import path into the embedded database
 * (or DATABASE_URL), starts `takedown serve` as a child process, and fires
 * `autocannon` at `POST /v1/check`: one PDQ hash per request (`single`),
 * 1,000 PDQ hashes per request (`pdq`), 1,000 SHA-256 per request
 * (`sha256`). PDQ queries: half planted near-duplicates (a stored hash with
 * 1-30 bits flipped), half random; SHA-256: half stored, half random
 * (`--match-rate 0.01`: that share planted or stored instead of half, as a
 * provider's uploads, which almost never match, would be). Also
 * measures the PDQ index alone in this process on the same queries, for the
 * ceiling (`--no-alone` skips it). `--profile <dir>` writes a V8 CPU profile
 * of the server there (`node --cpu-prof`) when it stops.
 *
 * The load generator runs on the same 2 cores as the server: autocannon in
 * this process, or with `--load wrk` Debian's wrk (`apt-get install wrk`),
 * which needs a fraction of the CPU per request. Its CPU is reported
 * beside the server's.
 */
import autocannon from 'autocannon';
import type { Result } from 'autocannon';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { importEntries } from '../src/banks/import.js';
import { createBank } from '../src/banks/queries.js';
import { pdqWordsToHex } from '../src/hash/pdq-hash.js';
import { createLogger } from '../src/log.js';
import { PdqIndex } from '../src/match/index.js';
import { flipBits, randomCodes, uint32Source } from '../src/match/synthetic-codes.js';
import { addProvider, createKey } from '../src/providers/queries.js';
import { openDatabase } from '../src/store/index.js';

const arg = (flag: string, fallback: string) => {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const N = Number(arg('--n', '1000000').replace(/_/g, ''));
const DURATION = Number(arg('--duration', '10'));
const LOG = arg('--log', 'info');
const SINGLE_CONNECTIONS = arg('--connections', '16,64').split(',').map(Number);
const BATCH_CONNECTIONS = Number(arg('--batch-connections', '4'));
const CASES = new Set(arg('--cases', 'single,pdq,sha256').split(','));
const PROFILE = process.argv.includes('--profile') ? path.resolve(arg('--profile', '')) : undefined;
const ALONE = !process.argv.includes('--no-alone');
const MATCH_RATE = Number(arg('--match-rate', '0.5'));
/** --load wrk: Debian's `wrk` (C, a fraction of autocannon's CPU per request) as the load generator. */
const LOAD = arg('--load', 'autocannon');
if (LOAD !== 'autocannon' && LOAD !== 'wrk') throw new Error('--load must be autocannon or wrk');
if (!(MATCH_RATE >= 0 && MATCH_RATE <= 1)) throw new Error('--match-rate must be from 0 to 1');
/** Whether the i-th query should be one that matches: evenly spread, MATCH_RATE of them. */
const planted = (i: number) => Math.floor((i + 1) * MATCH_RATE) > Math.floor(i * MATCH_RATE);
const DIR = path.resolve('.bench/check');
/** --cli: another build's takedown, e.g. to compare before and after a change in the same conditions. */
const CLI = path.resolve(arg('--cli', 'dist/src/cli/main.js'));

const next = uint32Source(31337);
const codes = randomCodes(N, next);
const hexAt = (i: number) => pdqWordsToHex(codes.subarray(i * 8, i * 8 + 8));
/** The SHA-256 bank: N random 32-byte values from their own seed. */
const shaWords = randomCodes(N, uint32Source(4242));
const shaAt = (i: number) => pdqWordsToHex(shaWords.subarray(i * 8, i * 8 + 8));

/** SHA-256 queries: stored values (MATCH_RATE of them) and random ones. */
function shaQueries(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    planted(i) ? shaAt(next() % N) : pdqWordsToHex(randomCodes(1, next)),
  );
}

/** Planted near-duplicates (MATCH_RATE of them; half is the query mix) and random ones. */
function queries(count: number): Uint32Array[] {
  return Array.from({ length: count }, (_, i) => {
    if (!planted(i)) return randomCodes(1, next);
    const pos = next() % N;
    const q = codes.slice(pos * 8, pos * 8 + 8);
    flipBits(q, 1 + (next() % 30), next);
    return q;
  });
}

async function importBank(
  db: Awaited<ReturnType<typeof openDatabase>>,
  type: 'pdq' | 'sha256',
  valueAt: (i: number) => string,
): Promise<void> {
  const bank = `bench-${type}-${Date.now()}`;
  await createBank(db, { name: bank, category: 'baseline' });
  const started = performance.now();
  const result = await importEntries(
    db,
    bank,
    (async function* () {
      for (let at = 0; at < N; at += 10_000) {
        const lines: string[] = [];
        for (let i = at; i < Math.min(N, at + 10_000); i++) lines.push(valueAt(i));
        yield `${lines.join('\n')}\n`;
      }
    })(),
    { type },
  );
  console.error(
    `imported ${result.added.toLocaleString('en')} ${type} hashes in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

async function openBenchDatabase(dataDir: string) {
  return openDatabase(
    { dataDir, databaseUrl: process.env.DATABASE_URL, dbPoolSize: 4, shutdownGraceMs: 1000 },
    { logger: createLogger('error') },
  );
}

async function setUp(dataDir: string): Promise<string> {
  const db = await openBenchDatabase(dataDir);
  try {
    await importBank(db, 'pdq', hexAt);
    await addProvider(db, { name: 'bench' });
    return (await createKey(db, 'bench', { hashesPerSecond: 1_000_000_000 })).key;
  } finally {
    await db.destroy();
  }
}

/** The SHA-256 bank, added to a folder made before it existed. */
async function addShaBank(dataDir: string): Promise<void> {
  const db = await openBenchDatabase(dataDir);
  try {
    await importBank(db, 'sha256', shaAt);
  } finally {
    await db.destroy();
  }
}

/** CPU seconds a process has used, from /proc (Linux). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function startServer(
  dataDir: string,
): Promise<{ url: string; pid: number; stop: () => Promise<void>; readyS: number }> {
  const started = performance.now();
  const profile = PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`];
  const child = spawn(process.execPath, [...profile, CLI, 'serve', '--port', '0'], {
    env: {
      ...process.env,
      TAKEDOWN_DATA: dataDir,
      LOG_LEVEL: LOG,
      TAKEDOWN_CHECK_BURST_HASHES: '1000000000',
      // Only the hash-check API is measured: no report pipeline beside it.
      TAKEDOWN_PIPELINE: 'off',
    },
    stdio: ['ignore', 'pipe', 'ignore'], // the access log goes to /dev/null, as to a log shipper
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  for (;;) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    pid: child.pid as number,
    readyS: (performance.now() - started) / 1000,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** What one run of the load generator saw. */
interface Load {
  requestsPerS: number;
  total: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

interface Measured {
  name: string;
  connections: number;
  result: Load;
  serverCpuS: number;
  benchCpuS: number;
  hashesPerRequest: number;
}

function fromAutocannon(r: Result): Load {
  return {
    requestsPerS: r.requests.average,
    total: r.requests.total,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    failed: r.errors + r.non2xx,
  };
}

async function fire(
  name: string,
  url: string,
  pid: number,
  key: string,
  bodies: string[],
  connections: number,
  hashesPerRequest: number,
): Promise<Measured> {
  const options = {
    url: `${url}/v1/check`,
    connections,
    duration: DURATION,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    requests: bodies.map((body) => ({ method: 'POST', body })),
  };
  if (LOAD === 'wrk') {
    const script = wrkScript(key, bodies);
    await runWrk(script, options.url, connections, 2); // warm-up: JIT, connections
    const server = cpuOf(pid);
    const { load, cpuS } = await runWrk(script, options.url, connections, DURATION);
    return {
      name,
      connections,
      result: load,
      serverCpuS: cpuOf(pid) - server,
      benchCpuS: cpuS,
      hashesPerRequest,
    };
  }
  await autocannon({ ...options, duration: 2 }); // warm-up: JIT, connections
  const server = cpuOf(pid);
  const bench = process.cpuUsage();
  const result = await autocannon(options);
  const used = process.cpuUsage(bench);
  return {
    name,
    connections,
    result: fromAutocannon(result),
    serverCpuS: cpuOf(pid) - server,
    benchCpuS: (used.user + used.system) / 1e6,
    hashesPerRequest,
  };
}

/** A Lua script for wrk that posts `bodies` in turn with the key. */
function wrkScript(key: string, bodies: readonly string[]): string {
  const file = path.join(DIR, `wrk-${process.pid}.lua`);
  const quoted = bodies.map((body) => JSON.stringify(body)).join(',\n');
  writeFileSync(
    file,
    `local bodies = {\n${quoted}\n}\nlocal i = 0\nwrk.method = "POST"\n` +
      `wrk.headers["Content-Type"] = "application/json"\n` +
      `wrk.headers["Authorization"] = "Bearer ${key}"\n` +
      `request = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n`,
  );
  return file;
}

/** Runs wrk (one thread) under /usr/bin/time, for its own CPU; parses its report. */
async function runWrk(
  script: string,
  url: string,
  connections: number,
  seconds: number,
): Promise<{ load: Load; cpuS: number }> {
  const args = [
    '-f',
    'cpu %U %S',
    'wrk',
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    '-s',
    script,
    url,
  ];
  const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`wrk failed (${code}): ${err || out}`);
  const ms = (text: string | undefined): number => {
    const m = /([\d.]+)(us|ms|s)/.exec(text ?? '');
    if (m === null) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(err);
  return {
    load: {
      requestsPerS: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
      total: Number(/(\d+) requests in/.exec(out)?.[1]),
      p50Ms: ms(/ 50%\s+(\S+)/.exec(out)?.[1]),
      p99Ms: ms(/ 99%\s+(\S+)/.exec(out)?.[1]),
      failed:
        Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) +
        Number(
          /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
            .exec(out)
            ?.slice(1)
            .reduce((a, b) => a + Number(b), 0) ?? 0,
        ),
    },
    cpuS: cpu === null ? NaN : Number(cpu[1]) + Number(cpu[2]),
  };
}

/** The index alone, in this process, one thread: the ceiling for one core. */
function indexAlone(queryWords: Uint32Array[]): { qps: number; cpuQps: number } {
  const ids = Uint32Array.from({ length: N }, (_, i) => i + 1);
  const index = PdqIndex.fromCodes(ids, codes);
  for (const q of queryWords.slice(0, 500)) index.search(q, { radius: 31 });
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (const q of queryWords) index.search(q, { radius: 31 });
  const used = process.cpuUsage(cpu);
  return {
    qps: queryWords.length / ((performance.now() - started) / 1000),
    cpuQps: queryWords.length / ((used.user + used.system) / 1e6),
  };
}

const loadAtStart = loadavg()[0];
mkdirSync(DIR, { recursive: true });
// The bank is generated from a fixed seed: a folder made by an earlier run is reused (--fresh to rebuild).
const dataDir = path.join(DIR, `data-${N}${process.env.DATABASE_URL ? '-pg' : ''}`);
const keyFile = path.join(dataDir, 'bench-key.txt');
if (process.argv.includes('--fresh') || process.env.DATABASE_URL || !existsSync(keyFile)) {
  rmSync(dataDir, { recursive: true, force: true });
  const made = await setUp(dataDir);
  writeFileSync(keyFile, made);
}
const shaFile = path.join(dataDir, 'bench-sha256.txt');
if (!existsSync(shaFile)) {
  await addShaBank(dataDir);
  writeFileSync(shaFile, 'imported\n');
}
const key = readFileSync(keyFile, 'utf8');
const server = await startServer(dataDir);
console.error(`server ready (matcher loaded) ${server.readyS.toFixed(1)} s after start`);
const measured: Measured[] = [];
try {
  if (CASES.has('single')) {
    const single = queries(4000).map((q) =>
      JSON.stringify({ hashes: [{ type: 'pdq', value: pdqWordsToHex(q) }] }),
    );
    for (const connections of SINGLE_CONNECTIONS) {
      measured.push(
        await fire('1 PDQ hash per request', server.url, server.pid, key, single, connections, 1),
      );
    }
  }
  if (CASES.has('pdq')) {
    const batches = Array.from({ length: 16 }, () =>
      JSON.stringify({
        hashes: queries(1000).map((q) => ({ type: 'pdq', value: pdqWordsToHex(q) })),
      }),
    );
    measured.push(
      await fire(
        '1,000 PDQ hashes per request',
        server.url,
        server.pid,
        key,
        batches,
        BATCH_CONNECTIONS,
        1000,
      ),
    );
  }
  if (CASES.has('sha256')) {
    const batches = Array.from({ length: 16 }, () =>
      JSON.stringify({ hashes: shaQueries(1000).map((value) => ({ type: 'sha256', value })) }),
    );
    measured.push(
      await fire(
        '1,000 SHA-256 per request',
        server.url,
        server.pid,
        key,
        batches,
        BATCH_CONNECTIONS,
        1000,
      ),
    );
  }
} finally {
  await server.stop();
}
const alone = ALONE ? indexAlone(queries(4000)) : undefined;

const n = (x: number, digits = 0) => x.toLocaleString('en', { maximumFractionDigits: digits });
console.log(
  `\n${n(N)} PDQ hashes, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded database'}, LOG_LEVEL=${LOG}, ` +
    `${DURATION} s per run after a 2 s warm-up; ${n(MATCH_RATE * 100, 1)}% of queries match; ${cpus().length} cores shared by server, load generator and other users ` +
    `(load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end)\n`,
);
console.log(
  `| requests | connections | requests/s | hashes/s | p50 ms | p99 ms | errors + non-2xx | server CPU s | server CPU ms per request | ${LOAD} CPU s |`,
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const m of measured) {
  const r = m.result;
  console.log(
    `| ${m.name} | ${m.connections} | ${n(r.requestsPerS)} | ${n(r.requestsPerS * m.hashesPerRequest)} | ${n(r.p50Ms, 2)} | ${n(r.p99Ms, 2)} | ${r.failed} | ${n(m.serverCpuS, 1)} | ${n((m.serverCpuS * 1000) / r.total, 3)} | ${n(m.benchCpuS, 1)} |`,
  );
}
if (alone !== undefined) {
  console.log(
    `\nPDQ index alone, one thread, same query mix: ${n(alone.qps)} queries/s (${n(alone.cpuQps)} per CPU-second).`,
  );
}
