/**
 * Durable background jobs in the database (PGlite or PostgreSQL): typed
 * payloads, SKIP LOCKED claims, leases with heartbeats, retries with
 * backoff, a dead-letter state. See DEVELOPERS.md "Jobs".
 */
export { createJobQueue } from './queue.js';
export type { JobQueue } from './queue.js';
export { startJobRunner } from './runner.js';
export type { JobRunner, RunnerOptions, RunnerStats } from './runner.js';
export type { AnyJobDefinition } from './run-job.js';
export { defineJob, PermanentJobError } from './types.js';
export type {
  EnqueueOptions,
  EnqueueResult,
  JobDb,
  JobDefinition,
  JobHandler,
  JobHelpers,
  JobInfo,
  JobName,
  JobsHere,
  JobPayloads,
  PayloadMap,
  RetryPolicy,
} from './types.js';
export { countJobs, listJobs, retryDeadJob } from './admin.js';
export type { JobCount, JobSummary, ListJobsFilter, RetryResult } from './admin.js';
export { DEFAULT_RETRY, isTransientDatabaseError, retryDelayMs } from './retry-policy.js';
export type { JobState } from './tables.js';
