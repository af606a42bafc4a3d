import { sql } from 'kysely';
import type { AssessmentFields, AssessmentEffect, Assessor } from './assessment.js';
import { decideAssessment, isIllegal } from './assessment.js';
import { readFourEyes } from './four-eyes.js';
import { OWN_BANKS } from './own-bank.js';
// The 'own-bank-feed' payload type (declared beside its handler).
import type {} from './own-bank.job.js';
import { assessorsOf, lockItemForAssessment } from './queries.js';
import { TakedownError } from '../errors.js';
import type { JobQueue } from '../jobs/index.js';
import { rollUpCase } from '../pipeline/queries.js';
import type { Database } from '../store/database.js';
import type { Transaction } from 'kysely';

/**
 * Stores one assessment and what it does to the item, in the caller's
 * transaction: the item row is locked first, so two assessments of one
 * item take turns and the second sees the first (four eyes cannot be
 * satisfied twice, or by a race). A final decision classifies the item
 * (`classified_by = 'analyst'`), ends its claim and review state, and
 * rolls its case up (src/pipeline/queries.ts `rollUpCase`: the case is
 * classified once none of its items waits any more). A final illegal
 * decision also enqueues the `own-bank-feed` job (./own-bank.job.ts) in the
 * same transaction: the decision and the feed of its hashes to the own bank
 * commit together, and the job survives whatever happens to this process.
 */

export interface StoredAssessment {
  readonly id: number;
  readonly effect: AssessmentEffect;
  /** A final illegal decision: the own bank it goes to and the job that adds it. */
  readonly ownBank: { readonly bank: string; readonly jobId: number } | undefined;
}

export async function storeAssessment(
  trx: Transaction<Database>,
  itemId: number,
  assessor: Assessor & { readonly label: string | null; readonly role: string | null },
  fields: AssessmentFields,
  now: Date,
  queue: JobQueue,
): Promise<StoredAssessment> {
  const item = await lockItemForAssessment(trx, itemId);
  if (item === undefined)
    throw new TakedownError('item-not-found', `There is no media item ${itemId}.`, {
      kind: 'not-found',
    });
  if (item.state !== 'queued')
    throw new TakedownError(
      'item-not-queued',
      item.state === 'classified'
        ? `Media item ${itemId} is decided already; it is no longer in the queue.`
        : `Media item ${itemId} is not waiting for an analyst (it is ${item.state}).`,
      { kind: 'conflict', details: { state: item.state } },
    );
  const stage = item.stage ?? 'first';
  const fourEyes = stage === 'first' ? (await readFourEyes(trx)).enabled : true;
  const decision = decideAssessment(
    {
      stage,
      claimedBy: item.claimed_by,
      claimedLabel: item.claimed_label,
      claimedUntil: item.claimed_until,
      assessors: await assessorsOf(trx, itemId),
    },
    assessor,
    fields.classification,
    { fourEyes, now },
  );
  if (decision.kind === 'refused')
    throw new TakedownError(decision.code, decision.message, {
      kind: decision.errorKind,
      ...(decision.details === undefined ? {} : { details: decision.details }),
    });
  const { id } = await trx
    .insertInto('assessment')
    .values({
      item_id: itemId,
      assessor: assessor.id,
      assessor_label: assessor.label,
      assessor_role: assessor.role,
      classification: fields.classification,
      age_group: fields.ageGroup,
      gender: fields.gender,
      virtual: fields.virtual,
      site_type: fields.siteType,
      commercial: fields.commercial,
      note: fields.note?.trim() ?? '',
      effect: decision.effect,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (decision.nextStage === undefined) {
    await trx
      .updateTable('media_item')
      .set({
        state: 'classified',
        classification: fields.classification,
        classified_by: 'analyst',
        classified_at: now,
        updated_at: sql`now()`,
      })
      .where('id', '=', itemId)
      .execute();
    await trx.deleteFrom('item_review').where('item_id', '=', itemId).execute();
    await rollUpCase(trx, item.case_id);
    const classification = fields.classification;
    if (isIllegal(classification)) {
      const job = await queue.enqueue(
        trx,
        'own-bank-feed',
        { itemId },
        { key: `own-bank-feed:${itemId}` },
      );
      return {
        id,
        effect: decision.effect,
        ownBank: { bank: OWN_BANKS[classification], jobId: job.id },
      };
    }
  } else {
    // Someone else gives the next opinion: the claim ends with this one.
    await trx
      .insertInto('item_review')
      .values({ item_id: itemId, stage: decision.nextStage })
      .onConflict((oc) =>
        oc.column('item_id').doUpdateSet({
          stage: decision.nextStage,
          claimed_by: null,
          claimed_label: null,
          claimed_until: null,
          updated_at: sql`now()`,
        }),
      )
      .execute();
  }
  return { id, effect: decision.effect, ownBank: undefined };
}
