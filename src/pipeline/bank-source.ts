import type { Kysely } from 'kysely';
import { ChangeFeed } from '../changes/feed.js';
import { MatcherService } from '../check/matcher.js';
import { hashCheckFor } from '../check/service.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import type { BankLookup } from './deps.js';

/**
 * The banks, in memory, for matching media items. In `takedown serve` the
 * hash-check service already holds them: the pipeline shares its matcher
 * rather than load a second copy. A `takedown worker` loads its own and
 * follows bank changes the same way (the change log, polled).
 */
export interface BankSource extends BankLookup {
  /** Resolves once the banks are loaded: the pipeline starts no job before. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export function bankSourceFor(
  db: Kysely<Database>,
  config: Pick<Config, 'changesPollMs'>,
  logger: Logger,
): BankSource {
  const shared = hashCheckFor(db);
  if (shared !== undefined) {
    return {
      ready: shared.ready,
      match: (queries) => shared.matcher.matcher.match(queries),
      stop: async () => undefined,
    };
  }
  const service = new MatcherService({ db, logger });
  const feed = new ChangeFeed({ db, logger, intervalMs: config.changesPollMs }, 0);
  feed.subscribe((changes) => service.apply(changes));
  let stopped = false;
  let wake = (): void => undefined;
  const ready = (async () => {
    while (!stopped) {
      try {
        const report = await service.load();
        logger.info(report, 'banks loaded for the report pipeline');
        feed.start(service.seq);
        return;
      } catch (error) {
        logger.error({ err: error }, 'could not load the banks; trying again in 5 s');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 5_000).unref();
        });
      }
    }
  })();
  return {
    ready,
    match: (queries) => service.matcher.match(queries),
    async stop() {
      stopped = true;
      wake();
      await ready;
      await feed.stop();
    },
  };
}
