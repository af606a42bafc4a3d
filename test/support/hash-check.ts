import pino from 'pino';
import { Writable } from 'node:stream';
import type { Kysely } from 'kysely';
import { createApp } from '../../src/api/app.js';
import { createMetrics } from '../../src/api/metrics.js';
import { Readiness } from '../../src/api/readiness.js';
import type { ApiApp } from '../../src/api/types.js';
import { importEntries } from '../../src/banks/import.js';
import type { HashCheck } from '../../src/check/service.js';
import { startHashCheck } from '../../src/check/service.js';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/log.js';
import type { Database } from '../../src/store/database.js';

/**
 * A hash-check service and app over a test database, as `takedown serve`
 * builds them, with the log captured (to prove what is never logged).
 */
export interface CheckHarness {
  readonly app: ApiApp;
  readonly service: HashCheck;
  readonly config: Config;
  readonly readiness: Readiness;
  /** Every log line so far, as written. */
  readonly log: string[];
  stop(): Promise<void>;
}

export function captureLogger(into: string[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      into.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return pino({ level: 'debug' }, sink);
}

export async function startCheckHarness(
  db: Kysely<Database>,
  env: Record<string, string> = {},
  options: { snapshotDir?: string | null } = {},
): Promise<CheckHarness> {
  const log: string[] = [];
  const logger = captureLogger(log);
  const config = loadConfig({
    TAKEDOWN_CHANGES_POLL_MS: '50',
    TAKEDOWN_DATA: '/nonexistent',
    ...env,
  });
  const readiness = new Readiness();
  const service = startHashCheck({
    db,
    config,
    logger,
    readiness,
    snapshotDir: options.snapshotDir === undefined ? null : options.snapshotDir,
  });
  const app = createApp({
    db,
    config,
    logger,
    readiness,
    metrics: createMetrics({ processMetrics: false }),
  });
  await service.ready;
  return { app, service, config, readiness, log, stop: () => service.stop() };
}

/** Imports lines (JSON objects or bare hashes with `type`) into a bank. */
export async function importLines(
  db: Kysely<Database>,
  bank: string,
  lines: readonly (string | Record<string, unknown>)[],
  type?: 'pdq' | 'md5' | 'sha1' | 'sha256',
): Promise<void> {
  const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
  const result = await importEntries(
    db,
    bank,
    (async function* () {
      yield Buffer.from(text);
    })(),
    { type },
  );
  if (result.kind !== 'imported')
    throw new Error(`import failed: ${JSON.stringify(result.errors)}`);
}

/** Polls until `check` passes or `ms` runs out; returns how long it took. */
export async function within(ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
