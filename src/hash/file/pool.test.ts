import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImageSet } from '../../../test/support/image-files.js';
import type { HashRecord } from './hash-file.js';
import type * as Lib from './index.js';

// Workers run compiled JavaScript, so this suite runs against the build
// (`npm test` builds first), typed by the sources.
const DIST = path.resolve(import.meta.dirname, '../../../dist/src/hash/file/index.js');
type Library = typeof Lib;
let lib: Library;

let dir: string;
let files: string[];
beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run "npm run build" first.`);
  lib = (await import(pathToFileURL(DIST).href)) as Library;
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-pool-'));
  const set = await writeImageSet(dir);
  await writeFile(path.join(dir, 'big.bin'), randomBytes(24 * 1024 * 1024));
  await writeFile(path.join(dir, 'text.txt'), 'hello\n');
  await writeFile(path.join(dir, 'empty'), '');
  // A slow file first, then many quick ones, with failures mixed in.
  files = [path.join(dir, 'big.bin')];
  for (let i = 0; i < 4; i++) {
    files.push(...Object.values(set.files), path.join(dir, 'text.txt'), path.join(dir, 'empty'));
    files.push(path.join(dir, `missing-${i}`));
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function all(records: AsyncIterable<HashRecord>): Promise<HashRecord[]> {
  const out: HashRecord[] = [];
  for await (const record of records) out.push(record);
  return out;
}

describe('hashing in worker threads', () => {
  it('gives each file the record hashFile gives, in input order', async () => {
    const inWorkers = await all(lib.hashFiles(files, { jobs: 2, variants: true }));
    const inThread = [];
    for (const file of files) inThread.push(await lib.hashFile(file, { variants: true }));
    expect(inWorkers.map((r) => r.path)).toEqual(files);
    expect(inWorkers).toEqual(inThread);
    expect(inWorkers.filter((r) => r.pdq).length).toBeGreaterThan(40);
  }, 120_000);

  it('pulls only a bounded number of entries ahead of the reader', async () => {
    let pulled = 0;
    function* lazy() {
      for (let i = 0; i < 10_000; i++) {
        pulled++;
        yield files[1 + (i % (files.length - 1))];
      }
    }
    const pool = new lib.HashWorkerPool({ jobs: 2 });
    try {
      const records = lib.hashFiles(lazy(), { hasher: pool });
      await records.next();
      expect(pulled).toBeLessThanOrEqual(pool.concurrency * 4 + 1);
      await records.return(undefined);
    } finally {
      await pool.close();
    }
  });

  it('is what the package exports as takedown/hash/file', async () => {
    const exported = (await import('takedown/hash/file' as string)) as Library;
    expect(exported.hashFiles).toBe(lib.hashFiles);
    expect(Object.keys(exported)).toEqual(
      expect.arrayContaining(['hashFile', 'hashBytes', 'walk']),
    );
  });

  it('uses one worker per core by default', async () => {
    const pool = new lib.HashWorkerPool();
    expect(pool.size).toBe(availableParallelism());
    await pool.close();
  });

  it('reports the files of a worker that died as hash-failed, and carries on', async () => {
    // A stand-in worker that dies on one file, to show the pool survives it.
    const worker = path.join(dir, 'crashing-worker.mjs');
    await writeFile(
      worker,
      `import { parentPort } from 'node:worker_threads';
       parentPort.postMessage({ ready: true });
       parentPort.on('message', ({ id, path }) => {
         if (path === 'exit') process.exit(3);
         if (path === 'throw') throw new Error('decoder blew up');
         parentPort.postMessage({ id, record: { path, bytes: 1 } });
       });`,
    );
    const pool = new lib.HashWorkerPool({
      jobs: 1,
      filesPerWorker: 1,
      workerUrl: pathToFileURL(worker),
    });
    const records = await all(lib.hashFiles(['throw', 'a', 'exit', 'b'], { hasher: pool }));
    await pool.close();
    expect(records.map((r) => [r.path, r.error?.code ?? 'ok'])).toEqual([
      ['throw', 'hash-failed'],
      ['a', 'ok'],
      ['exit', 'hash-failed'],
      ['b', 'ok'],
    ]);
    expect(records[0].error?.message).toContain('decoder blew up');
    expect(records[2].error?.message).toContain('exit code 3');
  });

  it('fails loudly when the worker cannot start at all', async () => {
    const pool = new lib.HashWorkerPool({
      jobs: 1,
      workerUrl: pathToFileURL(path.join(dir, 'no-such-worker.js')),
    });
    await expect(all(lib.hashFiles(['a', 'b'], { hasher: pool }))).rejects.toMatchObject({
      code: 'hash-worker-failed',
    });
    await pool.close();
  });
});
