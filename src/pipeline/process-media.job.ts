import { z } from 'zod';
import { decideRules } from '../classify/rules.js';
import { isTransientFailure } from '../fetch/index.js';
import { hostOf } from '../intake/intake.js';
import type { NormalizedUrl } from '../intake/normalize-url.js';
import { defineJob, PermanentJobError } from '../jobs/index.js';
import type { JobHelpers } from '../jobs/index.js';
import type { PipelineDeps } from './deps.js';
import { fetchRetryPolicy, stageTimeoutMs } from './deps.js';
import { fetchRecord } from './media.js';
import { finishItem, loadItem, recordItemAttempt } from './queries.js';
import type { ItemToProcess } from './queries.js';
import type { FoundAs } from './tables.js';
import { settleMedia } from './settle-media.js';

declare module '../jobs/types.js' {
  interface JobPayloads {
    /** Fetch, hash, match and classify one media item found on a page. */
    'process-media': {
      itemId: number;
      /**
       * The item as the page's job inserted it. Trusted only on the run that
       * job started itself (`helpers.adopted`); any other run loads it.
       */
      item?: {
        caseId: number;
        url: string;
        foundAs: FoundAs;
        mediaKey: string | null;
        caseHost: string;
      };
    };
  }
}

/**
 * One job per media item runs fetch, hash, match and classify together: the
 * bytes exist only in memory between fetching and hashing, and handing them
 * from one job to the next would mean writing every fetched image to disk,
 * including the many that a bank match then makes unnecessary to keep. Each
 * stage is still its own code (src/fetch, src/hash, src/check, src/classify).
 */
export function processMediaJob(deps: PipelineDeps) {
  return defineJob({
    name: 'process-media',
    schema: z.object({
      itemId: z.number().int().positive(),
      item: z
        .object({
          caseId: z.number().int().positive(),
          url: z.string(),
          foundAs: z.enum(['reported', 'page', 'inline']),
          mediaKey: z.string().nullable(),
          caseHost: z.string(),
        })
        .optional(),
    }),
    retry: fetchRetryPolicy(deps.settings),
    timeoutMs: stageTimeoutMs(deps.settings),
    handler: ({ itemId, item }, helpers) =>
      processMedia(
        deps,
        helpers,
        itemId,
        helpers.adopted && item !== undefined
          ? { id: itemId, state: 'pending', ...item }
          : undefined,
      ),
  });
}

async function processMedia(
  deps: PipelineDeps,
  helpers: JobHelpers,
  itemId: number,
  /** Known without a query: the item was inserted by the job that started this run. */
  fresh: ItemToProcess | undefined,
): Promise<void> {
  const { db, job, signal } = helpers;
  const item = fresh ?? (await loadItem(db, itemId));
  if (item === undefined) throw new PermanentJobError(`media item ${itemId} does not exist`);
  if (item.state !== 'pending') return; // done by an earlier run

  const host = item.foundAs === 'inline' ? item.caseHost : hostOf(item.url as NormalizedUrl);
  const rules = decideRules(host, await deps.rules.rulesFor(host));
  if (rules.kind === 'not-illegal') {
    const done = await finishItem(
      db,
      item,
      {
        state: 'classified',
        classification: 'not-illegal',
        classified_by: 'rule',
        classified_at: new Date(),
        rule_id: rules.rule.id,
        fetch_kind: 'not-fetched',
        ...(item.mediaKey === null ? {} : { media_key: null }),
      },
      [],
    );
    if (done && item.mediaKey !== null) await deps.blobs.delete(item.mediaKey);
    return;
  }
  if (rules.kind === 'do-not-fetch' && item.foundAs !== 'inline') {
    await finishItem(
      db,
      item,
      {
        state: 'unavailable',
        rule_id: rules.rule.id,
        fetch_kind: 'not-fetched',
        fetch_message: `Not fetched: domain rule ${rules.rule.id} says not to fetch from ${rules.rule.domain}.`,
      },
      [],
    );
    return;
  }

  if (item.foundAs === 'inline') {
    const bytes = item.mediaKey === null ? undefined : await deps.blobs.get(item.mediaKey);
    if (bytes === undefined) {
      await finishItem(
        db,
        item,
        {
          state: 'unavailable',
          fetch_kind: 'missing',
          fetch_message: 'The inline media stored from the page is no longer there.',
        },
        [],
      );
      return;
    }
    await settleMedia(deps, db, item, bytes, {
      fetch_kind: 'ok',
      fetch_status: null,
      fetch_message: 'inline (data: URL in the page)',
      final_url: null,
      address: null,
      content_type: null,
      sniffed: null,
      fetch_attempts: job.attempt,
    });
    return;
  }

  const outcome = await deps.fetcher.fetch(item.url, { expect: 'media', signal });
  if (outcome.kind === 'aborted') throw new Error(`the fetch of item ${itemId} was interrupted`);
  const record = { ...fetchRecord(outcome), fetch_attempts: job.attempt };
  if (outcome.kind !== 'ok') {
    if (isTransientFailure(outcome) && job.attempt < job.maxAttempts) {
      await recordItemAttempt(db, itemId, { ...record, fetched_at: new Date() });
      throw new Error(`${outcome.message} (will try again)`);
    }
    await finishItem(db, item, { ...record, fetched_at: new Date(), state: 'unavailable' }, []);
    return;
  }
  await settleMedia(deps, db, item, outcome.bytes, record);
}
