import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../test/support/db.js';
import { createLogger } from '../log.js';
import type { MatchRecord } from './match-recorder.js';
import { MatchRecorder } from './match-recorder.js';

/** The batched write of match records: every column as given, each row with its own time. */

describeEachDatabase('match recorder', (t) => {
  it('writes each record with its own check time and who asked', async () => {
    const recorder = new MatchRecorder({ db: t.db, logger: createLogger('silent') });
    const early = new Date('2026-01-02T03:04:05.678Z');
    const late = new Date('2026-01-02T03:04:06.001Z');
    const base = {
      via: 'hashes',
      type: 'sha256',
      bankId: 7,
      distance: 0,
    } as const;
    const records: MatchRecord[] = [
      {
        ...base,
        checkedAt: early,
        principal: 'key:3',
        keyId: 3,
        providerId: 2,
        value: 'ab'.repeat(32),
        entryId: 11,
      },
      {
        ...base,
        checkedAt: late,
        principal: 'user:"5"\\',
        keyId: null,
        providerId: null,
        value: 'cd'.repeat(32),
        entryId: 12,
      },
      {
        ...base,
        checkedAt: early,
        principal: 'key:3',
        keyId: 3,
        providerId: 2,
        value: 'ef'.repeat(32),
        entryId: 13,
        via: 'image',
        type: 'pdq',
        distance: 9,
      },
    ];
    recorder.record(records.slice(0, 2));
    recorder.record(records.slice(2));
    await recorder.flush();
    expect(recorder.written).toBe(3);
    const rows = await t.db
      .selectFrom('check_match')
      .selectAll()
      .where('entry_id', 'in', [11, 12, 13])
      .orderBy('entry_id')
      .execute();
    expect(
      rows.map((r) => [
        r.checked_at.toISOString(),
        r.principal,
        r.key_id,
        r.provider_id,
        r.via,
        r.signal_type,
        r.value.toString('hex'),
        r.bank_id,
        r.entry_id,
        r.distance,
      ]),
    ).toEqual(
      records.map((r) => [
        r.checkedAt.toISOString(),
        r.principal,
        r.keyId,
        r.providerId,
        r.via,
        r.type,
        r.value,
        r.bankId,
        r.entryId,
        r.distance,
      ]),
    );
  });
});
