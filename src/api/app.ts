import { OpenAPIHono } from '@hono/zod-openapi';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { secureHeaders } from 'hono/secure-headers';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import { checkDatabase } from '../store/health.js';
import type { Permission } from '../access/permissions.js';
import type { Authenticator, DenialRecorder } from './access.js';
import { auditDenials } from './audit-denials.js';
import { buildPermissionTable, enforceAccess, routesWithoutPermission } from './access.js';
import type { PermissionTable } from './access.js';
import { AUTHENTICATORS } from './authenticators.js';
import { errorResponse, validationError } from './errors.js';
import { createMetrics } from './metrics.js';
import type { Metrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { accessLog, limitBodies, withRequestId } from './request-context.js';
import { ROUTE_MODULES } from './routes.js';
import { systemClock } from './types.js';
import type { ApiApp, AppDeps, AppEnv, Clock, RouteModule } from './types.js';
import { packageVersion } from './version.js';

export interface AppInput {
  readonly db: Kysely<Database>;
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Pass one in to register further checks (the matcher's) before or after creating the app. */
  readonly readiness?: Readiness;
  readonly metrics?: Metrics;
  readonly version?: string;
  /** How credentials become principals; defaults to AUTHENTICATORS (authenticators.ts). */
  readonly authenticators?: readonly Authenticator[];
  /** Where refused requests are recorded; defaults to the audit trail in `db`. */
  readonly recordDenial?: DenialRecorder;
}

/**
 * The HTTP API: one error handler, request ids and access logs, body limits,
 * 404/405 as JSON, and the route modules (routes.ts). No I/O happens here:
 * everything outside the request comes in through `input`. Serve it with
 * `listen()` from server.ts, or call `app.request()` in tests.
 */
export function createApp(
  input: AppInput,
  modules: readonly RouteModule[] = ROUTE_MODULES,
): ApiApp {
  const deps: AppDeps = {
    db: input.db,
    config: input.config,
    logger: input.logger,
    clock: input.clock ?? systemClock,
    readiness: input.readiness ?? new Readiness(),
    metrics: input.metrics ?? createMetrics(),
    version: input.version ?? packageVersion(),
  };
  deps.readiness.add('database', () => checkDatabase(deps.db));

  const app: ApiApp = new OpenAPIHono<AppEnv>({
    // Schema failures throw, so that onError shapes them like every other error.
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });

  app.onError((error, c) => {
    const { status, body, unexpected } = errorResponse(error, c.get('requestId'));
    const log = c.get('log') ?? deps.logger;
    if (unexpected) log.error({ err: error }, 'request failed');
    return c.json(body, status);
  });
  app.notFound((c) =>
    c.json(
      {
        error: {
          code: 'not-found',
          message: `There is no ${c.req.method} ${c.req.path}; see /docs.`,
        },
      },
      404,
    ),
  );

  const bodyLimits = new Map<string, number>();
  for (const module of modules) {
    for (const [route, limit] of Object.entries(module.bodyLimits?.(deps) ?? {}))
      bodyLimits.set(route, limit);
  }
  app.use(withRequestId());
  app.use(accessLog(deps.logger, deps.metrics));
  app.use(secureHeaders());
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, allowed) =>
        c.json(
          {
            error: {
              code: 'method-not-allowed',
              message: `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(' or ')}.`,
            },
          },
          405,
          { Allow: allowed.join(', ') },
        ),
    }),
  );
  const declared = new Map<string, Permission>();
  for (const module of modules) {
    for (const [route, permission] of Object.entries(module.permissions ?? {}))
      declared.set(route, permission);
  }
  let permissions: PermissionTable | undefined;
  const authenticators = input.authenticators ?? AUTHENTICATORS.map((make) => make(deps));
  app.use(
    enforceAccess(
      () => (permissions ??= buildPermissionTable(app, deps.version, declared)),
      authenticators,
      input.recordDenial ?? auditDenials(deps),
    ),
  );
  app.use(limitBodies(deps.config.maxBodyBytes, bodyLimits));

  for (const module of modules) module.register(app, deps);

  // A route without a declared permission is a programming error: refuse to
  // start (and so fail every test) rather than guess.
  permissions = buildPermissionTable(app, deps.version, declared);
  const missing = routesWithoutPermission(app, permissions);
  if (missing.length > 0) {
    throw new Error(`Routes without a declared permission: ${missing.join(', ')}.`);
  }
  return app;
}
