import type { Kysely } from 'kysely';
import { z } from 'zod';
import { recordAudit, systemActor } from '../audit/index.js';
import { defineJob, PermanentJobError } from '../jobs/index.js';
import type { Database } from '../store/database.js';
import { isIllegal } from './assessment.js';
import type { Classification } from './assessment.js';
import { feedOwnBank } from './own-bank.js';
import type { OwnBankFeed } from './own-bank.js';

declare module '../jobs/types.js' {
  interface JobPayloads {
    /** Add a media item finally classified illegal by an analyst to the hotline's own bank. */
    'own-bank-feed': { itemId: number };
  }
}

/**
 * The own bank's feed as a durable job: enqueued in the transaction that
 * stores the final illegal decision (src/assess/record.ts), so a decision
 * that committed always reaches the bank, whatever happens to the process
 * that took it. At least once: the importer merges entries already in the
 * bank, so a second run adds nothing (its audit entry says so).
 */
export const ownBankFeedJob = defineJob({
  name: 'own-bank-feed',
  schema: z.object({ itemId: z.number().int().positive() }),
  retry: { maxAttempts: 10, baseDelayMs: 5_000 },
  timeoutMs: 5 * 60_000,
  async handler({ itemId }, { db, logger }) {
    const fed = await feedItemToOwnBank(db, itemId);
    if (fed !== undefined)
      logger.info(
        { itemId, bank: fed.bank.name, added: fed.result.added },
        'item added to the own bank',
      );
  },
});

/** The job's work: undefined when the item's decision is not (or no longer) an analyst's illegal one, or it has no hashes. */
export async function feedItemToOwnBank(
  db: Kysely<Database>,
  itemId: number,
): Promise<OwnBankFeed | undefined> {
  const item = await db
    .selectFrom('media_item')
    .select([
      'id',
      'state',
      'classification',
      'classified_by',
      'md5',
      'sha1',
      'sha256',
      'pdq',
      'pdq_quality',
    ])
    .where('id', '=', itemId)
    .executeTakeFirst();
  if (item === undefined) throw new PermanentJobError(`media item ${itemId} does not exist`);
  if (
    item.state !== 'classified' ||
    item.classified_by !== 'analyst' ||
    item.classification === null ||
    !isIllegal(item.classification)
  )
    return undefined;
  const decision = await db
    .selectFrom('assessment')
    .select(['id', 'assessor'])
    .where('item_id', '=', itemId)
    .where('effect', '=', 'final')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (decision === undefined)
    throw new PermanentJobError(`media item ${itemId} has no final assessment`);
  const classification = item.classification as Classification;
  const fed = await feedOwnBank(db, item, classification, decision.id);
  if (fed === undefined) return undefined;
  if (fed.result.kind !== 'imported')
    throw new Error(
      `the own bank ${fed.bank.name} refused the hashes of item ${itemId}: ${JSON.stringify(fed.result.errors)}`,
    );
  const actor = systemActor('job:own-bank-feed');
  const request = { ip: null, userAgent: 'takedown-worker', requestId: null };
  await db.transaction().execute(async (trx) => {
    if (fed.created)
      await recordAudit(trx, {
        actor,
        request,
        action: 'bank.create',
        object: { type: 'bank', id: fed.bank.name },
        outcome: 'allowed',
        details: { category: fed.bank.category, reason: 'own bank, first illegal decision' },
      });
    await recordAudit(trx, {
      actor,
      request,
      action: 'bank.entries-change',
      object: { type: 'bank', id: fed.bank.name },
      outcome: 'allowed',
      details: {
        added: fed.result.added,
        alreadyPresent: fed.result.alreadyPresent,
        mediaItem: itemId,
        assessmentId: decision.id,
        decidedBy: decision.assessor,
      },
    });
  });
  return fed;
}
