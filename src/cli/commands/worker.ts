import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { jobQueueFor } from '../../pipeline/job-queue.js';
import { startPipeline } from '../../pipeline/service.js';
import { resolveMediaKey } from '../../store/media-key-file.js';
import { describeDatabase, openDatabase } from '../../store/index.js';
import { stopSignal } from './serve.js';

/**
 * `takedown worker`: the report pipeline without the HTTP API, for more
 * throughput (several per machine, on several machines, all against one
 * PostgreSQL) or to keep fetching attacker-chosen URLs off the API's hosts.
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'Run the report pipeline (fetch, hash, match, classify) without the HTTP API. Start as many as you like against one database; SIGTERM stops one gracefully.',
    )
    .option(
      '--concurrency <n>',
      'jobs this worker runs at once (default TAKEDOWN_JOBS_CONCURRENCY)',
      (value: string) => {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 1000)
          throw new InvalidArgumentError('must be a whole number from 1 to 1000.');
        return n;
      },
    )
    .action((flags: { concurrency?: number }) => work(flags));
}

async function work(flags: { concurrency?: number }): Promise<void> {
  const { config } = await resolveMediaKey(loadConfig(), 'a worker');
  const logger = createLogger(config.logLevel);
  const stop = stopSignal(logger);
  try {
    const db = await openDatabase(config, {
      logger,
      command: 'takedown worker',
      signal: stop.signal,
    });
    try {
      const pipeline = startPipeline({
        db,
        config,
        logger,
        queue: jobQueueFor(db),
        ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      });
      void pipeline.ready.then(() =>
        process.stdout.write(
          `Takedown worker ${process.pid} is taking jobs (database: ${describeDatabase(config)}).\n`,
        ),
      );
      const signal = await stop.requested;
      logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping: finishing running jobs');
      await pipeline.stop(config.shutdownGraceMs);
    } finally {
      await db.destroy();
    }
    logger.info('stopped');
  } finally {
    stop.dispose();
  }
}
