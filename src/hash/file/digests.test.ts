import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExactHasher, exactHashes, exactHashesOfStream } from './digests.js';
import { hashFile } from './hash-file.js';

const run = promisify(execFile);

function reference(bytes: Uint8Array) {
  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    sha1: createHash('sha1').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

describe('exact hashes', () => {
  it('match node:crypto whatever the chunking', async () => {
    const bytes = randomBytes(300_001);
    const hasher = new ExactHasher();
    for (let at = 0, step = 1; at < bytes.length; at += step, step = step * 3 + 1) {
      hasher.update(bytes.subarray(at, at + step));
    }
    expect(hasher.bytes).toBe(bytes.length);
    expect(hasher.digest()).toEqual(reference(bytes));
    expect(exactHashes(bytes)).toEqual(reference(bytes));
    async function* chunks() {
      for (let at = 0; at < bytes.length; at += 65_536) yield bytes.subarray(at, at + 65_536);
    }
    expect(await exactHashesOfStream(chunks())).toEqual({
      bytes: bytes.length,
      ...reference(bytes),
    });
  });

  it('of nothing are the well-known empty digests', () => {
    expect(exactHashes(new Uint8Array())).toEqual({
      md5: 'd41d8cd98f00b204e9800998ecf8427e',
      sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
  });
});

describe('a file larger than 4 GiB', () => {
  let dir: string;
  let file: string;
  // 4 GiB + 1 KiB: past every 32-bit size and offset.
  const size = 4 * 1024 ** 3 + 1024;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'takedown-big-'));
    file = path.join(dir, 'big.bin');
    // Sparse: no disk space, yet every byte is read and hashed. A few marks
    // (at the start, across the 2 GiB and 4 GiB boundaries, at the end) make
    // the digests differ from those of plain zeros.
    const handle = await open(file, 'w');
    await handle.truncate(size);
    for (const at of [0, 2 ** 31 - 3, 2 ** 32 - 5, size - 8]) {
      await handle.write(Buffer.from('takedown'), 0, 8, at);
    }
    await handle.close();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is hashed in one streamed pass with flat memory, matching node:crypto', async () => {
    // The check runs in another process, in parallel, reading through a
    // Node stream: a different path to the same digests.
    const check = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createReadStream } from 'node:fs';
         import { createHash } from 'node:crypto';
         const hashes = ['md5', 'sha1', 'sha256'].map((a) => createHash(a));
         for await (const chunk of createReadStream(process.argv[1], { highWaterMark: 1 << 22 })) {
           for (const h of hashes) h.update(chunk);
         }
         console.log(JSON.stringify(hashes.map((h) => h.digest('hex'))));`,
        file,
      ],
      { maxBuffer: 1 << 20 },
    );
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakBuffers = before.arrayBuffers;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peakRss = Math.max(peakRss, now.rss);
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
    }, 20);
    const record = await hashFile(file).finally(() => clearInterval(sampler));
    const [md5, sha1, sha256] = JSON.parse((await check).stdout) as string[];

    expect(record).toEqual({ path: file, bytes: size, md5, sha1, sha256 });
    // Reading 4 GiB into memory would add gigabytes; streaming adds one buffer.
    expect(peakRss - before.rss).toBeLessThan(64 * 1024 ** 2);
    expect(peakBuffers - before.arrayBuffers).toBeLessThan(16 * 1024 ** 2);
  }, 180_000);
});
