import { z } from 'zod';
import { allocI32, allocU32, WORDS_PER_CODE } from '../codes.js';
import type { DeltaData } from '../delta.js';
import type { ExactSignalType } from '../exact-index.js';
import { ExactIndex } from '../exact-index.js';
import { dirOffsets } from '../mih-build.js';
import { chunksOfWidths, POS_BITS } from '../mih-plan.js';
import type { PdqIndexOptions } from '../pdq-index.js';
import { PdqIndex } from '../pdq-index.js';
import type { SegmentData } from '../segment.js';
import { arenaFor, WASM_MIN_ENTRIES } from '../segment.js';
import type { KernelArena } from '../mih-wasm.js';
import type { SectionArray, SectionSpec, SnapshotRead } from './snapshot-file.js';
import { readSnapshotFile, writeSnapshotFile } from './snapshot-file.js';

/**
 * Index snapshots: the parts of a `PdqIndex` exactly as they sit in memory
 * (codes, ids, tombstones, tables), so a restart with 10 million hashes is a
 * file read and a checksum, not a rebuild. `meta` is the caller's: e.g. the
 * last bank change the snapshot includes, to replay what came after.
 */
export type SnapshotMeta = Readonly<Record<string, unknown>>;

const Meta = z.record(z.string(), z.unknown());
const PdqJson = z.object({
  kind: z.literal('pdq'),
  version: z.number().int().nonnegative(),
  meta: Meta,
  segments: z.array(
    z.object({
      count: z
        .number()
        .int()
        .nonnegative()
        .max(2 ** POS_BITS - 1),
      widths: z.array(z.number().int().min(1).max(32)).nullable(),
    }),
  ),
  delta: z.object({ capacity: z.number().int().positive() }),
});
const ExactJson = z.object({
  kind: z.literal('exact'),
  type: z.enum(['md5', 'sha1', 'sha256']),
  meta: Meta,
  count: z.number().int().nonnegative(),
});
const WORDS = { md5: 4, sha1: 5, sha256: 8 } as const;

const u32 = (length: number): SectionSpec => ({ type: 'u32', length });
const i32 = (length: number): SectionSpec => ({ type: 'i32', length });

function segmentSpecs(count: number, widths: readonly number[] | null): SectionSpec[] {
  const specs = [u32(count), u32(count * WORDS_PER_CODE), i32(Math.ceil(count / 32))];
  if (widths !== null) {
    const chunks = chunksOfWidths(widths);
    specs.push(u32(chunks.length * count + 1), u32(dirOffsets(chunks)[chunks.length]));
  }
  return specs;
}

function deltaSpecs(capacity: number): SectionSpec[] {
  return [u32(capacity), u32(capacity * WORDS_PER_CODE), i32(Math.ceil(capacity / 32)), i32(1)];
}

export function writePdqSnapshot(path: string, index: PdqIndex, meta: SnapshotMeta = {}): number {
  const layout = index.layout();
  const sections: SectionArray[] = [];
  for (const s of layout.segments) {
    sections.push(s.ids, s.codes, s.dead);
    if (s.tables !== null) sections.push(s.tables.ent, s.tables.dir);
  }
  const d = layout.delta;
  sections.push(d.ids, d.codes, d.dead, d.state);
  const json = {
    kind: 'pdq',
    version: layout.version,
    meta,
    segments: layout.segments.map((s) => ({ count: s.count, widths: s.widths && [...s.widths] })),
    delta: { capacity: d.capacity },
  } satisfies z.infer<typeof PdqJson>;
  return writeSnapshotFile(path, json, sections);
}

