import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { loadConfig } from '../../config.js';
import { TakedownError } from '../../errors.js';
import { countJobs, listJobs, retryDeadJob } from '../../jobs/index.js';
import type { JobState, JobSummary, RetryResult } from '../../jobs/index.js';
import { createLogger } from '../../log.js';
import type { Database } from '../../store/database.js';
import { openDatabase } from '../../store/index.js';
import { EXIT_SOME_FAILED } from '../exit-codes.js';

const STATES: ReadonlyArray<JobState | 'all'> = ['dead', 'pending', 'running', 'all'];

export function registerJobs(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('Background jobs: the backlog, dead-lettered jobs, and retrying them.');
  jobs
    .command('list')
    .description('List jobs, dead ones by default (those that gave up and need a person).')
    .option('--state <state>', `dead, pending, running or all`, 'dead')
    .option('--name <name>', 'only jobs of this name')
    .option('--limit <n>', 'at most this many (1-1000)', '50')
    .option('--json', 'print JSON (payloads included)')
    .action(list);
  jobs
    .command('counts')
    .description('How many jobs of each name are pending (and due), running and dead.')
    .option('--json', 'print JSON')
    .action(counts);
  jobs
    .command('retry')
    .description('Give dead jobs a fresh set of attempts, due now.')
    .argument('<id...>', 'job ids (from `takedown jobs list`)')
    .action(retry);
}

async function withDb<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase(config, { logger: createLogger(config.logLevel) });
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

function parseState(text: string): JobState | 'all' {
  if (!(STATES as readonly string[]).includes(text))
    throw new TakedownError('invalid-flag', `--state must be one of ${STATES.join(', ')}.`);
  return text as JobState | 'all';
}

function parseLimit(text: string): number {
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new TakedownError('invalid-flag', '--limit takes a whole number from 1 to 1000.');
  return limit;
}

async function list(flags: { state: string; name?: string; limit: string; json?: boolean }) {
  const filter = {
    state: parseState(flags.state),
    limit: parseLimit(flags.limit),
    ...(flags.name === undefined ? {} : { name: flags.name }),
  };
  const jobs = await withDb((db) => listJobs(db, filter));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
    return;
  }
  if (jobs.length === 0) {
    process.stdout.write(`No ${filter.state === 'all' ? '' : `${filter.state} `}jobs.\n`);
    return;
  }
  process.stdout.write(`${jobs.map(describeJob).join('\n')}\n`);
}

function describeJob(job: JobSummary): string {
  const lines = [
    `#${job.id} ${job.name} ${job.state}, attempt ${job.attempts} of ${job.maxAttempts ?? 'default'}` +
      (job.key === null ? '' : `, key ${job.key}`),
    job.state === 'running'
      ? `  running on ${job.lockedBy} until ${job.lockedUntil?.toISOString()}`
      : job.state === 'pending'
        ? `  due ${job.runAt.toISOString()}`
        : `  gave up ${job.updatedAt.toISOString()}`,
  ];
  if (job.lastError !== null) lines.push(`  last error: ${job.lastError}`);
  return lines.join('\n');
}

async function counts(flags: { json?: boolean }) {
  const rows = await withDb((db) => countJobs(db));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('No jobs.\n');
    return;
  }
  const byName = new Map<string, Record<JobState, string>>();
  for (const row of rows) {
    const entry = byName.get(row.name) ?? { pending: '0', running: '0', dead: '0' };
    entry[row.state] =
      row.state === 'pending' ? `${row.count} (${row.due} due)` : String(row.count);
    byName.set(row.name, entry);
  }
  const lines = [...byName].map(
    ([name, c]) => `${name}: ${c.pending} pending, ${c.running} running, ${c.dead} dead`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function retry(ids: string[]) {
  const parsed = ids.map((text) => {
    const id = Number(text);
    if (!Number.isSafeInteger(id) || id < 1)
      throw new TakedownError('invalid-argument', `"${text}" is not a job id.`);
    return id;
  });
  const results = await withDb(async (db) => {
    const out: RetryResult[] = [];
    for (const id of parsed) out.push(await retryDeadJob(db, id));
    return out;
  });
  for (const result of results) process.stdout.write(`${describeRetry(result)}\n`);
  if (results.some((r) => r.kind !== 'retried')) process.exitCode = EXIT_SOME_FAILED;
}

function describeRetry(result: RetryResult): string {
  switch (result.kind) {
    case 'retried':
      return `#${result.id}: queued again, due now.`;
    case 'not-found':
      return `#${result.id}: no such job (finished jobs are deleted).`;
    case 'not-dead':
      return `#${result.id}: not dead but ${result.state}; nothing to do.`;
    case 'key-taken':
      return `#${result.id}: not retried, job #${result.liveJobId} with the same key is already queued.`;
  }
}
