import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { JobQueue } from '../jobs/index.js';
import { defineJob } from '../jobs/index.js';
import type { Logger } from '../log.js';
import type { BlobStore } from '../store/blob-store.js';
import type { Database } from '../store/database.js';
import type { PipelineDeps } from './deps.js';
import { markMediaDeleted, mediaDue } from './queries.js';
import { nextRetentionRun, retentionCutoff, retentionJobKey } from './retention.js';

declare module '../jobs/types.js' {
  interface JobPayloads {
    /** Delete evidence media past TAKEDOWN_MEDIA_RETENTION_DAYS, then schedule the next run. */
    'media-retention': Record<string, never>;
  }
}

const BATCH = 500;

export function mediaRetentionJob(deps: PipelineDeps) {
  return defineJob({
    name: 'media-retention',
    schema: z.object({}).strict() as z.ZodType<Record<string, never>>,
    retry: { maxAttempts: 5, baseDelayMs: 60_000 },
    timeoutMs: 30 * 60 * 1000,
    async handler(_payload, { db, logger, signal, enqueue }) {
      const deleted = await deleteExpiredMedia(db, deps.blobs, {
        now: new Date(),
        retentionDays: deps.settings.mediaRetentionDays,
        signal,
        logger,
      });
      if (deleted > 0) logger.info({ deleted }, 'expired evidence media deleted');
      const next = nextRetentionRun(new Date());
      await enqueue('media-retention', {}, { runAt: next, key: retentionJobKey(next) });
    },
  });
}

/**
 * Deletes every blob stored before the cutoff and marks its item; returns
 * how many. A blob already gone (a run that died after deleting it) counts
 * as deleted: the item is marked all the same.
 */
export async function deleteExpiredMedia(
  db: Kysely<Database>,
  blobs: BlobStore,
  options: {
    readonly now: Date;
    readonly retentionDays: number;
    readonly signal?: AbortSignal;
    readonly logger?: Logger;
  },
): Promise<number> {
  const cutoff = retentionCutoff(options.now, options.retentionDays);
  let total = 0;
  for (;;) {
    if (options.signal?.aborted) break;
    const due = await mediaDue(db, cutoff, BATCH);
    if (due.length === 0) break;
    for (const item of due) await blobs.delete(item.media_key);
    await markMediaDeleted(
      db,
      due.map((item) => item.id),
    );
    total += due.length;
    if (due.length < BATCH) break;
  }
  return total;
}

/** Makes sure the next hourly run is scheduled (called when a worker starts). */
export async function scheduleRetention(
  db: Kysely<Database>,
  queue: JobQueue,
  now = new Date(),
): Promise<void> {
  const next = nextRetentionRun(now);
  await queue.enqueue(db, 'media-retention', {}, { runAt: next, key: retentionJobKey(next) });
}
