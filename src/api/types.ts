import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Kysely } from 'kysely';
import type { Permission } from '../access/permissions.js';
import type { Principal } from '../access/principal.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

/** Time, injected so tests can fix it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** What route modules get: everything they touch from outside the request. */
export interface AppDeps {
  readonly db: Kysely<Database>;
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  /** /readyz asks every check registered here (the database's is added by createApp). */
  readonly readiness: Readiness;
  /** Prometheus registry behind /metrics; features add their own counters to it. */
  readonly metrics: Metrics;
  /** The Takedown version, for the API document. */
  readonly version: string;
}

/** Per-request values, `c.get('requestId')` / `c.get('log')`. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The logger with this request's id bound; use it in handlers. */
    log: Logger;
    /** Who is asking, resolved by the access middleware (src/api/access.ts). */
    principal: Principal;
  };
}

export type ApiApp = OpenAPIHono<AppEnv>;

/**
 * A group of routes for one audience or feature, registered with one line in
 * routes.ts. Define each route with `createRoute` (request and response
 * schemas) and add it with `app.openapi(route, handler)`: it is validated,
 * typed, and listed in /openapi.json and /docs without further work.
 */
export interface RouteModule {
  readonly name: string;
  register(app: ApiApp, deps: AppDeps): void;
  /**
   * Body size limits of this module's routes that differ from
   * TAKEDOWN_MAX_BODY_BYTES, keyed "METHOD /path" with the path as registered
   * (Hono syntax, e.g. "POST /v1/check/image").
   */
  bodyLimits?(deps: AppDeps): Readonly<Record<string, number>>;
  /**
   * Permissions of routes added without `app.openapi` (plain `app.get`),
   * keyed "METHOD /path" as registered. OpenAPI routes declare theirs with
   * `secureRoute(permission, …)` instead.
   */
  readonly permissions?: Readonly<Record<string, Permission>>;
}
