import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSet } from '../../../test/support/image-files.js';
import { hasHeifEnc, writeImageSet } from '../../../test/support/image-files.js';
import { hashFile } from './hash-file.js';
import type { HashRecord } from './hash-file.js';
import type { EntryType, FileReader } from './reader.js';

function digests(bytes: Uint8Array) {
  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    sha1: createHash('sha1').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/**
 * A file system for one file, misbehaving on request: root ignores
 * permissions, and a file cannot be made to vanish at an exact byte.
 */
function fakeReader(
  content: Uint8Array,
  misbehave: {
    openError?: string;
    type?: EntryType;
    statSize?: number;
    /** Reads at or past this position end the file early (it shrank). */
    endAt?: number;
    /** Reads at or past this position fail with this errno code. */
    failAt?: { position: number; code: string };
  } = {},
): FileReader & { reads: number } {
  const reader = {
    reads: 0,
    async open() {
      if (misbehave.openError) throw errno(misbehave.openError);
      return {
        type: misbehave.type ?? 'file',
        size: misbehave.statSize ?? content.length,
        read: async (into: Uint8Array, offset: number, length: number, position: number) => {
          reader.reads++;
          if (misbehave.failAt && position + length > misbehave.failAt.position) {
            throw errno(misbehave.failAt.code);
          }
          const end = Math.min(content.length, misbehave.endAt ?? Infinity, position + length);
          if (position >= end) return 0;
          into.set(content.subarray(position, end), offset);
          return end - position;
        },
        close: async () => undefined,
      };
    },
  };
  return reader;
}

let dir: string;
let set: ImageSet;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'takedown-bad-'));
  set = await writeImageSet(await mkdtemp(path.join(dir, 'set-')));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function hashContent(name: string, bytes: Uint8Array, options = {}): Promise<HashRecord> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return hashFile(file, options);
}

describe('damaged images keep their exact hashes and get corrupt-image', () => {
  const truncatable = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const;
  it.each(truncatable)('truncated %s', async (name) => {
    const whole = await readFile(set.files[name]);
    const half = whole.subarray(0, whole.length >> 1);
    const record = await hashContent(`half-${name}`, half);
    expect(record).toMatchObject({ bytes: half.length, ...digests(half) });
    expect(record.error?.code).toBe('corrupt-image');
    expect(record.error?.message).toMatch(/damaged or incomplete/);
    expect(record.pdq).toBeUndefined();
  });

  it.skipIf(!hasHeifEnc())('truncated heic (needs heif-enc)', async () => {
    const whole = await readFile(set.files.heic);
    const record = await hashContent('half-heic', whole.subarray(0, whole.length >> 1));
    expect(record.error?.code).toBe('corrupt-image');
    expect(record.md5).toBeDefined();
  });

  it('a PNG signature followed by garbage', async () => {
    const bytes = Buffer.concat([(await readFile(set.files.png)).subarray(0, 8), randomBytes(500)]);
    const record = await hashContent('garbage.png', bytes);
    expect(record).toMatchObject({ format: 'png', ...digests(bytes) });
    expect(record.error?.code).toBe('corrupt-image');
  });

  it('but a JPEG with a benign warning (extraneous bytes) is hashed as usual', async () => {
    const clean = await readFile(set.files.jpeg);
    const scan = clean.indexOf(Buffer.from([0xff, 0xda]));
    const bytes = Buffer.concat([
      clean.subarray(0, scan),
      Buffer.from([1, 2, 3]),
      clean.subarray(scan),
    ]);
    const record = await hashContent('extraneous.jpg', bytes);
    expect(record.error).toBeUndefined();
    expect(record.pdq).toBe((await hashFile(set.files.jpeg)).pdq);
  });

  it('a JPEG start marker followed by garbage', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(500)]);
    expect((await hashContent('garbage.jpg', bytes)).error?.code).toBe('corrupt-image');
  });
});

describe('images we cannot decode get unsupported-image, with exact hashes', () => {
  it('BMP', async () => {
    const bytes = bmp(64, 48);
    const record = await hashContent('picture.bmp', bytes);
    expect(record).toMatchObject({ bytes: bytes.length, ...digests(bytes) });
    expect(record.error).toMatchObject({ code: 'unsupported-image' });
    expect(record.error?.message).toContain('image/bmp');
  });

  it('a BMP too big to keep in memory whole is streamed', async () => {
    const bytes = bmp(1024, 1024);
    expect(bytes.length).toBeGreaterThan(1024 * 1024);
    const record = await hashContent('big.bmp', bytes);
    expect(record).toMatchObject({ bytes: bytes.length, ...digests(bytes) });
    expect(record.error?.code).toBe('unsupported-image');
  });

  it('but a text file that starts with "BM" is just a file', async () => {
    const bytes = Buffer.from('BMW and other makes of car, a plain text file.\n'.repeat(3));
    expect(await hashContent('cars.txt', bytes)).toEqual({
      path: path.join(dir, 'cars.txt'),
      bytes: bytes.length,
      ...digests(bytes),
    });
  });

  it('JPEG XL', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0x0a]), randomBytes(100)]);
    expect((await hashContent('x.jxl', bytes)).error?.code).toBe('unsupported-image');
  });
});

