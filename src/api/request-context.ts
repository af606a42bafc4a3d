import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import type { Context } from 'hono';
import { TakedownError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';
import type { AppEnv } from './types.js';

/** A request id for every request: the caller's `X-Request-Id` if sane, else a new one. */
export const withRequestId = (): MiddlewareHandler<AppEnv> =>
  requestId({ headerName: 'X-Request-Id' });

/**
 * The route pattern that answered ("/v1/banks/:name"), for metrics labels and
 * logs: raw paths would give every bank its own time series. "unmatched" for
 * 404s, so probing random URLs cannot blow up the metrics.
 */
export function routeLabel(c: Context): string {
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
  return route?.path ?? 'unmatched';
}

/** Probes and scrapes arrive every few seconds; logging each one hides the traffic that matters. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** Binds a request logger, then records the outcome as one access-log line and metrics. */
export function accessLog(logger: Logger, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    const log = logger.child({ reqId: c.get('requestId') });
    c.set('log', log);
    await next();
    const seconds = (performance.now() - start) / 1000;
    const route = routeLabel(c);
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    const line = {
      method: c.req.method,
      path: c.req.path,
      route,
      status: c.res.status,
      ms: Math.round(seconds * 10000) / 10,
    };
    if (QUIET_ROUTES.has(route) && c.res.status < 400) log.debug(line, 'request');
    else log.info(line, 'request');
  };
}

/**
 * Refuses bodies over the route's limit before they are read into memory
 * (by Content-Length, or by counting a chunked body as it arrives).
 */
export function limitBodies(
  defaultLimit: number,
  perRoute: ReadonlyMap<string, number>,
): MiddlewareHandler<AppEnv> {
  const byLimit = new Map<number, MiddlewareHandler>();
  const middlewareFor = (limit: number): MiddlewareHandler => {
    let middleware = byLimit.get(limit);
    if (middleware === undefined) {
      middleware = bodyLimit({
        maxSize: limit,
        onError: () => {
          throw tooLarge(limit);
        },
      });
      byLimit.set(limit, middleware);
    }
    return middleware;
  };
  return (c, next) => {
    const limit = perRoute.get(`${c.req.method} ${routeLabel(c)}`) ?? defaultLimit;
    // Decide from the headers when they say enough: Hono's bodyLimit reads
    // `c.req.raw.body`, which makes @hono/node-server build a full web
    // Request and stream the body through web streams, for every request
    // (measured: about a third of the cost of a small POST).
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number(length) > limit) throw tooLarge(limit);
      return next();
    }
    return middlewareFor(limit)(c, next);
  };
}

function tooLarge(limit: number): TakedownError {
  return new TakedownError(
    'body-too-large',
    `The request body is larger than this endpoint accepts (${limit} bytes).`,
    { kind: 'too-large', details: { limitBytes: limit } },
  );
}
