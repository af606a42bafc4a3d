import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../test/support/db.js';
import { changesSince, latestChange } from '../changes/changes.js';
import { exportEntries, exportLine } from './export.js';
import type { ImportOptions } from './import.js';
import { importEntries } from './import.js';
import { createBank, listBanks, removeEntry } from './queries.js';

/** Generated hashes: hex of a counter, padded. Never real hashes. */
const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
const pdq = (n: number) => hex(n, 64);
const md5 = (n: number) => hex(n, 32);

function lines(...text: string[]): AsyncIterable<Buffer> {
  return (async function* () {
    yield Buffer.from(text.join('\n'));
  })();
}

describeEachDatabase('bank import', (t) => {
  let bankNo = 0;
  const newBank = async () => (await createBank(t.db, { name: `b${++bankNo}` })).name;
  const run = (bank: string, input: AsyncIterable<Buffer>, options: ImportOptions = {}) =>
    importEntries(t.db, bank, input, options);
  const entryCount = async (bank: string) =>
    (await listBanks(t.db)).find((b) => b.name === bank)?.entries;

  it('imports bare hashes with --type, skipping blanks and comments', async () => {
    const bank = await newBank();
    const result = await run(
      bank,
      lines('# police list', pdq(1), '', pdq(2).toUpperCase(), pdq(3)),
      {
        type: 'pdq',
      },
    );
    expect(result).toMatchObject({
      kind: 'imported',
      format: 'hashes',
      lines: 3,
      added: 3,
      invalid: 0,
    });
    expect((await entryCount(bank))?.pdq).toBe(3);
  });

  it('needs --type for bare hashes', async () => {
    await expect(run(await newBank(), lines(pdq(1)))).rejects.toThrow(/--type/);
  });

  it('reads CSV and TSV with a header, in any column order, and JSON lines', async () => {
    const bank = await newBank();
    const csv = await run(
      bank,
      lines('note,value,type', `"a, quoted note",${md5(1)},md5`, `,${pdq(4)},pdq`),
    );
    expect(csv).toMatchObject({ format: 'csv', added: 2 });
    const tsv = await run(bank, lines('type\tvalue', `sha1\t${hex(5, 40)}`));
    expect(tsv).toMatchObject({ format: 'tsv', added: 1 });
    const jsonl = await run(
      bank,
      lines(
        JSON.stringify({
          type: 'sha256',
          value: hex(6, 64),
          note: 'n',
          source: 'case 7',
          addedAt: '2024-03-01T00:00:00Z',
        }),
      ),
    );
    expect(jsonl).toMatchObject({ format: 'jsonl', added: 1 });
    const entries = [];
    for await (const e of exportEntries(
      t.db,
      (await listBanks(t.db)).find((b) => b.name === bank)!,
    ))
      entries.push(e);
    expect(entries).toContainEqual({
      type: 'sha256',
      value: hex(6, 64),
      bank,
      category: '',
      addedAt: '2024-03-01T00:00:00.000Z',
      source: 'case 7',
      note: 'n',
    });
    expect(entries).toContainEqual(
      expect.objectContaining({ type: 'md5', note: 'a, quoted note' }),
    );
  });

  it('merges duplicates within a file and across imports, and says how many', async () => {
    const bank = await newBank();
    const first = await run(bank, lines(pdq(1), pdq(2), pdq(1), pdq(1)), { type: 'pdq' });
    expect(first).toMatchObject({ added: 2, duplicateLines: 2, alreadyPresent: 0 });
    const before = await latestChange(t.db);
    const second = await run(bank, lines(pdq(2), pdq(3)), { type: 'pdq' });
    expect(second).toMatchObject({ added: 1, alreadyPresent: 1, duplicateLines: 0 });
    const again = await run(bank, lines(pdq(3)), { type: 'pdq' });
    expect(again).toMatchObject({ added: 0, alreadyPresent: 1 });
    // One change per import that added something; none for the one that did not.
    const changes = await changesSince(t.db, before, 10);
    expect(changes.filter((c) => c.kind === 'entries-added')).toHaveLength(1);
    expect((await entryCount(bank))?.pdq).toBe(3);
  });

  it('rejects a file with a bad line, naming the line and the reason, and adds nothing', async () => {
    const bank = await newBank();
    const result = await run(bank, lines(pdq(1), 'zz', pdq(2), '', pdq(3).slice(1)), {
      type: 'pdq',
    });
    expect(result.kind).toBe('rejected');
    expect(result.invalid).toBe(2);
    expect(result.errors).toEqual([
      {
        line: 2,
        reason: expect.stringMatching(/"zz" is not a pdq hash: it contains characters other than/),
      },
      { line: 5, reason: expect.stringMatching(/63 hex digits/) },
    ]);
    expect((await entryCount(bank))?.total).toBe(0);
    const staged = await t.db
      .selectFrom('bank_import_row')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    expect(staged?.n).toBe(0);
  });

  it('imports the valid lines with skipInvalid', async () => {
    const bank = await newBank();
    const result = await run(
      bank,
      lines(
        '{"type":"pdq","value":"' + pdq(1) + '"}',
        '{"type":"pdq"}',
        'not json',
        '{"type":"x","value":"00"}',
      ),
      { skipInvalid: true },
    );
    expect(result).toMatchObject({ kind: 'imported', added: 1, invalid: 3 });
    expect(result.errors.map((e) => e.line)).toEqual([2, 3, 4]);
    expect(result.errors[0].reason).toBe('no value');
    expect(result.errors[1].reason).toMatch(/not valid JSON/);
    expect(result.errors[2].reason).toMatch(/unknown type "x"/);
  });

  it('keeps a removed entry removed when its list is imported again', async () => {
    const bank = await newBank();
    await run(bank, lines(md5(1), md5(2)), { type: 'md5' });
    await removeEntry(t.db, bank, { value: md5(1) }, 'false positive');
    const result = await run(bank, lines(md5(1), md5(2), md5(3)), { type: 'md5' });
    expect(result).toMatchObject({ added: 1, alreadyPresent: 1, keptRemoved: 1 });
    expect(await entryCount(bank)).toMatchObject({ md5: 2, total: 2 });
  });

  it('round-trips through export', async () => {
    const from = await newBank();
    const to = await newBank();
    await run(
      from,
      lines('type,value,note,source', `pdq,${pdq(9)},"line1, with comma",ref-1`, `md5,${md5(9)},,`),
    );
    const banks = await listBanks(t.db);
    const exported: string[] = [];
    for await (const e of exportEntries(
      t.db,
      banks.find((b) => b.name === from)!,
    ))
      exported.push(exportLine(e));
    const result = await run(to, lines(...exported.map((l) => l.trimEnd())));
    expect(result).toMatchObject({ format: 'jsonl', added: 2 });
    const again: unknown[] = [];
    for await (const e of exportEntries(
      t.db,
      (await listBanks(t.db)).find((b) => b.name === to)!,
    ))
      again.push({ ...e, bank: from });
    expect(again).toEqual(exported.map((l) => JSON.parse(l)));
  });
});
