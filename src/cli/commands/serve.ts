import type { Command } from 'commander';
import { createApp, listen, Readiness } from '../../api/index.js';
import { startingApp } from '../../api/starting-app.js';
import { packageVersion } from '../../api/version.js';
import { loadConfig } from '../../config.js';
import type { Config } from '../../config.js';
import { TakedownError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { describeDatabase, openDatabase } from '../../store/index.js';
import { announceFirstAdmin } from '../../users/first-admin.js';
import { startHashCheck } from '../../check/service.js';
import { jobQueueFor } from '../../pipeline/job-queue.js';
import { startPipeline } from '../../pipeline/service.js';
import type { Pipeline } from '../../pipeline/service.js';
import { describeKeyFile, resolveMediaKey } from '../../store/media-key-file.js';

interface ServeFlags {
  readonly port?: string;
  readonly host?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the HTTP API. Uses the embedded database in TAKEDOWN_DATA (created on first start) unless DATABASE_URL is set; other takedown commands keep working beside it.',
    )
    .option('--port <port>', 'port to listen on; overrides PORT (0 picks a free one)')
    .option('--host <address>', 'address to listen on; overrides HOST (0.0.0.0 for all)')
    .action((flags: ServeFlags) => serve(flags));
}

/** Flags win over the environment; both are validated before anything starts. */
export function applyServeFlags(config: Config, flags: ServeFlags): Config {
  let { port, host } = config;
  if (flags.port !== undefined) {
    if (!/^\d+$/.test(flags.port) || Number(flags.port) > 65535) {
      throw new TakedownError(
        'invalid-flag',
        `--port ${JSON.stringify(flags.port)} is not a port number (0-65535).`,
      );
    }
    port = Number(flags.port);
  }
  if (flags.host !== undefined) {
    if (flags.host.trim() === '')
      throw new TakedownError(
        'invalid-flag',
        '--host needs an address, e.g. 127.0.0.1 or 0.0.0.0.',
      );
    host = flags.host;
  }
  return Object.freeze({ ...config, port, host });
}

async function serve(flags: ServeFlags): Promise<void> {
  let config = applyServeFlags(loadConfig(), flags);
  // Before anything starts: the pipeline keeps evidence, only ever encrypted.
  let keyFile;
  if (config.pipeline === 'on')
    ({ config, keyFile } = await resolveMediaKey(
      config,
      '`takedown serve` runs the report pipeline (TAKEDOWN_PIPELINE=on), which',
      'Or set TAKEDOWN_PIPELINE=off to run a server that only accepts reports, with `takedown worker` processes (given the key) doing the work.',
    ));
  const logger = createLogger(config.logLevel);
  const version = packageVersion();
  const stop = stopSignal(logger);
  try {
    // The port first: a conflict is reported at once, and probes get answers
    // (alive, not ready) while the database opens or waits for a command.
    const server = await listen(startingApp(), { port: config.port, host: config.host });
    logger.info({ url: server.url, dataDir: config.dataDir }, 'listening');
    process.stdout.write(
      `Takedown ${version} is listening on ${server.url} (API reference: ${server.url}/docs)\n` +
        `Data folder: ${config.dataDir}\nDatabase: ${describeDatabase(config)}\n` +
        (keyFile === undefined ? '' : describeKeyFile(keyFile)),
    );
    let db;
    try {
      db = await openDatabase(config, {
        logger,
        role: 'server',
        command: 'takedown serve',
        signal: stop.signal,
      });
    } catch (error) {
      await server.close(0);
      if (stop.signal.aborted) return;
      throw error;
    }
    const readiness = new Readiness();
    // The matcher loads in the background; /readyz says "not ready" until it has.
    const hashCheck = startHashCheck({ db, config, logger, readiness });
    // After the hash-check service: the pipeline shares its matcher.
    const pipeline: Pipeline | undefined =
      config.pipeline === 'on'
        ? startPipeline({ db, config, logger, queue: jobQueueFor(db) })
        : undefined;
    server.setApp(createApp({ db, config, logger, readiness, version }));
    logger.info('ready');
    await announceFirstAdmin(db, logger);

    const signal = await stop.requested;
    logger.info(
      { signal, graceMs: config.shutdownGraceMs },
      'stopping: finishing requests in flight',
    );
    readiness.markStopping();
    await server.close(config.shutdownGraceMs);
    // Running jobs get the grace period; the rest go back to the queue for the next worker.
    await pipeline?.stop(config.shutdownGraceMs);
    await hashCheck.stop(); // writes pending match records and the matcher snapshot
    await db.destroy(); // the embedded database flushes and releases the data folder here
    logger.info('stopped');
  } finally {
    stop.dispose();
  }
}

/**
 * The first SIGINT/SIGTERM starts a graceful stop; a second one means "now"
 * and exits at once (a person pressing Ctrl-C twice).
 */
export function stopSignal(logger: ReturnType<typeof createLogger>): {
  requested: Promise<NodeJS.Signals>;
  /** Aborted on the first signal: cancels waiting for the database. */
  signal: AbortSignal;
  dispose: () => void;
} {
  const controller = new AbortController();
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const requested = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      logger.warn({ signal }, 'stopping immediately');
      process.exit(130);
    }
    controller.abort();
    resolve(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested,
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
