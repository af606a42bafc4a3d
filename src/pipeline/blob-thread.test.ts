import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMediaKey } from '../config.js';
import type { MediaKey } from '../config.js';
import { EncryptedBlobStore, FolderBlobStore } from '../store/blob-store.js';
import { ThreadedBlobStore } from './blob-thread.js';

// The thread runs compiled JavaScript, so it comes from the build (`npm test` builds first).
const WORKER = path.resolve(import.meta.dirname, '../../dist/src/pipeline/blob-worker.js');

describe('ThreadedBlobStore', () => {
  let dir: string;
  let key: MediaKey;
  let plain: EncryptedBlobStore;
  beforeAll(async () => {
    if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run "npm run build" first.`);
    dir = await mkdtemp(path.join(tmpdir(), 'takedown-blob-thread-'));
    key = parseMediaKey(randomBytes(32).toString('hex')) as MediaKey;
    plain = new EncryptedBlobStore(new FolderBlobStore(dir), key);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const threaded = () => new ThreadedBlobStore(plain, dir, key, pathToFileURL(WORKER));

  it('writes blobs encrypted and durably, as the store in the calling thread does', async () => {
    const store = threaded();
    const blobs = Array.from({ length: 20 }, (_, i) => ({
      key: `items/${(i % 3).toString(16).padStart(2, '0')}/${i}`,
      bytes: randomBytes(1000 + i * 997),
    }));
    await Promise.all(blobs.map((blob) => store.put(blob.key, blob.bytes)));
    for (const blob of blobs) {
      const file = path.join(dir, blob.key);
      const raw = await readFile(file);
      expect(raw.includes(blob.bytes.subarray(0, 64))).toBe(false);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(Buffer.from((await store.get(blob.key)) as Uint8Array)).toEqual(blob.bytes);
      expect(Buffer.from((await plain.get(blob.key)) as Uint8Array)).toEqual(blob.bytes);
    }
    // Replaced in place; nothing written aside is left behind.
    await store.put(blobs[0].key, Buffer.from('again'));
    expect(Buffer.from((await plain.get(blobs[0].key)) as Uint8Array).toString()).toBe('again');
    const leftovers = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.tmp'));
    expect(leftovers).toEqual([]);
    expect(await store.delete(blobs[1].key)).toBe(true);
    expect(await store.get(blobs[1].key)).toBeUndefined();
    await store.close();
    await expect(store.put('items/00/x', Buffer.from('late'))).rejects.toThrow(/closed/);
  });

  it('fails a write it cannot do, and carries on', async () => {
    const store = threaded();
    await expect(store.put('../outside', Buffer.from('x'))).rejects.toThrow(
      /could not store the media: not a usable blob key/,
    );
    await store.put('items/ok', Buffer.from('fine'));
    expect(Buffer.from((await plain.get('items/ok')) as Uint8Array).toString()).toBe('fine');
    await store.close();
  });

  it('fails the write, naming the thread, when the thread cannot start', async () => {
    const store = new ThreadedBlobStore(
      plain,
      dir,
      key,
      pathToFileURL(path.join(dir, 'no-such-worker.js')),
    );
    await expect(store.put('items/never', Buffer.from('x'))).rejects.toThrow(
      /the media writing thread stopped/,
    );
    await store.close();
  });
});
