// AssemblyScript source of the WebAssembly multi-index search: the same
// passes as `searchTables` in ../mih-search.ts (read that file's comments
// for why the work is split this way), over the same tables, with native
// popcount and no bounds checks. Measured at 10M hashes, radius 31: about
// half the time per query of the JavaScript version. `npm run build:wasm`
// compiles it into ../mih-wasm-module.ts; a test checks the two agree.
//
// All pointers are byte offsets into the one memory that holds a part's
// codes, tables and the calling thread's scratch slot.

/** Per chunk, 6 words: start, width, dirBits, resBits, dirOffset (words into dir), tau (i32). */
const CHUNK_BYTES: u32 = 24;
/** As `POS_BITS` in ../mih-plan.ts: an entry keeps its position in the low 26 bits. */
const POS_BITS: u32 = 26;
const POS_MASK: u32 = (1 << POS_BITS) - 1;
/** As `WALK_AHEAD` in ../mih-search.ts. */
const WALK_AHEAD: u32 = 12;

let sinkOut: u32 = 0;

function at(base: usize, i: u32): usize {
  return base + ((<usize>i) << 2);
}

function extractBits(q: usize, start: u32, width: u32): u32 {
  const word = start >>> 5;
  const shift = start & 31;
  let x = load<u32>(at(q, word));
  if (shift != 0) {
    x =
      shift + width <= 32
        ? x << shift
        : (x << shift) | (load<u32>(at(q, word + 1)) >>> (32 - shift));
  }
  return width == 32 ? x : x >>> (32 - width);
}

/**
 * Writes (position, distance) pairs of every code within `radius` of the
 * query at `q` to `hits`, in the order `searchTables` finds them, and
 * returns their number; -1 when a scratch area is too small (the caller
 * then searches in JavaScript).
 */
