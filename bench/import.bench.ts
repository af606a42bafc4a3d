/**
 * `npm run bench:import [-- --n 1000000 --format hashes|jsonl]`: imports N
 * generated PDQ hashes (uniform random, seeded; never real hashes) into a
 * new bank, then the same file again (all duplicates), on the embedded
 * database in a fresh folder and, when DATABASE_URL is set, on that
 * PostgreSQL server too. Reports wall time and this process's CPU time (the
 * embedded database runs inside it), split into reading+staging and the
 * final merge. Prints a Markdown table (copied into BENCHMARKS.md).
 */
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { importEntries } from '../src/banks/import.js';
import { createBank } from '../src/banks/queries.js';
import { pdqWordsToHex } from '../src/hash/pdq-hash.js';
import { createLogger } from '../src/log.js';
import { uint32Source } from '../src/match/synthetic-codes.js';
import { openDatabase } from '../src/store/index.js';

const arg = (flag: string) => {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const N = Number((arg('--n') ?? '1000000').replace(/_/g, ''));
const FORMAT = (arg('--format') ?? 'hashes') as 'hashes' | 'jsonl';
const DIR = path.resolve('.bench/import');

function writeFile(): string {
  mkdirSync(DIR, { recursive: true });
  const file = path.join(DIR, `pdq-${N}.${FORMAT === 'hashes' ? 'txt' : 'jsonl'}`);
  const next = uint32Source(2024);
  const words = new Uint32Array(8);
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    for (let w = 0; w < 8; w++) words[w] = next();
    const hex = pdqWordsToHex(words);
    lines.push(
      FORMAT === 'hashes' ? hex : JSON.stringify({ type: 'pdq', value: hex, note: `n${i}` }),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

interface Timing {
  wallS: number;
  cpuS: number;
  stageS: number;
  mergeS: number;
  added: number;
  present: number;
}

async function importOnce(
  db: Awaited<ReturnType<typeof openDatabase>>,
  bank: string,
  file: string,
): Promise<Timing> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let merging = started;
  const result = await importEntries(db, bank, createReadStream(file, { highWaterMark: 1 << 20 }), {
    type: 'pdq',
    onMerge: () => (merging = performance.now()),
  });
  const end = performance.now();
  const used = process.cpuUsage(cpu);
  return {
    wallS: (end - started) / 1000,
    cpuS: (used.user + used.system) / 1e6,
    stageS: (merging - started) / 1000,
    mergeS: (end - merging) / 1000,
    added: result.added,
    present: result.alreadyPresent,
  };
}

async function run(
  kind: string,
  databaseUrl: string | undefined,
): Promise<Array<[string, string, Timing]>> {
  const dataDir = path.join(DIR, `data-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  const logger = createLogger('error');
  const db = await openDatabase(
    { dataDir, databaseUrl, dbPoolSize: 4, shutdownGraceMs: 1000 },
    { logger },
  );
  const file = writeFile();
  const rows: Array<[string, string, Timing]> = [];
  try {
    const bank = `bench-${Date.now()}`;
    await createBank(db, { name: bank });
    rows.push([kind, 'new bank', await importOnce(db, bank, file)]);
    rows.push([kind, 'same file again', await importOnce(db, bank, file)]);
  } finally {
    await db.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

const rows = [...(await run('PGlite (embedded)', undefined))];
if (process.env.DATABASE_URL) rows.push(...(await run('PostgreSQL', process.env.DATABASE_URL)));

const f = (n: number) => n.toFixed(1);
console.log(
  `\n${N.toLocaleString('en')} PDQ lines (${FORMAT}); ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at the end\n`,
);
console.log(
  '| database | import | wall s | CPU s (this process) | read+stage s | merge s | added | already present |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [kind, what, t] of rows) {
  console.log(
    `| ${kind} | ${what} | ${f(t.wallS)} | ${f(t.cpuS)} | ${f(t.stageS)} | ${f(t.mergeS)} | ${t.added.toLocaleString('en')} | ${t.present.toLocaleString('en')} |`,
  );
}
