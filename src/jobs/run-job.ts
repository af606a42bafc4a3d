import type { Kysely, Transaction } from 'kysely';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import type { ClaimedJob } from './queries.js';
import type { JobQueue } from './queue.js';
import type { JobDefinition, JobHelpers, JobName, JobsHere, PayloadMap } from './types.js';
import { PermanentJobError } from './types.js';

/** Any one definition of the map P (a union, so arrays of mixed jobs type-check). */
export type AnyJobDefinition<P extends PayloadMap> = {
  [N in JobName<P>]: JobDefinition<P, N>;
}[JobName<P>];

export const DEFAULT_TIMEOUT_MS = 5 * 60 * 1000;

/** How one run ended, before it is recorded. */
export type RunResult =
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly error: unknown; readonly permanent: boolean };

export interface RunContext<P extends PayloadMap> {
  readonly db: Kysely<Database>;
  readonly queue: JobQueue<P>;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** The runner's side of `helpers.enqueueHere`. */
  readonly enqueueHere: (
    trx: Transaction<Database>,
    name: string,
    jobs: ReadonlyArray<{ readonly payload: unknown; readonly key?: string }>,
  ) => Promise<JobsHere>;
}

/**
 * Runs a claimed job's handler: validates the payload, supplies the helpers
 * and turns every way it can end (return, throw, time-out) into a RunResult.
 * Never throws. On time-out it does not wait for the handler any longer: the
 * runner cannot stop a promise, so a handler must honour `helpers.signal`.
 */
export async function runHandler<P extends PayloadMap>(
  job: ClaimedJob,
  definition: AnyJobDefinition<P>,
  context: RunContext<P>,
  abort: (reason: string) => void,
  adopted = false,
): Promise<RunResult> {
  let payload: unknown = job.payload;
  if (definition.schema !== undefined) {
    const parsed = definition.schema.safeParse(job.payload);
    if (!parsed.success) {
      return {
        kind: 'failed',
        permanent: true,
        error: new PermanentJobError(
          `the stored payload does not fit job "${job.name}": ${parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}`,
        ),
      };
    }
    payload = parsed.data;
  }
  const helpers: JobHelpers<P> = {
    job: {
      id: job.id,
      name: job.name,
      key: job.key,
      attempt: job.attempts,
      maxAttempts: job.max_attempts,
    },
    adopted,
    logger: context.logger,
    db: context.db,
    signal: context.signal,
    enqueue: (name, childPayload, options = {}) => {
      const { trx, ...rest } = options;
      return context.queue.enqueue(trx ?? context.db, name, childPayload, rest);
    },
    enqueueHere: (trx, name, jobs) => context.enqueueHere(trx, name, jobs),
  };
  const timeoutMs = definition.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<RunResult>((resolve) => {
    timer = setTimeout(() => {
      abort(`timed out after ${timeoutMs} ms`);
      resolve({
        kind: 'failed',
        permanent: false,
        error: new Error(`job "${job.name}" ran longer than its timeout of ${timeoutMs} ms`),
      });
    }, timeoutMs);
  });
  const handled = (async (): Promise<RunResult> => {
    // The cast joins the definition (a union over names) to its payload.
    await (definition.handler as (p: unknown, h: JobHelpers<P>) => Promise<void>)(payload, helpers);
    return { kind: 'done' };
  })().catch((error: unknown): RunResult => ({
    kind: 'failed',
    error,
    permanent: error instanceof PermanentJobError,
  }));
  try {
    return await Promise.race([handled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