export function search(
  codes: usize,
  ent: usize,
  entLength: u32,
  dir: usize,
  chunks: usize,
  chunkCount: u32,
  q: usize,
  radius: u32,
  scratch: usize,
  capOuter: u32,
  capInner: u32,
  capCand: u32,
  hits: usize,
  capHits: u32,
): i32 {
  const outer = scratch;
  const outerRes = outer + ((<usize>capOuter) << 2);
  const probe = outerRes + ((<usize>capOuter) << 2);
  const probeEnd = probe + ((<usize>capOuter) << 2);
  const probeRes = probeEnd + ((<usize>capOuter) << 2);
  const inner = probeRes + ((<usize>capOuter) << 2);
  const innerRes = inner + ((<usize>capInner) << 2);
  const innerLim = innerRes + ((<usize>capInner) << 2);
  const cand = innerLim + ((<usize>capInner) << 2);

  // 1. The buckets to probe.
  let nOuter: u32 = 0;
  let nInner: u32 = 0;
  for (let c: u32 = 0; c < chunkCount; c++) {
    const rec = chunks + <usize>c * CHUNK_BYTES;
    const t = load<i32>(rec, 20);
    if (t < 0) continue;
    const width = load<u32>(rec, 4);
    const dirBits = load<u32>(rec, 8);
    const resBits = load<u32>(rec, 12);
    const base = load<u32>(rec, 16);
    const value = extractBits(q, load<u32>(rec), width);
    const qh = value >>> resBits;
    const qr = value & ((1 << resBits) - 1);
    const maxWeight = <u32>t < dirBits ? <u32>t : dirBits;
    const limit: u64 = (<u64>1) << dirBits;
    for (let w: u32 = 0; w <= maxWeight; w++) {
      const isOuter = w == <u32>t;
      let x: u64 = w == 0 ? 0 : ((<u64>1) << w) - 1;
      while (x < limit) {
        const key = base + 4 * (qh ^ (<u32>x));
        if (isOuter) {
          if (nOuter >= capOuter) return -1;
          store<u32>(at(outer, nOuter), key);
          store<u32>(at(outerRes, nOuter), qr);
          nOuter++;
        } else {
          if (nInner >= capInner) return -1;
          store<u32>(at(inner, nInner), key);
          store<u32>(at(innerRes, nInner), qr);
          store<u32>(at(innerLim, nInner), <u32>t - w);
          nInner++;
        }
        if (w == 0) break;
        // The next larger value with as many bits set (Gosper's hack, with
        // a trailing-zero count instead of its division, which is slow here).
        const t = x | (x - 1);
        x = (t + 1) | (((~t & (0 - ~t)) - 1) >> (ctz<u64>(x) + 1));
      }
    }
  }

  // 2. Bring the directory lines in.
  let sink: u32 = 0;
  for (let i: u32 = 0; i < nOuter; i++) sink ^= load<u32>(at(dir, load<u32>(at(outer, i))));
  for (let i: u32 = 0; i < nInner; i++) sink ^= load<u32>(at(dir, load<u32>(at(inner, i))));

  // 3. Outer shell: residual bitmaps, and where each walk starts.
  let nUp: u32 = 0;
  let nDown: u32 = 0;
  for (let i: u32 = 0; i < nOuter; i++) {
    const d = at(dir, load<u32>(at(outer, i)));
    const qr = load<u32>(at(outerRes, i));
    if (qr < 32) {
      const lo = load<u32>(d, 8);
      store<u32>(at(probe, nUp), load<u32>(d) + popcnt<u32>(lo & ((1 << qr) - 1)));
      store<u32>(at(probeEnd, nUp), load<u32>(d, 4));
      store<u32>(at(probeRes, nUp), qr);
      nUp += (lo >>> qr) & 1;
    } else {
      const hi = load<u32>(d, 12);
      const slot = nOuter - 1 - nDown;
      store<u32>(at(probe, slot), load<u32>(d, 4) - 1 - popcnt<u32>((hi >>> (qr - 32)) >>> 1));
      store<u32>(at(probeEnd, slot), load<u32>(d));
      store<u32>(at(probeRes, slot), qr);
      nDown += (hi >>> (qr - 32)) & 1;
    }
  }
  const firstDown = nOuter - nDown;

  // 4. Bring the table lines in.
  const last = entLength - 1;
  for (let i: u32 = 0; i < nUp; i++) {
    const p = load<u32>(at(probe, i));
    const ahead = p + WALK_AHEAD < last ? p + WALK_AHEAD : last;
    sink ^= load<u32>(at(ent, p)) ^ load<u32>(at(ent, ahead));
  }
  for (let i: u32 = firstDown; i < nOuter; i++) {
    const p = load<u32>(at(probe, i));
    const ahead = p >= WALK_AHEAD ? p - WALK_AHEAD : 0;
    sink ^= load<u32>(at(ent, p)) ^ load<u32>(at(ent, ahead));
  }
  for (let i: u32 = 0; i < nInner; i++) {
    const d = at(dir, load<u32>(at(inner, i)));
    const end = load<u32>(d, 4);
    for (let p = load<u32>(d); p < end; p += 16) sink ^= load<u32>(at(ent, p));
  }

  // 5. Candidates.
  let nc: u32 = 0;
  for (let i: u32 = 0; i < nUp; i++) {
    let p = load<u32>(at(probe, i));
    const end = load<u32>(at(probeEnd, i));
    const qr = load<u32>(at(probeRes, i));
    while (load<u32>(at(ent, p)) >>> POS_BITS < qr) p++;
    if (nc + end - p > capCand) return -1;
    for (; p < end; p++) {
      const x = load<u32>(at(ent, p));
      if (x >>> POS_BITS != qr) break;
      store<u32>(at(cand, nc), x & POS_MASK);
      nc++;
    }
  }
  for (let i: u32 = firstDown; i < nOuter; i++) {
    let p = <i64>load<u32>(at(probe, i));
    const start = <i64>load<u32>(at(probeEnd, i));
    const qr = load<u32>(at(probeRes, i));
    while (load<u32>(at(ent, <u32>p)) >>> POS_BITS > qr) p--;
    if (<i64>nc + p + 1 - start > <i64>capCand) return -1;
    for (; p >= start; p--) {
      const x = load<u32>(at(ent, <u32>p));
      if (x >>> POS_BITS != qr) break;
      store<u32>(at(cand, nc), x & POS_MASK);
      nc++;
    }
  }
  for (let i: u32 = 0; i < nInner; i++) {
    const d = at(dir, load<u32>(at(inner, i)));
    const end = load<u32>(d, 4);
    const qr = load<u32>(at(innerRes, i));
    const lim = load<u32>(at(innerLim, i));
    let p = load<u32>(d);
    if (nc + end - p > capCand) return -1;
    for (; p < end; p++) {
      const x = load<u32>(at(ent, p));
      if (popcnt<u32>((x >>> POS_BITS) ^ qr) <= lim) {
        store<u32>(at(cand, nc), x & POS_MASK);
        nc++;
      }
    }
  }

  // 6. Bring the candidates' codes in (loads only), then verify them.
  for (let i: u32 = 0; i < nc; i++)
    sink ^= load<u32>(codes + ((<usize>load<u32>(at(cand, i))) << 5));
  sinkOut = sink;
  const q0 = load<u64>(q);
  const q1 = load<u64>(q, 8);
  const q2 = load<u64>(q, 16);
  const q3 = load<u64>(q, 24);
  let found: u32 = 0;
  for (let i: u32 = 0; i < nc; i++) {
    const pos = load<u32>(at(cand, i));
    const o = codes + ((<usize>pos) << 5);
    let d = <u32>(popcnt<u64>(load<u64>(o) ^ q0) + popcnt<u64>(load<u64>(o, 8) ^ q1));
    if (d > radius) continue;
    d += <u32>(popcnt<u64>(load<u64>(o, 16) ^ q2) + popcnt<u64>(load<u64>(o, 24) ^ q3));
    if (d <= radius) {
      if (found >= capHits) return -1;
      store<u32>(hits + ((<usize>found) << 3), pos);
      store<u32>(hits + ((<usize>found) << 3), d, 4);
      found++;
    }
  }
  return <i32>found;
}
