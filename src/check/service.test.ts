import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../test/support/db.js';
import type { CheckHarness } from '../../test/support/hash-check.js';
import { importLines, startCheckHarness, within } from '../../test/support/hash-check.js';
import { makeTempDir } from '../../test/support/temp.js';
import { createBank, disableBank, enableBank, removeEntry, updateBank } from '../banks/queries.js';
import { createLogger } from '../log.js';
import { pdqHexToWords, pdqWordsToHex } from '../hash/pdq-hash.js';
import { flipBits, uint32Source } from '../match/synthetic-codes.js';
import { connectPostgres } from '../store/postgres.js';
import type { HashCheck } from './service.js';

/** The matcher service: loading, following changes, snapshots, several processes. */

const next = uint32Source(4242);
const randomPdq = () => pdqWordsToHex(Uint32Array.from({ length: 8 }, next));
const flipped = (hex: string, bits: number) => {
  const words = pdqHexToWords(hex);
  flipBits(words, bits, next);
  return pdqWordsToHex(words);
};
const banksOf = (service: HashCheck, hex: string, threshold?: number) =>
  service.matcher.matcher
    .match([{ type: 'pdq', words: [pdqHexToWords(hex)] }], threshold)[0]
    .map((hit) => `${hit.bank.name}:${hit.distance}`);

describeEachDatabase('matcher service', (t) => {
  let h: CheckHarness;
  const dirs: string[] = [];
  const A = randomPdq();

  beforeAll(async () => {
    await createBank(t.db, { name: 's1', category: 'baseline' });
    await importLines(t.db, 's1', [A], 'pdq');
    h = await startCheckHarness(t.db);
  });
  afterAll(async () => {
    await h?.stop();
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
  });

  it('loads every enabled entry at start', () => {
    expect(banksOf(h.service, A)).toEqual(['s1:0']);
    expect(h.readiness).toBeDefined();
  });

  it('picks up an import within a second', async () => {
    const B = randomPdq();
    await importLines(t.db, 's1', [B], 'pdq');
    const ms = await within(1000, () => banksOf(h.service, B).length === 1);
    expect(ms).toBeLessThan(1000);
  });

  it('stops matching a removed entry at once in the process that removed it', async () => {
    const C = randomPdq();
    await importLines(t.db, 's1', [C], 'pdq');
    await within(1000, () => banksOf(h.service, C).length === 1);
    await h.service.feed.stop(); // no polling: only the direct removal can act
    try {
      await h.service.removeEntry('s1', { value: C }, 'false positive');
      expect(banksOf(h.service, C)).toEqual([]);
    } finally {
      h.service.feed.start();
    }
  });

  it('follows disabling and enabling a bank, and a changed threshold', async () => {
    const D = randomPdq();
    await createBank(t.db, { name: 's2' });
    await importLines(t.db, 's2', [flipped(D, 35)], 'pdq');
    await within(1000, () => h.service.matcher.matcher.banks().some((b) => b.name === 's2'));
    await within(1000, () => h.service.matcher.matcher.stats().entries.pdq >= 3);
    expect(banksOf(h.service, D)).toEqual([]);
    await updateBank(t.db, 's2', { pdqThreshold: 40 });
    await within(1000, () => banksOf(h.service, D).length === 1);
    expect(banksOf(h.service, D)).toEqual(['s2:35']);
    await disableBank(t.db, 's2');
    await within(1000, () => banksOf(h.service, D).length === 0);
    expect(h.service.matcher.matcher.stats().pdqGroups['40']).toBeUndefined();
    await enableBank(t.db, 's2');
    await within(1000, () => banksOf(h.service, D).length === 1);
  });

  it('restarts from its snapshot and replays what changed since', async () => {
    const dir = await makeTempDir('takedown-matcher-');
    dirs.push(dir);
    const first = await startCheckHarness(t.db, {}, { snapshotDir: dir });
    await first.stop(); // writes the snapshot
    expect((await fs.readdir(dir)).sort()).toEqual(
      expect.arrayContaining(['entries.snap', 'md5.snap', 'pdq-31.snap']),
    );
    const E = randomPdq();
    await importLines(t.db, 's1', [E], 'pdq'); // while no server runs
    await removeEntry(t.db, 's1', { value: A });
    const second = await startCheckHarness(t.db, {}, { snapshotDir: dir });
    try {
      expect(second.log.join('\n')).toMatch(/"from":"snapshot"/);
      await within(1000, () => banksOf(second.service, E).length === 1);
      await within(1000, () => banksOf(second.service, A).length === 0);
    } finally {
      await second.stop();
    }
    // A damaged snapshot is not trusted: the database is.
    const file = path.join(dir, 'pdq-31.snap');
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await fs.writeFile(file, bytes);
    const third = await startCheckHarness(t.db, {}, { snapshotDir: dir });
    try {
      expect(third.log.join('\n')).toMatch(
        /checksum does not match.*not using the matcher snapshot/,
      );
      expect(third.log.join('\n')).toMatch(/"from":"database"/);
      expect(banksOf(third.service, E)).toHaveLength(1);
    } finally {
      await third.stop();
    }
  });

  it('keeps two server processes on one PostgreSQL consistent within a second', async (context) => {
    if (t.kind !== 'postgres' || t.url === undefined) {
      context.skip(); // one process owns the embedded database; test/cli-bank.test.ts covers it with a server and a CLI
      return;
    }
    const logger = createLogger('silent');
    const handles = [0, 1].map(() => connectPostgres({ connectionString: t.url, max: 3 }, logger));
    const others = await Promise.all(handles.map((db) => startCheckHarness(db)));
    try {
      const F = randomPdq();
      const B0 = randomPdq();
      await importLines(t.db, 's1', [B0], 'pdq');
      await importLines(t.db, 's1', [F], 'pdq');
      for (const other of others) {
        expect(await within(1000, () => banksOf(other.service, F).length === 1)).toBeLessThan(1000);
      }
      await removeEntry(t.db, 's1', { value: F });
      for (const other of others) {
        expect(await within(1000, () => banksOf(other.service, F).length === 0)).toBeLessThan(1000);
      }
      await disableBank(t.db, 's1');
      for (const other of others) await within(1000, () => banksOf(other.service, B0).length === 0);
      await enableBank(t.db, 's1');
      for (const other of others) await within(1000, () => banksOf(other.service, B0).length === 1);
    } finally {
      for (const other of others) await other.stop();
      for (const db of handles) await db.destroy();
    }
  });
});
