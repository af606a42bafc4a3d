import { createRoute } from '@hono/zod-openapi';
import type { RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { PERMISSIONS, allows, isPermission } from '../access/permissions.js';
import type { Permission } from '../access/permissions.js';
import { ANONYMOUS } from '../access/principal.js';
import type { Principal } from '../access/principal.js';
import { TakedownError } from '../errors.js';
import { apiDocument } from './openapi.js';
import type { ApiApp, AppDeps, AppEnv } from './types.js';

/**
 * The one authorization layer every request goes through.
 *
 * Each route declares the permission it needs where it is defined
 * (`secureRoute('banks:read', { ...createRoute config })`); the permission
 * travels in the OpenAPI document as `x-permission`, so /docs shows it and
 * this middleware reads it back. Routes outside OpenAPI declare theirs in
 * `RouteModule.permissions`. `createApp` refuses to build an app with a route
 * that declares nothing, so such a route fails every test.
 */

/** Resolves one kind of credential (API key, session cookie) to a principal. */
export interface Authenticator {
  readonly name: string;
  /**
   * `undefined` when the request carries no credential of this kind. A
   * credential that is present but wrong (unknown, revoked, expired) throws
   * a TakedownError of kind 'unauthorized' with a sentence saying which.
   */
  authenticate(c: Context<AppEnv>): Promise<Principal | undefined>;
}

export type AuthenticatorFactory = (deps: AppDeps) => Authenticator;

/** `createRoute` with the permission the route requires. */
export function secureRoute<P extends string, R extends Omit<RouteConfig, 'path'> & { path: P }>(
  permission: Permission,
  config: R,
): ReturnType<typeof createRoute<P, R>> {
  return createRoute<P, R>({ ...config, 'x-permission': permission });
}

/** "GET /v1/banks/:name" -> permission, for every route of the app. */
export type PermissionTable = ReadonlyMap<string, Permission>;

export function buildPermissionTable(
  app: ApiApp,
  version: string,
  declared: ReadonlyMap<string, Permission>,
): PermissionTable {
  const table = new Map(declared);
  const paths = apiDocument(app, version).paths ?? {};
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations ?? {})) {
      const permission = (operation as Record<string, unknown>)['x-permission'];
      if (permission === undefined) continue;
      const key = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      if (!isPermission(permission)) {
        throw new Error(`Route ${key} declares an unknown permission ${String(permission)}.`);
      }
      table.set(key, permission);
    }
  }
  return table;
}

/** Routes that declare no permission: a programming error, reported at start-up. */
export function routesWithoutPermission(app: ApiApp, table: PermissionTable): string[] {
  const missing = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    const key = `${route.method} ${route.path}`;
    if (!table.has(key)) missing.add(key);
  }
  return [...missing];
}

/**
 * Authenticates the request (if it carries credentials, or the route needs
 * them) and checks the route's permission: 401 without valid credentials,
 * 403 when the role does not hold the permission. Handlers read the result
 * with `c.get('principal')`; object-level checks (a provider touching only
 * its own notices) stay in the handler.
 */
export function enforceAccess(
  table: () => PermissionTable,
  authenticators: readonly Authenticator[],
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
    if (route === undefined) return next(); // 404: nothing to protect
    const key = `${route.method} ${route.path}`;
    const permission = table().get(key);
    if (permission === undefined) {
      throw new TakedownError('route-without-permission', 'This endpoint is misconfigured.', {
        kind: 'internal',
        details: { route: key },
      });
    }
    let principal: Principal = ANONYMOUS;
    for (const authenticator of authenticators) {
      const found = await authenticator.authenticate(c);
      if (found !== undefined) {
        principal = found;
        break;
      }
    }
    c.set('principal', principal);
    if (!allows(principal, permission)) {
      if (principal.kind === 'anonymous') {
        c.header('WWW-Authenticate', 'Bearer');
        throw new TakedownError(
          'authentication-required',
          'This endpoint needs credentials: an API key as "Authorization: Bearer <key>", or a signed-in session.',
          { kind: 'unauthorized' },
        );
      }
      throw new TakedownError(
        'forbidden',
        `Your role (${principal.role}) may not do this. It needs the permission "${permission}": ${PERMISSIONS[permission]}`,
        { kind: 'forbidden', details: { permission } },
      );
    }
    await next();
  };
}
