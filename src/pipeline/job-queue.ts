import type { Kysely } from 'kysely';
import { createJobQueue } from '../jobs/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Database } from '../store/database.js';

/**
 * The process's one job queue, found by its database handle (as the routes
 * find the hash-check service): routes that accept reports enqueue through
 * the same queue the process's runner listens to, so a report's first job
 * starts at once instead of at the next poll. Without a runner in the
 * process the jobs simply wait in the table for a worker.
 */
const queues = new WeakMap<Kysely<Database>, JobQueue>();

export function jobQueueFor(db: Kysely<Database>): JobQueue {
  let queue = queues.get(db);
  if (queue === undefined) {
    queue = createJobQueue();
    queues.set(db, queue);
  }
  return queue;
}
