import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { audited, recordAudit, systemActor } from '../../src/audit/record.js';
import { searchAudit } from '../../src/audit/search.js';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { describeEachDatabase } from '../support/db.js';

/**
 * The audit trail on both databases: entries form one chain even when
 * written concurrently, the database refuses changes, and an attacker who
 * edits or deletes rows anyway is caught by verify, which names the entry.
 */

const cli = systemActor('cli:tester');

describeEachDatabase('audit trail', (t) => {
  it('chains entries and verifies them, details round-tripping exactly', async () => {
    const odd = {
      quote: `'; drop table audit_entry; --`,
      unicode: 'Ünïcødé 😀 \u2028',
      nul: 'a\u0000b',
      numbers: [0, -1, 0.1, 1e21, 2 ** 53 - 1, -0],
      nested: { z: { y: [true, false, null] }, a: '' },
    };
    await recordAudit(t.db, { actor: cli, action: 'test.first', outcome: 'allowed', details: odd });
    await t.db.transaction().execute((trx) =>
      recordAudit(trx, {
        actor: { kind: 'anonymous' },
        request: { ip: '192.0.2.1', userAgent: 'x'.repeat(2000), requestId: 'r1' },
        action: 'test.second',
        object: { type: 'thing', id: 42 },
        outcome: 'denied',
      }),
    );
    const result = await verifyAuditChain(t.db);
    expect(result.kind).toBe('intact');
    const { entries } = await searchAudit(t.db, { action: 'test.*', limit: 10 });
    expect(entries.map((e) => e.action)).toEqual(['test.second', 'test.first']);
    expect(entries[0]).toMatchObject({ object_type: 'thing', object_id: '42', ip: '192.0.2.1' });
    expect(entries[0]?.user_agent).toHaveLength(512);
    expect(entries[1]?.details).toMatchObject({ quote: odd.quote, nul: 'a\uFFFDb' });
  });

  it('rolls an entry back with the transaction that wrote it', async () => {
    const before = await verifyAuditChain(t.db);
    await expect(
      t.db.transaction().execute(async (trx) => {
        await recordAudit(trx, { actor: cli, action: 'test.rolled-back', outcome: 'allowed' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const after = await verifyAuditChain(t.db);
    expect(after).toEqual(before);
  });

  it('commits a change and its entry together, or neither (audited)', async () => {
    const setting = (key: string) =>
      t.db.selectFrom('setting').select('value').where('key', '=', key).executeTakeFirst();
    const result = await audited(
      t.db,
      async (trx) => {
        await trx.insertInto('setting').values({ key: 'audited-ok', value: '1' }).execute();
        return 'done';
      },
      (value) => ({ actor: cli, action: 'test.audited', outcome: 'allowed', details: { value } }),
    );
    expect(result).toBe('done');
    expect(await setting('audited-ok')).toBeDefined();
    await expect(
      audited(
        t.db,
        async (trx) => {
          await trx.insertInto('setting').values({ key: 'audited-failed', value: '1' }).execute();
          return 'half';
        },
        () => ({ actor: cli, action: 'x'.repeat(10), outcome: 'nonsense' as 'allowed' }),
      ),
    ).rejects.toThrow();
    expect(await setting('audited-failed')).toBeUndefined();
    const entries = await searchAudit(t.db, { action: 'test.audited', limit: 5 });
    expect(entries.entries.map((e) => e.details)).toEqual([{ value: 'done' }]);
  });

  it('forms one chain from many concurrent writers', async () => {
    const start = await verifyAuditChain(t.db);
    if (start.kind !== 'intact') throw new Error('chain broken before the test');
    const writers = 40;
    const began = performance.now();
    await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        recordAudit(t.db, {
          actor: cli,
          action: 'test.concurrent',
          outcome: 'allowed',
          details: { i },
        }),
      ),
    );
    const concurrentMs = performance.now() - began;
    const result = await verifyAuditChain(t.db);
    expect(result).toMatchObject({ kind: 'intact', entries: start.entries + writers });
    const seqs = (await searchAudit(t.db, { action: 'test.concurrent', limit: 100 })).entries.map(
      (e) => e.details.i,
    );
    expect(new Set(seqs).size).toBe(writers);

    // The cost of an append, for the README: one short transaction, sequential.
    const n = 100;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await recordAudit(t.db, { actor: cli, action: 'test.timing', outcome: 'allowed' });
    }
    const perAppend = (performance.now() - t0) / n;
    console.info(
      `[${t.kind}] audit append: ${perAppend.toFixed(2)} ms sequential; ${writers} concurrent in ${concurrentMs.toFixed(0)} ms`,
    );
    expect(perAppend).toBeLessThan(100); // generous: the test machines are shared
  });

  it('refuses updates, deletes and truncation, and keeps the head moving only by appends', async () => {
    await expect(
      sql`update audit_entry set outcome = 'denied' where seq = 1`.execute(t.db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_entry where seq = 1`.execute(t.db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`truncate audit_entry`.execute(t.db)).rejects.toThrow(/append-only/);
    await expect(sql`update audit_chain_head set seq = 1`.execute(t.db)).rejects.toThrow(
      /only by appending/,
    );
    await expect(sql`delete from audit_chain_head`.execute(t.db)).rejects.toThrow(
      /only by appending/,
    );
    await expect(
      sql`insert into audit_entry (seq, at, actor_kind, action, outcome, details, prev_hash, hash)
          values (100000, now(), 'system', 'forged', 'allowed', '{}', ${'0'.repeat(64)}, 'x')`.execute(
        t.db,
      ),
    ).rejects.toThrow(/does not continue the chain/);
    expect((await verifyAuditChain(t.db)).kind).toBe('intact');
  });

  // An attacker with the database owner's rights switches the triggers off.
  const asOwner = async (statement: ReturnType<typeof sql>) => {
    await t.db.transaction().execute(async (trx) => {
      await sql`alter table audit_entry disable trigger user`.execute(trx);
      await sql`alter table audit_chain_head disable trigger user`.execute(trx);
      await statement.execute(trx);
      await sql`alter table audit_entry enable trigger user`.execute(trx);
      await sql`alter table audit_chain_head enable trigger user`.execute(trx);
    });
  };

  it('detects an edited entry and names it', async () => {
    const victim = (await searchAudit(t.db, { action: 'test.second', limit: 1 })).entries[0];
    if (victim === undefined) throw new Error('no entry to edit');
    await asOwner(
      sql`update audit_entry set outcome = 'allowed', ip = '198.51.100.7' where seq = ${victim.seq}`,
    );
    const result = await verifyAuditChain(t.db);
    expect(result).toMatchObject({ kind: 'broken', seq: victim.seq, entries: victim.seq - 1 });
    if (result.kind === 'broken') expect(result.reason).toMatch(/content does not match its hash/);
    // Put it back, as the attacker could not without the original values.
    await asOwner(
      sql`update audit_entry set outcome = 'denied', ip = '192.0.2.1' where seq = ${victim.seq}`,
    );
    expect((await verifyAuditChain(t.db)).kind).toBe('intact');
  });

  it('detects an edit whose hash was recomputed, at the next entry', async () => {
    const victim = (await searchAudit(t.db, { action: 'test.first', limit: 1 })).entries[0];
    if (victim === undefined) throw new Error('no entry to edit');
    await asOwner(sql`update audit_entry set hash = ${'a'.repeat(64)} where seq = ${victim.seq}`);
    const result = await verifyAuditChain(t.db);
    expect(result).toMatchObject({ kind: 'broken', seq: victim.seq });
    await asOwner(sql`update audit_entry set hash = ${victim.hash} where seq = ${victim.seq}`);
    expect((await verifyAuditChain(t.db)).kind).toBe('intact');
  });

  it('detects entries deleted from the middle and from the end', async () => {
    await recordAudit(t.db, { actor: cli, action: 'test.to-delete', outcome: 'allowed' });
    await recordAudit(t.db, { actor: cli, action: 'test.last', outcome: 'allowed' });
    const [last, middle] = (await searchAudit(t.db, { action: 'test.*', limit: 2 })).entries;
    if (last === undefined || middle === undefined) throw new Error('missing entries');
    await asOwner(sql`delete from audit_entry where seq = ${middle.seq}`);
    expect(await verifyAuditChain(t.db)).toMatchObject({ kind: 'broken', seq: last.seq });
    await asOwner(sql`delete from audit_entry where seq = ${last.seq}`);
    expect(await verifyAuditChain(t.db)).toMatchObject({
      kind: 'broken',
      seq: middle.seq,
      reason: expect.stringMatching(/entries at the end were deleted/),
    });
  });
});
