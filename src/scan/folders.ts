import { stat } from 'node:fs/promises';
import type { HashError } from '../hash/file/errors.js';
import { errnoToHashError, hashError } from '../hash/file/errors.js';
import type { HashOptions, HashRecord } from '../hash/file/hash-file.js';
import { hashFiles } from '../hash/file/hash-files.js';
import type { FileHasher } from '../hash/file/pool.js';
import type { WalkEntry, WalkOptions } from '../hash/file/walk.js';
import { walk } from '../hash/file/walk.js';
import type { ScanSession } from './session.js';
import type { ChangeTimes } from './since.js';
import { mapOrdered } from './ordered.js';
import { changedSince } from './since.js';
import type { StateEntry } from './state.js';
import { fileStamp } from './state.js';

/** What the scan needs to know about a file before reading it. */
export interface FileTimes extends ChangeTimes {
  readonly size: number;
}

export interface FolderIo {
  readonly walk: (roots: readonly string[], options: WalkOptions) => AsyncIterable<WalkEntry>;
  /** Follows links, as the walk does. Rejects with a Node errno error. */
  readonly stat: (path: string) => Promise<FileTimes>;
}

export const nodeFolderIo: FolderIo = {
  walk: (roots, options) => walk(roots, options),
  stat: (path) => stat(path),
};

/** Files looked at (stat) at once ahead of hashing. */
const STATS_AT_ONCE = 16;

function lookAt(io: FolderIo) {
  return async (
    entry: WalkEntry,
  ): Promise<{ entry: WalkEntry; times?: FileTimes; error?: unknown }> => {
    if (entry.error) return { entry };
    try {
      return { entry, times: await io.stat(entry.path) };
    } catch (error) {
      return { entry, error };
    }
  };
}

/** What to do with one path the walk found. */
export type FileDecision =
  | {
      readonly kind: 'problem';
      readonly path: string;
      readonly error: HashError;
      readonly root: boolean;
    }
  | { readonly kind: 'unchanged'; readonly path: string }
  | {
      readonly kind: 'resumed';
      readonly path: string;
      readonly stamp: string;
      readonly entry: StateEntry;
    }
  | {
      readonly kind: 'hash';
      readonly path: string;
      readonly stamp: string;
      readonly times: FileTimes;
    };

export interface PlanOptions {
  readonly since?: Date;
  /** Finished files of an interrupted run, by path. */
  readonly resume?: ReadonlyMap<string, StateEntry>;
  readonly signal?: AbortSignal;
}

/**
 * Every path under the roots with what to do with it: report a problem
 * (the walk's, or a file gone before it could be looked at), leave it out
 * (`--since`), take its hashes from the state (`--resume`: same size and
 * modification time as when it was hashed), or hash it. `--dry-run` prints
 * this plan; a scan carries it out.
 */
export async function* planFiles(
  roots: readonly string[],
  options: PlanOptions,
  io: FolderIo = nodeFolderIo,
): AsyncGenerator<FileDecision> {
  const rootSet = new Set(roots);
  const looked = mapOrdered(io.walk(roots, { signal: options.signal }), lookAt(io), STATS_AT_ONCE);
  for await (const { entry, times, error } of looked) {
    if (entry.error) {
      yield {
        kind: 'problem',
        path: entry.path,
        error: entry.error,
        root: rootSet.has(entry.path),
      };
      continue;
    }
    if (times === undefined) {
      yield {
        kind: 'problem',
        path: entry.path,
        error: errnoToHashError(error, 'read'),
        root: false,
      };
      continue;
    }
    if (!changedSince(times, options.since)) {
      yield { kind: 'unchanged', path: entry.path };
      continue;
    }
    const stamp = fileStamp(times.size, times.mtimeMs);
    const saved = options.resume?.get(entry.path);
    if (saved !== undefined && saved.stamp === stamp) {
      yield { kind: 'resumed', path: entry.path, stamp, entry: saved };
      continue;
    }
    yield { kind: 'hash', path: entry.path, stamp, times };
  }
}

export interface FolderScanOptions extends PlanOptions {
  readonly hasher: FileHasher;
  readonly hashOptions: HashOptions;
  /**
   * The hasher itself reports files that changed while it read them (the
   * exact-only worker compares the open file's size and time before and
   * after): the second look is then saved.
   */
  readonly hasherSeesChanges?: boolean;
}

export interface FolderScanResult {
  /** Roots that could not be read at all: the scan is incomplete. */
  readonly unreadableRoots: readonly string[];
}

/**
 * Carries out the plan: problems, unchanged and resumed files go straight
 * to the session; the rest is hashed on the hasher's threads, in walk
 * order. A file whose size or modification time moved between the look
 * before and the look after reading was changed while it was read: its
 * hashes may describe a mix of two versions, so they are dropped and the
 * file is reported as `file-changed` (and tried again by `--resume`).
 */
export async function scanFolders(
  roots: readonly string[],
  session: ScanSession,
  options: FolderScanOptions,
  io: FolderIo = nodeFolderIo,
): Promise<FolderScanResult> {
  const unreadableRoots: string[] = [];
  const before = new Map<string, { stamp: string; times: FileTimes }>();
  async function* toHash(): AsyncGenerator<string> {
    for await (const decision of planFiles(roots, options, io)) {
      const location = { kind: 'file', path: decision.path } as const;
      switch (decision.kind) {
        case 'problem':
          if (decision.root) unreadableRoots.push(decision.path);
          session.problem(location, decision.error);
          break;
        case 'unchanged':
          session.unchanged(location);
          break;
        case 'resumed':
          await session.hashed(
            { location, record: decision.entry.record, origin: 'resumed' },
            decision.stamp,
          );
          break;
        case 'hash':
          before.set(decision.path, { stamp: decision.stamp, times: decision.times });
          yield decision.path;
      }
    }
  }
  for await (const hashed of hashFiles(toHash(), {
    ...options.hashOptions,
    hasher: options.hasher,
  })) {
    if (options.signal?.aborted) break;
    const seen = before.get(hashed.path);
    before.delete(hashed.path);
    const record = options.hasherSeesChanges
      ? hashed
      : await unlessChanged(hashed, seen?.times, io);
    const { path, ...content } = record;
    await session.hashed(
      { location: { kind: 'file', path }, record: content, origin: 'hashed' },
      seen?.stamp ?? null,
    );
  }
  return { unreadableRoots };
}

async function unlessChanged(
  record: HashRecord,
  times: FileTimes | undefined,
  io: FolderIo,
): Promise<HashRecord> {
  if (record.error !== undefined || times === undefined) return record;
  const after = await io.stat(record.path).catch(() => undefined);
  if (after === undefined) return { path: record.path, error: hashError('file-vanished') };
  if (after.size !== times.size || after.mtimeMs !== times.mtimeMs) {
    return { path: record.path, error: hashError('file-changed') };
  }
  return record;
}
