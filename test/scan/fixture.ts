import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashBytes } from '../../src/hash/file/hash-file.js';
import { hammingDistance } from '../../src/hash/pdq-hash.js';
import type { BankFileEntry } from '../../src/scan/bank-file.js';
import type { NearDuplicates } from './images.js';
import { PLANTED_SEEDS, nearDuplicates, otherImage } from './images.js';

/**
 * A provider's storage with known material planted in it (synthetic), and
 * the bank that lists the originals. Every file the bank should catch is
 * listed in `expected` with how: the original by its exact hash, the
 * near-duplicates by PDQ at the distance computed here.
 */

export const BANK = 'police-nl';
export const CATEGORY = 'baseline';

export interface Expected {
  readonly path: string;
  readonly matchedBy: 'sha256' | 'pdq';
  readonly distance: number;
}

export interface Storage {
  readonly root: string;
  readonly bankEntries: BankFileEntry[];
  readonly bankFile: string;
  readonly expected: Expected[];
  /** Files of every kind in the tree (images, text, empty, damaged), links and FIFOs excepted. */
  readonly fileCount: number;
  readonly imageBytes: Buffer[];
}

export async function writeStorage(dir: string): Promise<Storage> {
  const root = path.join(dir, 'storage');
  await mkdir(path.join(root, 'customer-a', 'uploads'), { recursive: true });
  await mkdir(path.join(root, 'customer-b'), { recursive: true });
  const bankEntries: BankFileEntry[] = [];
  const expected: Expected[] = [];
  const imageBytes: Buffer[] = [];
  let files = 0;
  const put = async (rel: string, bytes: Buffer | string) => {
    await writeFile(path.join(root, rel), bytes);
    files++;
    if (Buffer.isBuffer(bytes)) imageBytes.push(bytes);
  };

  const sets = new Map<number, NearDuplicates>();
  for (const seed of PLANTED_SEEDS) {
    const set = await nearDuplicates(seed);
    sets.set(seed, set);
    const hashes = await hashBytes(set.original);
    for (const type of ['pdq', 'sha256', 'md5'] as const) {
      bankEntries.push({ type, value: hashes[type] as string, bank: BANK, category: CATEGORY });
    }
  }
  const plant = async (rel: string, seed: number, kind: keyof NearDuplicates) => {
    const set = sets.get(seed) as NearDuplicates;
    await put(rel, set[kind]);
    const original = await hashBytes(set.original);
    const copy = await hashBytes(set[kind]);
    expected.push({
      path: path.join(root, rel),
      matchedBy: kind === 'original' ? 'sha256' : 'pdq',
      distance:
        kind === 'original' ? 0 : hammingDistance(original.pdq as string, copy.pdq as string),
    });
  };
  await plant('customer-a/uploads/holiday.jpg', 11, 'original');
  await plant('customer-a/uploads/thumb-0001.jpg', 13, 'resized');
  await plant('customer-a/cropped.png', 16, 'cropped');
  await plant('customer-b/reupload.jpg', 11, 'lowQuality');
  await plant('customer-b/edited', 13, 'brightened'); // no extension: recognised by content
  for (let i = 0; i < 6; i++) {
    await put(
      `customer-${i % 2 ? 'a' : 'b'}/photo-${i}.${i % 3 ? 'jpg' : 'png'}`,
      await otherImage(500 + i, i % 3 ? 'jpeg' : 'png'),
    );
  }
  await put('customer-a/notes.txt', 'not an image\n');
  await put('customer-a/empty.dat', Buffer.alloc(0));
  // A JPEG that ends after its header: exact hashes, no PDQ, a reported error.
  await put(
    'customer-b/damaged.jpg',
    Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]), Buffer.from('JFIF\0garbage')]),
  );
  await symlink('..', path.join(root, 'customer-a', 'uploads', 'loop'));
  execFileSync('mkfifo', [path.join(root, 'customer-b', 'pipe')]);

  const bankFile = path.join(dir, 'bank.jsonl');
  // Plus an entry of a type this version does not check, and one of an unrelated image.
  const unrelated = await hashBytes(await otherImage(999));
  const lines = [
    ...bankEntries,
    { type: 'pdq', value: unrelated.pdq as string, bank: 'hotline-x', category: 'national' },
  ].map((e) => JSON.stringify({ ...e, addedAt: '2025-01-01T00:00:00.000Z' }));
  await writeFile(bankFile, `${lines.join('\n')}\n{"type":"video-tmk","value":"00","bank":"x"}\n`);
  return { root, bankEntries, bankFile, expected, fileCount: files, imageBytes };
}
