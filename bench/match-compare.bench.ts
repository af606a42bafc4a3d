/**
 * `node dist/bench/match-compare.bench.js <other build>/dist/src/match/mih-search.js
 * [--n 10000000] [--queries 8000] [--rounds 40] [--kernel]`: the time per query of this
 * build's multi-index search against another build's, over the same index
 * and the same queries in one process. This machine's memory speed drifts
 * by a third from one half hour to the next, so two separate runs of
 * `bench:match` cannot tell a 10% change; here the two searches alternate
 * in rounds of a few hundred queries (which one goes first alternates too),
 * every round's answers must agree, and the result is the median of the
 * per-round ratios. Codes and queries as in `bench:match`: uniform random
 * codes, half the queries near a stored code (1-30 bits flipped), half
 * random; radius 31. With `--kernel`, this build's side is the WebAssembly
 * kernel (`mih-wasm.ts`) instead of its JavaScript `searchTables`; give
 * this build's own `dist/src/match/mih-search.js` to compare the two.
 */
import path from 'node:path';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { HitBuffer } from '../src/match/codes.js';
import { dirOffsets } from '../src/match/mih-build.js';
import { chunksOfWidths, planThresholds } from '../src/match/mih-plan.js';
import * as here from '../src/match/mih-search.js';
import { KernelSearch } from '../src/match/mih-wasm.js';
import { buildSegment } from '../src/match/segment.js';
import { nearCode, randomCodes, uint32Source } from '../src/match/synthetic-codes.js';

type SearchModule = Pick<typeof here, 'MihScratch' | 'searchTables'>;

const arg = (flag: string, fallback: string) => {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const other = process.argv[2];
if (other === undefined || other.startsWith('--')) {
  throw new Error('Give the other build’s dist/src/match/mih-search.js as the first argument.');
}
const N = Number(arg('--n', '10000000').replace(/_/g, ''));
const QUERIES = Number(arg('--queries', '8000'));
const ROUNDS = Number(arg('--rounds', '40'));
const RADIUS = 31;
const KERNEL = process.argv.includes('--kernel');

const before = (await import(pathToFileURL(path.resolve(other)).href)) as SearchModule;
const next = uint32Source(7);
const codes = randomCodes(N, next);
const segment = buildSegment(
  Uint32Array.from({ length: N }, (_, i) => i),
  codes,
  { shared: false, wasmMinEntries: KERNEL ? 0 : Infinity },
);
if (segment.tables === null || segment.widths === null) throw new Error('The bank is too small.');
const tables = segment.tables;
const chunks = chunksOfWidths(segment.widths);
const offsets = dirOffsets(chunks);
const planned = planThresholds(chunks, N, RADIUS, false);
if (planned === null) throw new Error('No thresholds for this bank.');
const tau: Int8Array = planned;
const queries = Array.from({ length: QUERIES }, (_, i) =>
  i % 2 ? nearCode(codes, next() % N, 1 + (next() % 30), next) : randomCodes(1, next),
);

function timed(module: SearchModule, scratch: here.MihScratch, from: number, to: number) {
  const hits = new HitBuffer();
  let answer = 0;
  const start = performance.now();
  for (let i = from; i < to; i++) {
    hits.length = 0;
    module.searchTables(codes, tables, chunks, offsets, tau, queries[i], RADIUS, scratch, hits);
    for (let h = 0; h < hits.length; h++) answer = (answer * 31 + hits.pos[h] + hits.dist[h]) | 0;
  }
  return { us: ((performance.now() - start) * 1000) / (to - from), answer };
}

function kernelModule(): SearchModule {
  if (segment.memory === null) throw new Error('WebAssembly memory could not be had.');
  const kernel = new KernelSearch(segment.memory, segment.codes, tables.ent, tables.dir);
  return {
    MihScratch: here.MihScratch,
    searchTables(_codes, _tables, chunks, dirOffsets, tau, q, radius, _scratch, hits) {
      if (kernel.search(chunks, dirOffsets, tau, q, radius, hits) !== 'done') {
        throw new Error('The kernel could not answer a query.');
      }
    },
  };
}

const mine = KERNEL ? kernelModule() : here;
const sides = [
  { module: before, scratch: new before.MihScratch(), us: [] as number[] },
  { module: mine, scratch: new here.MihScratch(), us: [] as number[] },
];
for (const side of sides) timed(side.module, side.scratch, 0, Math.min(1000, QUERIES));
const ratios: number[] = [];
const step = Math.floor(QUERIES / ROUNDS);
const load = loadavg()[0];
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? [0, 1] : [1, 0];
  const got = [0, 0].map(() => ({ us: 0, answer: 0 }));
  for (const s of order)
    got[s] = timed(sides[s].module, sides[s].scratch, r * step, (r + 1) * step);
  if (got[0].answer !== got[1].answer)
    throw new Error(`The two builds answered round ${r} differently.`);
  sides[0].us.push(got[0].us);
  sides[1].us.push(got[1].us);
  ratios.push(got[1].us / got[0].us);
}
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)];
console.log(
  `N = ${N.toLocaleString('en-US')}, radius ${RADIUS}, ${ROUNDS} rounds of ${step} queries, ` +
    `load average ${load.toFixed(1)} → ${loadavg()[0].toFixed(1)}\n` +
    `other build: median ${quantile(sides[0].us, 0.5).toFixed(1)} µs per query\n` +
    `this build${KERNEL ? ' (WebAssembly)' : ''}:  median ${quantile(sides[1].us, 0.5).toFixed(1)} µs per query\n` +
    `this ÷ other, time per query: median ${quantile(ratios, 0.5).toFixed(3)} ` +
    `(quartiles ${quantile(ratios, 0.25).toFixed(3)}–${quantile(ratios, 0.75).toFixed(3)}); answers identical`,
);