/** Loads a PDQ snapshot; `missing` or `corrupt` (with the reason) means: rebuild from the database. */
export function readPdqSnapshot(
  path: string,
  options: PdqIndexOptions = {},
): SnapshotRead<{ index: PdqIndex; meta: SnapshotMeta }> {
  const shared = options.shared ?? false;
  const wasmMin = options.wasmMinEntries ?? WASM_MIN_ENTRIES;
  // Parts that go to the WebAssembly kernel read their codes and tables
  // straight into its memory: sections 1, 3 and 4 of each such part.
  const arenas: (KernelArena | null)[] = [];
  const into = new Map<number, Uint32Array>();
  let next = 0;
  return readSnapshotFile(
    path,
    (json) => {
      const { segments, delta } = PdqJson.parse(json);
      const specs = [
        ...segments.flatMap((s) => segmentSpecs(s.count, s.widths)),
        ...deltaSpecs(delta.capacity),
      ];
      let at = 0;
      for (const { count, widths } of segments) {
        const arena = widths !== null && count >= wasmMin ? arenaFor(count, widths) : null;
        arenas.push(arena);
        if (arena !== null) {
          into
            .set(at + 1, arena.codes)
            .set(at + 3, arena.ent)
            .set(at + 4, arena.dir);
        }
        at += widths === null ? 3 : 5;
      }
      return specs;
    },
    (spec) =>
      into.get(next++) ??
      (spec.type === 'u32' ? allocU32(spec.length, shared) : allocI32(spec.length, shared)),
    (json, sections) => {
      const parsed = PdqJson.parse(json);
      let at = 0;
      const take = () => sections[at++];
      const segments = parsed.segments.map(({ count, widths }, s): SegmentData => {
        const ids = take() as Uint32Array;
        const codes = take() as Uint32Array;
        const dead = take() as Int32Array;
        const tables =
          widths === null ? null : { ent: take() as Uint32Array, dir: take() as Uint32Array };
        checkSegment(count, widths, ids, tables?.dir ?? null);
        return { count, ids, codes, dead, widths, tables, memory: arenas[s]?.memory ?? null };
      });
      const delta: DeltaData = {
        capacity: parsed.delta.capacity,
        ids: take() as Uint32Array,
        codes: take() as Uint32Array,
        dead: take() as Int32Array,
        state: take() as Int32Array,
      };
      if (delta.state[0] < 0 || delta.state[0] > delta.capacity)
        throw new Error('delta count out of range');
      const index = PdqIndex.fromLayout({ version: parsed.version, segments, delta }, options);
      return { index, meta: parsed.meta };
    },
  );
}

/** Checks what a checksum cannot vouch for: that the structure is one this code built. */
function checkSegment(
  count: number,
  widths: readonly number[] | null,
  ids: Uint32Array,
  dir: Uint32Array | null,
): void {
  for (let i = 1; i < count; i++) if (ids[i - 1] >= ids[i]) throw new Error('ids out of order');
  if (widths === null || dir === null) return;
  const chunks = chunksOfWidths(widths);
  const offsets = dirOffsets(chunks);
  chunks.forEach((_, c) => {
    const lo = c * count;
    for (let d = offsets[c]; d < offsets[c + 1]; d += 4) {
      if (dir[d] < lo || dir[d] > dir[d + 1] || dir[d + 1] > lo + count)
        throw new Error('bucket out of range');
    }
  });
}

export function writeExactSnapshot(
  path: string,
  index: ExactIndex,
  meta: SnapshotMeta = {},
): number {
  const { ids, values } = index.entries();
  const json = { kind: 'exact', type: index.type, meta, count: ids.length } satisfies z.infer<
    typeof ExactJson
  >;
  return writeSnapshotFile(path, json, [ids, values]);
}

export function readExactSnapshot(
  path: string,
): SnapshotRead<{ index: ExactIndex; meta: SnapshotMeta }> {
  return readSnapshotFile(
    path,
    (json) => {
      const { type, count } = ExactJson.parse(json);
      return [u32(count), u32(count * WORDS[type])];
    },
    (spec) => new Uint32Array(spec.length),
    (json, sections) => {
      const { type, meta } = ExactJson.parse(json);
      const index = ExactIndex.fromEntries(
        type as ExactSignalType,
        sections[0] as Uint32Array,
        sections[1] as Uint32Array,
      );
      return { index, meta };
    },
  );
}
