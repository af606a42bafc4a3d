import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AssessmentFields, Classification } from '../../src/assess/assessment.js';
import { writeFourEyes } from '../../src/assess/four-eyes.js';
import { feedItemToOwnBank, ownBankFeedJob } from '../../src/assess/own-bank.job.js';
import { storeAssessment } from '../../src/assess/record.js';
import { createJobQueue, startJobRunner } from '../../src/jobs/index.js';
import type { ItemState } from '../../src/pipeline/tables.js';
import { finishItem } from '../../src/pipeline/queries.js';
import { describeEachDatabase } from '../support/db.js';
import { jobsDone } from '../support/jobs-done.js';
import { testLogger } from '../support/jobs.js';

/**
 * What a final decision does beyond the item: the own-bank feed is a job
 * that commits with the decision (durable, at least once), and the item's
 * case rolls up once none of its items waits any more, on the pipeline's
 * path (bank and rule decisions) and on the analyst's.
 */
describeEachDatabase('decision effects', (t) => {
  const queue = createJobQueue();
  let n = 0;

  const fields = (classification: Classification): AssessmentFields => ({
    classification,
    ageGroup: 'pre-pubescent',
    gender: 'female',
    virtual: false,
    siteType: 'website',
    commercial: false,
  });
  const analyst = (i = 1) => ({
    id: `user:${i}`,
    label: `a${i}@hotline.example`,
    role: 'analyst',
    supervisor: false,
  });

  type ItemSpec =
    | { state: 'queued' | 'pending' | 'unavailable' }
    | { state: 'classified'; classification: Classification; by: 'bank' | 'rule' | 'analyst' };

  /** A fetched case with items in the given states; returns the case and item ids. */
  const makeCase = async (items: ItemSpec[], processed = true) => {
    n += 1;
    const kase = await t.db
      .insertInto('url_case')
      .values({
        url: `https://case${n}.example/page`,
        host: `case${n}.example`,
        state: 'fetched',
        processed_at: processed ? new Date() : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const ids: number[] = [];
    for (const [i, spec] of items.entries()) {
      const row = await t.db
        .insertInto('media_item')
        .values({
          case_id: kase.id,
          url: `https://case${n}.example/img/${i}.png`,
          found_as: 'page',
          state: spec.state as ItemState,
          md5: randomBytes(16),
          sha1: randomBytes(20),
          sha256: randomBytes(32),
          pdq: randomBytes(32),
          pdq_quality: 90,
          queued_at: spec.state === 'queued' ? new Date() : null,
          ...(spec.state === 'classified'
            ? {
                classification: spec.classification,
                classified_by: spec.by,
                classified_at: new Date(),
              }
            : {}),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
    }
    return { caseId: kase.id, ids };
  };
  const caseRow = (id: number) =>
    t.db
      .selectFrom('url_case')
      .select(['state', 'classification', 'classified_by', 'review_reason'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  const decide = (itemId: number, classification: Classification, who = analyst()) =>
    t.db
      .transaction()
      .execute((trx) =>
        storeAssessment(trx, itemId, who, fields(classification), new Date(), queue),
      );
  const feedJobs = (itemId: number) =>
    t.db
      .selectFrom('job')
      .select(['id', 'payload', 'state'])
      .where('name', '=', 'own-bank-feed')
      .where('key', '=', `own-bank-feed:${itemId}`)
      .execute();

  describe('the own-bank feed', () => {
    it('commits with the illegal decision, or not at all', async () => {
      const { ids } = await makeCase([{ state: 'queued' }, { state: 'queued' }]);
      await expect(
        t.db.transaction().execute(async (trx) => {
          await storeAssessment(trx, ids[0], analyst(), fields('baseline'), new Date(), queue);
          throw new Error('the process died before the commit');
        }),
      ).rejects.toThrow('the process died');
      expect(await feedJobs(ids[0])).toEqual([]);

      const stored = await decide(ids[0], 'baseline');
      expect(stored.ownBank).toEqual({ bank: 'hotline', jobId: expect.any(Number) });
      expect(await feedJobs(ids[0])).toEqual([
        { id: stored.ownBank?.jobId, payload: { itemId: ids[0] }, state: 'pending' },
      ]);
      // Legal verdicts feed nothing.
      expect((await decide(ids[1], 'doubtful')).ownBank).toBeUndefined();
      expect(await feedJobs(ids[1])).toEqual([]);
    });

    it('reaches the bank from a worker started after the deciding process is gone, once however often it runs', async () => {
      const { ids } = await makeCase([{ state: 'queued' }]);
      // Decided, committed, and nobody ran the feed (the API process died).
      await decide(ids[0], 'national');
      const runner = startJobRunner({
        db: t.db,
        queue,
        jobs: [ownBankFeedJob],
        logger: testLogger,
        concurrency: 2,
        pollMs: 20,
        leaseMs: 2_000,
      });
      try {
        await jobsDone(t.db, 'own-bank-feed');
        const entries = () =>
          t.db
            .selectFrom('bank_entry as e')
            .innerJoin('bank as b', 'b.id', 'e.bank_id')
            .select(['e.signal_type'])
            .where('b.name', '=', 'hotline-national')
            .where('e.source_ref', '=', `media-item:${ids[0]}`)
            .orderBy('e.signal_type')
            .execute();
        expect((await entries()).map((e) => e.signal_type)).toEqual([
          'md5',
          'pdq',
          'sha1',
          'sha256',
        ]);
        // Run again (a worker killed before the job was marked done): merged, nothing added.
        await queue.enqueue(t.db, 'own-bank-feed', { itemId: ids[0] });
        await queue.enqueue(t.db, 'own-bank-feed', { itemId: ids[0] });
        await jobsDone(t.db, 'own-bank-feed');
        expect(await entries()).toHaveLength(4);
        const again = await feedItemToOwnBank(t.db, ids[0]);
        expect(again?.result).toMatchObject({ added: 0, alreadyPresent: 4 });
      } finally {
        await runner.stop(1_000);
      }
    });

    it('feeds nothing for an item that is not an analyst’s illegal decision', async () => {
      const { ids } = await makeCase([
        { state: 'queued' },
        { state: 'classified', classification: 'baseline', by: 'bank' },
      ]);
      expect(await feedItemToOwnBank(t.db, ids[0])).toBeUndefined();
      expect(await feedItemToOwnBank(t.db, ids[1])).toBeUndefined();
      await expect(feedItemToOwnBank(t.db, 99_999_999)).rejects.toThrow('does not exist');
    });
  });

  describe('the case rollup', () => {
    it('classifies a case when the analyst decides its last queued item, with the most severe verdict', async () => {
      const { caseId, ids } = await makeCase([
        { state: 'classified', classification: 'national', by: 'bank' },
        { state: 'queued' },
        { state: 'queued' },
        { state: 'unavailable' },
      ]);
      await decide(ids[1], 'doubtful');
      expect(await caseRow(caseId)).toMatchObject({ state: 'fetched', classification: null });
      await decide(ids[2], 'not-illegal');
      expect(await caseRow(caseId)).toEqual({
        state: 'classified',
        classification: 'national',
        classified_by: 'bank',
        review_reason: null,
      });
    });

    it('names the analyst when their verdict is the most severe, also on a tie with a bank', async () => {
      const a = await makeCase([
        { state: 'classified', classification: 'doubtful', by: 'bank' },
        { state: 'queued' },
      ]);
      await decide(a.ids[1], 'baseline');
      expect(await caseRow(a.caseId)).toMatchObject({
        state: 'classified',
        classification: 'baseline',
        classified_by: 'analyst',
      });
      const b = await makeCase([
        { state: 'classified', classification: 'baseline', by: 'bank' },
        { state: 'queued' },
      ]);
      await decide(b.ids[1], 'baseline');
      expect(await caseRow(b.caseId)).toMatchObject({
        classification: 'baseline',
        classified_by: 'analyst',
      });
    });

    it('waits for a second opinion before rolling up', async () => {
      const { caseId, ids } = await makeCase([{ state: 'queued' }]);
      await writeFourEyes(t.db, true, 'user:9', new Date());
      try {
        expect((await decide(ids[0], 'baseline')).effect).toBe('second-opinion');
        expect((await caseRow(caseId)).state).toBe('fetched');
        expect(await feedJobs(ids[0])).toEqual([]);
        expect((await decide(ids[0], 'national', analyst(2))).effect).toBe('final');
        expect(await caseRow(caseId)).toMatchObject({
          state: 'classified',
          classification: 'national',
          classified_by: 'analyst',
        });
        expect(await feedJobs(ids[0])).toHaveLength(1);
      } finally {
        await writeFourEyes(t.db, false, 'user:9', new Date());
      }
    });

    it('rolls up when two analysts decide the last two items at the same moment', async () => {
      for (let round = 0; round < 5; round++) {
        const { caseId, ids } = await makeCase([{ state: 'queued' }, { state: 'queued' }]);
        await Promise.all([
          decide(ids[0], 'not-illegal', analyst(1)),
          decide(ids[1], 'doubtful', analyst(2)),
        ]);
        expect(await caseRow(caseId)).toMatchObject({
          state: 'classified',
          classification: 'doubtful',
          classified_by: 'analyst',
        });
      }
    });

    it('rolls up on the pipeline’s path when banks and rules decide every item', async () => {
      const { caseId, ids } = await makeCase(
        [{ state: 'pending' }, { state: 'pending' }, { state: 'pending' }],
        false,
      );
      const item = (i: number) => ({ id: ids[i], caseId });
      await finishItem(
        t.db,
        item(0),
        {
          state: 'classified',
          classification: 'not-illegal',
          classified_by: 'rule',
          classified_at: new Date(),
        },
        [],
      );
      expect((await caseRow(caseId)).state).toBe('fetched');
      await finishItem(t.db, item(1), { state: 'unavailable', fetch_kind: 'http-status' }, []);
      expect((await caseRow(caseId)).state).toBe('fetched');
      await finishItem(
        t.db,
        item(2),
        {
          state: 'classified',
          classification: 'baseline',
          classified_by: 'bank',
          classified_at: new Date(),
        },
        [],
      );
      expect(await caseRow(caseId)).toEqual({
        state: 'classified',
        classification: 'baseline',
        classified_by: 'bank',
        review_reason: null,
      });
    });

    it('leaves a case with an item for an analyst open, and sends one with nothing to look at to an analyst', async () => {
      const open = await makeCase([{ state: 'pending' }, { state: 'queued' }], false);
      await finishItem(
        t.db,
        { id: open.ids[0], caseId: open.caseId },
        {
          state: 'classified',
          classification: 'baseline',
          classified_by: 'bank',
          classified_at: new Date(),
        },
        [],
      );
      expect(await caseRow(open.caseId)).toMatchObject({ state: 'fetched', classification: null });
      const processed = await t.db
        .selectFrom('url_case')
        .select('processed_at')
        .where('id', '=', open.caseId)
        .executeTakeFirstOrThrow();
      expect(processed.processed_at).toBeInstanceOf(Date);

      const gone = await makeCase([{ state: 'pending' }, { state: 'unavailable' }], false);
      await finishItem(
        t.db,
        { id: gone.ids[0], caseId: gone.caseId },
        { state: 'unavailable', fetch_kind: 'timeout' },
        [],
      );
      expect(await caseRow(gone.caseId)).toEqual({
        state: 'queued',
        classification: null,
        classified_by: null,
        review_reason: 'media-unavailable',
      });
    });
  });
});