describe('decompression bombs and size limits', () => {
  it('a small PNG declaring 60000x60000 pixels is refused before decoding', async () => {
    const bytes = pngDeclaring(60_000, 60_000);
    const started = Date.now();
    const record = await hashContent('bomb.png', bytes);
    expect(record.error?.code).toBe('image-too-large');
    expect(record.error?.message).toMatch(/decompression bomb/);
    expect(record).toMatchObject({ bytes: bytes.length, ...digests(bytes) });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a JPEG declaring 65000x65000 pixels', async () => {
    const bytes = Buffer.from(await readFile(set.files.jpeg));
    const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
    bytes.writeUInt16BE(65_000, sof + 5);
    bytes.writeUInt16BE(65_000, sof + 7);
    expect((await hashContent('bomb.jpg', bytes)).error?.code).toBe('image-too-large');
  });

  it('the pixel limit is configurable', async () => {
    const bytes = await readFile(set.files.png); // 400x300
    expect((await hashFile(set.files.png, { maxPixels: 120_000 })).pdq).toBeDefined();
    const record = await hashFile(set.files.png, { maxPixels: 119_999 });
    expect(record).toMatchObject({ format: 'png', ...digests(bytes) });
    expect(record.error?.code).toBe('image-too-large');
  });

  it('image files above the byte limit get exact hashes only', async () => {
    const bytes = await readFile(set.files.jpeg);
    const record = await hashFile(set.files.jpeg, { maxImageBytes: 1000 });
    expect(record).toMatchObject({ bytes: bytes.length, ...digests(bytes), format: 'jpeg' });
    expect(record.error?.code).toBe('image-too-large');
    expect(record.error?.message).toContain('TAKEDOWN_MAX_IMAGE_BYTES');
  });
});

describe('files that are not (all) there', () => {
  it('an empty file', async () => {
    const record = await hashContent('empty', new Uint8Array());
    expect(record).toMatchObject({ bytes: 0, ...digests(new Uint8Array()) });
    expect(record.error?.code).toBe('empty-file');
  });

  it('a path with nothing at it', async () => {
    const record = await hashFile(path.join(dir, 'no-such-file'));
    expect(record).toEqual({ path: path.join(dir, 'no-such-file'), error: expect.anything() });
    expect(record.error?.code).toBe('not-found');
  });

  it('a file that shrinks while it is read: image-sized and streamed', async () => {
    const image = await readFile(set.files.jpeg);
    const shrunk = await hashFile('x', { reader: fakeReader(image, { endAt: 1000 }) });
    expect(shrunk).toEqual({
      path: 'x',
      error: expect.objectContaining({ code: 'file-vanished' }),
    });
    const big = randomBytes(5 * 1024 * 1024);
    const cut = await hashFile('y', { reader: fakeReader(big, { endAt: 3 * 1024 * 1024 }) });
    expect(cut).toEqual({ path: 'y', error: expect.objectContaining({ code: 'file-vanished' }) });
  });

  it('a file whose storage disappears mid-read (ESTALE, ENOENT)', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    for (const code of ['ESTALE', 'ENOENT']) {
      const reader = fakeReader(big, { failAt: { position: 2 * 1024 * 1024, code } });
      expect((await hashFile('z', { reader })).error?.code).toBe('file-vanished');
    }
  });

  it('a file that grows while it is read', async () => {
    const image = await readFile(set.files.png);
    const reader = fakeReader(image, { statSize: image.length - 100 });
    expect((await hashFile('g', { reader })).error?.code).toBe('file-changed');
    const big = randomBytes(3 * 1024 * 1024);
    const streamed = fakeReader(big, { statSize: 2 * 1024 * 1024 });
    expect((await hashFile('h', { reader: streamed, maxImageBytes: 1 })).error?.code).toBe(
      'file-changed',
    );
  });

  it('an I/O error is read-error and names the errno', async () => {
    const reader = fakeReader(randomBytes(100), { failAt: { position: 0, code: 'EIO' } });
    expect((await hashFile('e', { reader })).error).toEqual({
      code: 'read-error',
      message: 'The file could not be read (EIO).',
    });
  });
});

describe('permissions and special files', () => {
  it.each(['EACCES', 'EPERM'])(
    '%s on open is permission-denied (injected: root reads anything)',
    async (code) => {
      const reader = fakeReader(randomBytes(10), { openError: code });
      expect(await hashFile('secret', { reader })).toEqual({
        path: 'secret',
        error: expect.objectContaining({ code: 'permission-denied' }),
      });
    },
  );

  // Root reads any file whatever its mode (CI runs as root), so a real
  // unreadable file only exists for other users; the injected EACCES/EPERM
  // cases above cover the same path for everyone.
  it.skipIf(process.getuid?.() === 0)('a real unreadable file (not as root)', async () => {
    const file = path.join(dir, 'unreadable');
    await writeFile(file, 'x');
    await chmod(file, 0o000);
    expect((await hashFile(file)).error?.code).toBe('permission-denied');
  });

  it('a named pipe is not-a-file, and is not waited on', async () => {
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const record = await hashFile(fifo);
    expect(record.error?.code).toBe('not-a-file');
    expect(record.error?.message).toContain('named pipe');
  });

  it('a device and a folder are not-a-file', async () => {
    expect((await hashFile('/dev/null')).error?.message).toContain('character device');
    await mkdir(path.join(dir, 'folder'));
    expect((await hashFile(path.join(dir, 'folder'))).error?.message).toContain('a folder');
  });

  it('an injected special file is never read', async () => {
    const reader = fakeReader(randomBytes(10), { type: 'socket' });
    expect((await hashFile('s', { reader })).error?.code).toBe('not-a-file');
    expect(reader.reads).toBe(0);
  });
});

/** A valid 24-bit BMP of mid-grey pixels. */
function bmp(width: number, height: number): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + stride * height, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(stride * height, 34);
  return Buffer.concat([header, Buffer.alloc(stride * height, 128)]);
}

/** A PNG whose header claims a huge size over a few bytes of data. */
function pngDeclaring(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1000))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
