import type { Kysely } from 'kysely';
import { afterEach } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createJobQueue, startJobRunner } from '../../src/jobs/index.js';
import type { AnyJobDefinition, JobQueue, JobRunner, RunnerOptions } from '../../src/jobs/index.js';
import type { Database } from '../../src/store/database.js';

/**
 * Job tests use their own payload map, so that test job names never become
 * valid names for the application's queue. Any string names a job: each
 * test takes fresh names (`jobName('echo')`), so tests sharing a file's
 * database never run each other's jobs.
 */
export type TestJobs = Record<string, { n: number; [more: string]: unknown }>;

export const testLogger = createLogger(process.env.TAKEDOWN_TEST_LOG ?? 'silent', 'jobs-test');

let counter = 0;
export function jobName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

const runners: JobRunner[] = [];

/** Stops every runner a test started (also when it failed). */
export function stopRunnersAfterEach(): void {
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop(1_000)));
  });
}

export function testRunner(
  db: Kysely<Database>,
  queue: JobQueue<TestJobs>,
  jobs: ReadonlyArray<AnyJobDefinition<TestJobs>>,
  options: Partial<RunnerOptions<TestJobs>> = {},
): JobRunner {
  const runner = startJobRunner<TestJobs>({
    db,
    queue,
    jobs,
    logger: testLogger,
    concurrency: 4,
    pollMs: 20,
    leaseMs: 1_000,
    ...options,
  });
  runners.push(runner);
  return runner;
}

export function testQueue(): JobQueue<TestJobs> {
  return createJobQueue<TestJobs>();
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'the condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
