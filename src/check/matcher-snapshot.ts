import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ExactIndex, ExactSignalType, PdqIndex } from '../match/index.js';
import {
  readExactSnapshot,
  readPdqSnapshot,
  writeExactSnapshot,
  writePdqSnapshot,
} from '../match/node/index.js';
// Not re-exported by src/match/node/index.ts; the file format is theirs.
import { readSnapshotFile, writeSnapshotFile } from '../match/node/snapshot-file.js';
import type { BankInfo } from './bank-matcher.js';
import { BankMatcher } from './bank-matcher.js';
import { EntryTable } from './entry-table.js';

/**
 * The matcher on disk, in `<data>/matcher/`, so a restart is a file read and
 * a replay of the changes since, not a reload of every entry:
 *
 *   pdq-<threshold>.snap   one PDQ index per threshold (src/match's format)
 *   md5.snap sha1.snap sha256.snap
 *   entries.snap           written last: the banks as they were, which
 *                          index files belong to it, the change number it
 *                          includes, the database it came from, and the
 *                          entry -> bank table
 *
 * Every file carries the same change number and database id; any mismatch
 * (two processes writing at once, a copy from elsewhere, damage) makes the
 * snapshot unusable and the matcher loads from the database instead.
 */
export interface SnapshotStamp {
  /** The last change the snapshot includes. */
  readonly seq: number;
  /** The database's instance id (a setting): snapshots never cross databases. */
  readonly instance: string;
}

export type SnapshotLoad =
  | {
      readonly kind: 'loaded';
      readonly matcher: BankMatcher;
      readonly seq: number;
      readonly bytes: number;
    }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unusable'; readonly reason: string };

const FORMAT = 1;
const EXACT: readonly ExactSignalType[] = ['md5', 'sha1', 'sha256'];

interface EntriesJson {
  readonly kind: 'takedown-matcher';
  readonly format: number;
  readonly seq: number;
  readonly instance: string;
  readonly banks: readonly BankInfo[];
  readonly groups: readonly number[];
  readonly cells: number;
}

export function writeMatcherSnapshot(
  dir: string,
  matcher: BankMatcher,
  stamp: SnapshotStamp,
): number {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { entries, pdq, exact } = matcher.parts();
  const meta = { seq: stamp.seq, instance: stamp.instance };
  let bytes = 0;
  for (const [threshold, index] of pdq)
    bytes += writePdqSnapshot(pdqFile(dir, threshold), index, meta);
  for (const type of EXACT)
    bytes += writeExactSnapshot(path.join(dir, `${type}.snap`), exact[type], meta);
  const json: EntriesJson = {
    kind: 'takedown-matcher',
    format: FORMAT,
    ...meta,
    banks: matcher.banks(),
    groups: [...pdq.keys()],
    cells: entries.cells.length,
  };
  bytes += writeSnapshotFile(path.join(dir, 'entries.snap'), json, [entries.cells]);
  // Index files of thresholds no bank uses any more.
  for (const name of readdirSync(dir)) {
    const match = /^pdq-(\d+)\.snap$/.exec(name);
    if (match !== null && !pdq.has(Number(match[1]))) rmSync(path.join(dir, name), { force: true });
  }
  return bytes;
}

export function readMatcherSnapshot(dir: string, instance: string): SnapshotLoad {
  const head = readSnapshotFile(
    path.join(dir, 'entries.snap'),
    (json) => {
      const j = json as Partial<EntriesJson>;
      if (j.kind !== 'takedown-matcher' || j.format !== FORMAT || typeof j.cells !== 'number')
        throw new Error('not a matcher snapshot of this version');
      return [{ type: 'i32', length: j.cells }];
    },
    (spec) => new Int32Array(spec.length),
    (json, sections) => ({ json: json as EntriesJson, cells: sections[0] as Int32Array }),
  );
  if (head.kind === 'missing') return head;
  if (head.kind === 'corrupt') return { kind: 'unusable', reason: head.reason };
  const { json, cells } = head.value;
  if (json.instance !== instance)
    return { kind: 'unusable', reason: 'it was made from another database' };
  const stampOk = (meta: Readonly<Record<string, unknown>>) =>
    meta.seq === json.seq && meta.instance === instance;
  let bytes = head.bytes;
  const pdq = new Map<number, PdqIndex>();
  for (const threshold of json.groups) {
    // Shared memory, so that worker threads can search it (search-threads.ts).
    const read = readPdqSnapshot(pdqFile(dir, threshold), { shared: true });
    if (read.kind !== 'loaded') return unusable(`pdq-${threshold}.snap`, read);
    if (!stampOk(read.value.meta))
      return { kind: 'unusable', reason: `pdq-${threshold}.snap is from another snapshot` };
    pdq.set(threshold, read.value.index);
    bytes += read.bytes;
  }
  const exact = {} as Record<ExactSignalType, ExactIndex>;
  for (const type of EXACT) {
    const read = readExactSnapshot(path.join(dir, `${type}.snap`));
    if (read.kind !== 'loaded') return unusable(`${type}.snap`, read);
    if (!stampOk(read.value.meta))
      return { kind: 'unusable', reason: `${type}.snap is from another snapshot` };
    exact[type] = read.value.index;
    bytes += read.bytes;
  }
  const matcher = new BankMatcher({ entries: new EntryTable(cells), pdq, exact });
  for (const bank of json.banks) matcher.setBank(bank);
  return { kind: 'loaded', matcher, seq: json.seq, bytes };
}

function pdqFile(dir: string, threshold: number): string {
  return path.join(dir, `pdq-${threshold}.snap`);
}

function unusable(
  file: string,
  read: { kind: 'missing' } | { kind: 'corrupt'; reason: string },
): SnapshotLoad {
  return {
    kind: 'unusable',
    reason: read.kind === 'missing' ? `${file} is missing` : `${file}: ${read.reason}`,
  };
}
