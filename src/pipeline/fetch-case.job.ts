import { z } from 'zod';
import type { RuleDecision } from '../classify/rules.js';
import { decideRules } from '../classify/rules.js';
import { isTransientFailure } from '../fetch/index.js';
import { defineJob, PermanentJobError } from '../jobs/index.js';
import type { JobHelpers } from '../jobs/index.js';
import type { PipelineDeps } from './deps.js';
import { fetchRetryPolicy, stageTimeoutMs } from './deps.js';
import { inlineItemUrl, planFetched } from './fetch-case.js';
import { fetchRecord, inlineBlobKey } from './media.js';
import type { CaseChanges, NewItem } from './queries.js';
import { insertItems, loadCase, recordCaseAttempt, reportedItem, settleCase } from './queries.js';
import { settleMedia } from './settle-media.js';

declare module '../jobs/types.js' {
  interface JobPayloads {
    /** Fetch a case's reported URL: domain rules first, then the page's media (or the media itself). */
    'fetch-case': { caseId: number };
  }
}

export function fetchCaseJob(deps: PipelineDeps) {
  return defineJob({
    name: 'fetch-case',
    schema: z.object({ caseId: z.number().int().positive() }),
    retry: fetchRetryPolicy(deps.settings),
    timeoutMs: stageTimeoutMs(deps.settings),
    handler: ({ caseId }, helpers) => fetchCase(deps, helpers, caseId),
  });
}

async function fetchCase(deps: PipelineDeps, helpers: JobHelpers, caseId: number): Promise<void> {
  const { db, job, signal } = helpers;
  const found = await loadCase(db, caseId);
  if (found === undefined) throw new PermanentJobError(`case ${caseId} does not exist`);
  if (found.state !== 'pending') return; // done by an earlier run
  const now = new Date();
  const rules = decideRules(found.host, await deps.rules.rulesFor(found.host));
  const ruled = ruleColumns(rules);
  if (rules.kind === 'not-illegal') {
    await settleCase(db, caseId, {
      ...ruled,
      state: 'classified',
      classification: 'not-illegal',
      classified_by: 'rule',
      fetch_kind: 'not-fetched',
      processed_at: now,
      closed_at: now,
      close_reason: 'not illegal (domain rule)',
    });
    return;
  }
  if (rules.kind === 'do-not-fetch') {
    await settleCase(db, caseId, {
      ...ruled,
      state: 'queued',
      review_reason: 'do-not-fetch',
      fetch_kind: 'not-fetched',
      processed_at: now,
    });
    return;
  }

  const outcome = await deps.fetcher.fetch(found.url, { signal });
  // Shutdown, time-out or a lost lease: not the site's doing, so not recorded.
  if (outcome.kind === 'aborted') throw new Error(`the fetch of case ${caseId} was interrupted`);
  const fetched: CaseChanges = {
    ...ruled,
    ...fetchRecord(outcome),
    fetch_attempts: job.attempt,
    fetched_at: now,
  };
  if (outcome.kind !== 'ok') {
    if (isTransientFailure(outcome) && job.attempt < job.maxAttempts) {
      await recordCaseAttempt(db, caseId, fetched);
      throw new Error(`${outcome.message} (will try again)`);
    }
    await settleCase(db, caseId, {
      ...fetched,
      state: 'unavailable',
      processed_at: now,
      closed_at: now,
      close_reason: `unavailable: ${outcome.kind}`,
    });
    return;
  }

  const plan = planFetched(outcome);
  switch (plan.kind) {
    case 'media': {
      const id = await reportedItem(db, caseId, found.url);
      const { fetch_kind, fetch_status, fetch_message, final_url, address, content_type, sniffed } =
        fetchRecord(outcome);
      await settleMedia(
        deps,
        db,
        { id, caseId, mediaKey: null },
        outcome.bytes,
        {
          fetch_kind,
          fetch_status,
          fetch_message,
          final_url,
          address,
          content_type,
          sniffed,
          fetch_attempts: job.attempt,
        },
        { ...fetched, state: 'fetched', media_found: 1, media_truncated: false },
      );
      return;
    }
    case 'empty':
      await settleCase(db, caseId, {
        ...fetched,
        state: 'unavailable',
        processed_at: now,
        closed_at: now,
        close_reason: 'unavailable: empty',
      });
      return;
    case 'review':
      await settleCase(db, caseId, {
        ...fetched,
        state: 'queued',
        review_reason: plan.reason,
        media_found: 0,
        processed_at: now,
      });
      return;
    case 'page': {
      // Inline media's bytes go to the (encrypted) store before their items
      // exist; a repeated run writes the same keys again.
      const inline: NewItem[] = [];
      for (const { media, sha256 } of plan.inline) {
        const key = inlineBlobKey(caseId, sha256);
        await deps.blobs.put(key, media.bytes);
        inline.push({
          url: inlineItemUrl(media, sha256),
          foundAs: 'inline',
          via: [media.via],
          hint: 'image',
          mediaKey: key,
        });
      }
      // The items' jobs commit with them, leased to this worker, which starts
      // them at once: no claim, no wait (a worker that dies leaves them to
      // the others when the leases run out).
      const items = await db.transaction().execute(async (trx) => {
        const settled = await settleCase(trx, caseId, {
          ...fetched,
          state: 'fetched',
          media_found: plan.found,
          media_truncated: plan.truncated,
        });
        if (!settled) return undefined;
        const added = await insertItems(trx, caseId, [...plan.links, ...inline]);
        return helpers.enqueueHere(
          trx,
          'process-media',
          added.map(({ id, item }) => ({
            payload: {
              itemId: id,
              item: {
                caseId,
                url: item.url,
                foundAs: item.foundAs,
                mediaKey: item.mediaKey,
                caseHost: found.host,
              },
            },
            key: `process-media:${id}`,
          })),
        );
      });
      items?.start();
      return;
    }
  }
}

function ruleColumns(rules: RuleDecision): CaseChanges {
  return {
    ...(rules.kind === 'fetch' ? {} : { rule_id: rules.rule.id, rule_action: rules.kind }),
    ...(rules.forcedHoster === undefined ? {} : { forced_hoster: rules.forcedHoster.hoster }),
  };
}
