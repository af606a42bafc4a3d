import type { LogEvent } from 'kysely';
import type { Logger } from '../log.js';

const SLOW_QUERY_MS = 1_000;

/**
 * Kysely's `log` option: slow queries as warnings, failures at debug (the
 * caller decides whether a failure matters). Never the parameters: they may
 * carry key material or reporter data.
 */
export function kyselyLog(logger: Logger): (event: LogEvent) => void {
  return (event) => {
    if (event.level === 'error') {
      logger.debug({ err: event.error, sql: event.query.sql }, 'query failed');
    } else if (event.queryDurationMillis >= SLOW_QUERY_MS) {
      logger.warn(
        { sql: event.query.sql, ms: Math.round(event.queryDurationMillis) },
        'slow query',
      );
    }
  };
}
