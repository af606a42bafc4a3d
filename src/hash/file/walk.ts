import { readdir, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import type { HashError } from './errors.js';
import { errnoToHashError, hashError, notAFile } from './errors.js';
import type { EntryType } from './reader.js';
import { entryType } from './reader.js';

/** A file to hash, or a path the walk could not get past (reported, not fatal). */
export interface WalkEntry {
  readonly path: string;
  readonly error?: HashError;
}

export interface WalkStat {
  readonly type: EntryType;
  /** Device and inode, as text: the identity that detects a folder seen before. */
  readonly id: string;
}

export interface WalkDirent {
  readonly name: string;
  readonly type: EntryType | 'symlink';
}

/** The directory operations the walk needs; injected in tests (root ignores permissions). */
export interface WalkFs {
  /** Follows symbolic links. Rejects with a Node errno error. */
  stat(path: string): Promise<WalkStat>;
  readdir(path: string): Promise<WalkDirent[]>;
}

export const nodeWalkFs: WalkFs = {
  async stat(p) {
    // bigint: inode numbers on some file systems do not fit in a double.
    const s = await stat(p, { bigint: true });
    return { type: entryType(s), id: `${s.dev}:${s.ino}` };
  },
  async readdir(p) {
    const entries = await readdir(p, { withFileTypes: true });
    return entries.map((d) => ({ name: d.name, type: direntType(d) }));
  },
};

function direntType(d: Dirent): WalkDirent['type'] {
  return d.isSymbolicLink() ? 'symlink' : entryType(d);
}

/**
 * Every file under the given paths, depth first, each folder's entries in
 * name order, so two runs over the same tree list the same files in the same
 * order. Symbolic links are followed; a link back to a folder that contains
 * it is reported as `symlink-loop` instead of being walked forever. Folders
 * that cannot be listed, broken links and special files become entries with
 * an error, and the walk goes on.
 */
export interface WalkOptions {
  readonly fs?: WalkFs;
  /** Stops the walk early (it then just ends). */
  readonly signal?: AbortSignal;
}

export async function* walk(
  roots: Iterable<string>,
  options: WalkOptions = {},
): AsyncGenerator<WalkEntry> {
  const fs = options.fs ?? nodeWalkFs;
  for (const root of roots) {
    if (options.signal?.aborted) return;
    let info: WalkStat;
    try {
      info = await fs.stat(root);
    } catch (error) {
      yield { path: root, error: errnoToHashError(error, 'walk') };
      continue;
    }
    yield* visit(fs, root, info, new Set(), options.signal);
  }
}

async function* visit(
  fs: WalkFs,
  at: string,
  info: WalkStat,
  ancestors: Set<string>,
  signal: AbortSignal | undefined,
): AsyncGenerator<WalkEntry> {
  if (info.type === 'file') {
    yield { path: at };
    return;
  }
  if (info.type !== 'directory') {
    yield { path: at, error: notAFile(info.type) };
    return;
  }
  if (ancestors.has(info.id)) {
    yield { path: at, error: hashError('symlink-loop') };
    return;
  }
  if (signal?.aborted) return;
  let entries: WalkDirent[];
  try {
    entries = await fs.readdir(at);
  } catch (error) {
    yield { path: at, error: errnoToHashError(error, 'walk') };
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  ancestors.add(info.id);
  for (const entry of entries) {
    if (signal?.aborted) break;
    const child = path.join(at, entry.name);
    // Plain files need no stat here: the hasher checks the opened file anyway.
    if (entry.type === 'file') {
      yield { path: child };
      continue;
    }
    if (entry.type !== 'directory' && entry.type !== 'symlink') {
      yield { path: child, error: notAFile(entry.type) };
      continue;
    }
    let target: WalkStat;
    try {
      target = await fs.stat(child);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const broken = entry.type === 'symlink' && (code === 'ENOENT' || code === 'ENOTDIR');
      yield {
        path: child,
        error: broken ? hashError('broken-link') : errnoToHashError(error, 'walk'),
      };
      continue;
    }
    yield* visit(fs, child, target, ancestors, signal);
  }
  ancestors.delete(info.id);
}

/** How many entries a walk will yield: the progress bar's total. */
export async function countEntries(
  roots: Iterable<string>,
  options: WalkOptions = {},
): Promise<number> {
  let n = 0;
  for await (const _ of walk(roots, options)) n++;
  return n;
}
