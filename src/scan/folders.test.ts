import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashError } from '../hash/file/errors.js';
import { inThreadHasher } from '../hash/file/pool.js';
import type { WalkEntry } from '../hash/file/walk.js';
import { exactHashFile } from './exact-file.js';
import type { FileDecision, FileTimes, FolderIo } from './folders.js';
import { planFiles, scanFolders } from './folders.js';
import { ScanSession } from './session.js';
import type { ReportRow } from './types.js';

function io(entries: WalkEntry[], times: Record<string, FileTimes | Error>): FolderIo {
  return {
    async *walk() {
      yield* entries;
    },
    async stat(p) {
      const t = times[p];
      if (t === undefined || t instanceof Error)
        throw t ?? Object.assign(new Error('gone'), { code: 'ENOENT' });
      return t;
    },
  };
}

const t = (size: number, mtimeMs: number, ctimeMs = mtimeMs): FileTimes => ({
  size,
  mtimeMs,
  ctimeMs,
});

async function all(gen: AsyncIterable<FileDecision>): Promise<FileDecision[]> {
  const out = [];
  for await (const d of gen) out.push(d);
  return out;
}

describe('planning a folder scan', () => {
  it('decides per file: problem, unchanged, resumed or hash', async () => {
    const decisions = await all(
      planFiles(
        ['/root', '/missing'],
        {
          since: new Date(1000),
          resume: new Map([
            ['/root/done', { key: '/root/done', stamp: '5:2000', record: { bytes: 5 } }],
            ['/root/edited', { key: '/root/edited', stamp: '5:2000', record: { bytes: 5 } }],
          ]),
        },
        io(
          [
            { path: '/missing', error: hashError('not-found') },
            { path: '/root/old' },
            { path: '/root/done' },
            { path: '/root/edited' },
            { path: '/root/new' },
            { path: '/root/fifo', error: hashError('not-a-file') },
            { path: '/root/vanished' },
          ],
          {
            '/root/old': t(5, 10),
            '/root/done': t(5, 2000),
            '/root/edited': t(5, 3000),
            '/root/new': t(7, 4000),
          },
        ),
      ),
    );
    expect(decisions.map((d) => [d.path, d.kind])).toEqual([
      ['/missing', 'problem'],
      ['/root/old', 'unchanged'],
      ['/root/done', 'resumed'],
      ['/root/edited', 'hash'],
      ['/root/new', 'hash'],
      ['/root/fifo', 'problem'],
      ['/root/vanished', 'problem'],
    ]);
    expect(decisions[0]).toMatchObject({ root: true });
    expect(decisions[5]).toMatchObject({ root: false });
    expect(decisions[6]).toMatchObject({ error: { code: 'file-vanished' } });
  });
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-folders-'));
  await writeFile(path.join(dir, 'a.txt'), 'hello');
  await writeFile(path.join(dir, 'b.txt'), 'world');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scanning folders', () => {
  it('drops the hashes of a file that changed while it was read, and does not save it', async () => {
    const a = path.join(dir, 'a.txt');
    const b = path.join(dir, 'b.txt');
    let looksAtB = 0;
    const folderIo: FolderIo = {
      async *walk() {
        yield { path: a };
        yield { path: b };
      },
      // b's modification time moves between the look before and the look after reading.
      stat: async (p) => (p === b ? t(5, ++looksAtB) : t(5, 1)),
    };
    const rows: ReportRow[] = [];
    const saved: string[] = [];
    const session = new ScanSession({
      checker: {
        maxBatch: 100,
        target: { kind: 'server', url: 'x' },
        check: async (qs) => qs.map(() => []),
      },
      threshold: 31,
      minPdqQuality: 50,
      rows: { add: (row) => rows.push(row) },
      state: { append: (entry) => saved.push(entry.key) },
    });
    const result = await scanFolders(
      [dir],
      session,
      { hasher: inThreadHasher(), hashOptions: {} },
      folderIo,
    );
    await session.finish();
    expect(result.unreadableRoots).toEqual([]);
    expect(saved).toEqual([a]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'error',
      location: { path: b },
      error: { code: 'file-changed' },
    });
    expect(rows[0].record.sha256).toBeUndefined();
    expect(session.counts).toMatchObject({ found: 2, hashed: 2, errors: 1, checked: 1 });
  });
});

describe('exact-only hashing', () => {
  it('hashes without decoding, tells images by content, and catches files cut short', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const file = path.join(dir, 'not-really.txt');
    await writeFile(file, png);
    expect(await exactHashFile(file)).toMatchObject({ bytes: png.length, format: 'png' });
    expect(await exactHashFile(path.join(dir, 'a.txt'))).toMatchObject({
      bytes: 5,
      md5: '5d41402abc4b2a76b9719d911017c592',
    });
    const regular = {
      isFile: () => true,
      isDirectory: () => false,
      isFIFO: () => false,
      isSocket: () => false,
      isCharacterDevice: () => false,
      isBlockDevice: () => false,
    };
    const fake = (reads: number[], mtimes: number[]) => ({
      open: () => 3,
      fstat: () => ({ ...regular, size: 100, mtimeMs: mtimes.shift() ?? 0 }),
      read: () => reads.shift() ?? 0,
      close: () => undefined,
    });
    const result = (reads: number[], mtimes: number[]) => exactHashFile('x', fake(reads, mtimes));
    expect(await result([10], [1, 1])).toMatchObject({ error: { code: 'file-vanished' } });
    expect(await result([60, 40], [1, 2])).toMatchObject({ error: { code: 'file-changed' } });
    expect(await result([60, 40], [1, 1])).toMatchObject({ bytes: 100 });
    const fifo = {
      ...fake([], []),
      fstat: () => ({ ...regular, isFile: () => false, isFIFO: () => true, size: 0, mtimeMs: 0 }),
    };
    expect(await exactHashFile('x', fifo)).toMatchObject({ error: { code: 'not-a-file' } });
    expect(await exactHashFile(path.join(dir, 'nope'))).toMatchObject({
      error: { code: 'not-found' },
    });
  });
});
