import type { Kysely } from 'kysely';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { importEntries } from '../../src/banks/import.js';
import { createBank } from '../../src/banks/queries.js';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { createFetcher, fetcherOptionsFromConfig, staticResolver } from '../../src/fetch/index.js';
import { hashBytes } from '../../src/hash/file/hash-file.js';
import { createLogger } from '../../src/log.js';
import { jobQueueFor } from '../../src/pipeline/job-queue.js';
import { startPipeline } from '../../src/pipeline/service.js';
import type { Pipeline } from '../../src/pipeline/service.js';
import type { Database } from '../../src/store/database.js';
import { makeTempDir } from './temp.js';

/**
 * The report pipeline in a test: short time limits, loopback fetching
 * allowed, names resolved by a table, media in a temporary folder under a
 * throw-away key, and helpers to plant synthetic images in a bank and to
 * wait until the automatic stages are done.
 */

export const TEST_MEDIA_KEY = 'ab'.repeat(32);
export const pipelineLogger = createLogger(
  process.env.TAKEDOWN_TEST_LOG ?? 'silent',
  'pipeline-test',
);

export async function pipelineConfig(env: Record<string, string> = {}): Promise<Config> {
  return loadConfig({
    TAKEDOWN_TRUSTED_PROXY_HOPS: '1',
    TAKEDOWN_FETCH_ALLOW: '127.0.0.0/8',
    TAKEDOWN_FETCH_TIMEOUT_MS: '1500',
    TAKEDOWN_FETCH_IDLE_TIMEOUT_MS: '800',
    TAKEDOWN_FETCH_RETRIES: '2',
    TAKEDOWN_FETCH_RETRY_DELAY_MS: '50',
    TAKEDOWN_MEDIA_KEY: TEST_MEDIA_KEY,
    TAKEDOWN_MEDIA_DIR: await makeTempDir('takedown-media-'),
    TAKEDOWN_REPORT_RATE_PER_MINUTE: '6000',
    TAKEDOWN_REPORT_BURST: '1000',
    TAKEDOWN_JOBS_LEASE_MS: '2000',
    // Vitest runs the TypeScript sources: there is no compiled hashing thread to start.
    TAKEDOWN_HASH_THREADS: '0',
    ...env,
  });
}

export function startTestPipeline(
  db: Kysely<Database>,
  config: Config,
  names: Record<string, string[]> = {},
): Pipeline {
  return startPipeline({
    db,
    config,
    logger: pipelineLogger,
    queue: jobQueueFor(db),
    fetcher: createFetcher({
      ...fetcherOptionsFromConfig(config),
      resolver: staticResolver(names),
    }),
    concurrency: 4,
    pollMs: 20,
  });
}

/** A bank holding the PDQ and MD5 of each file. */
export async function plantInBank(
  db: Kysely<Database>,
  name: string,
  category: string,
  files: readonly Uint8Array[],
): Promise<void> {
  await createBank(db, { name, category, source: 'test' });
  const lines = ['type,value'];
  for (const file of files) {
    const hashed = await hashBytes(file);
    if (hashed.pdq === undefined || hashed.md5 === undefined)
      throw new Error('planted file has no PDQ');
    lines.push(`pdq,${hashed.pdq}`, `md5,${hashed.md5}`);
  }
  const result = await importEntries(db, name, Readable.from([lines.join('\n') + '\n']));
  if (result.kind !== 'imported') throw new Error(`bank import failed: ${JSON.stringify(result)}`);
}

/** Resolves when no case or item is pending and no pipeline job is left to run. */
export async function pipelineSettled(db: Kysely<Database>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cases = await db
      .selectFrom('url_case')
      .select('id')
      .where('state', '=', 'pending')
      .limit(1)
      .execute();
    const items = await db
      .selectFrom('media_item')
      .select('id')
      .where('state', '=', 'pending')
      .limit(1)
      .execute();
    const jobs = await db
      .selectFrom('job')
      .select(['name', 'state', 'last_error'])
      .where('name', 'in', ['fetch-case', 'process-media'])
      .execute();
    const dead = jobs.filter((j) => j.state === 'dead');
    if (dead.length > 0) throw new Error(`dead pipeline jobs: ${JSON.stringify(dead)}`);
    if (cases.length === 0 && items.length === 0 && jobs.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `the pipeline did not settle in ${timeoutMs} ms: ${cases.length} cases, ${items.length} items pending; jobs ${JSON.stringify(jobs)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every file under `dir`, recursively. */
export async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs
    .readdir(dir, { withFileTypes: true, recursive: true })
    .catch(() => [])) {
    if (entry.isFile()) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}
