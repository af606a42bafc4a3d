import { createRoute } from '@hono/zod-openapi';
import type { RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { PERMISSIONS, PERSON_ONLY, allows, isPermission } from '../access/permissions.js';
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

/** What an authenticator may take into account: the permission the matched route needs. */
export interface AuthenticationContext {
  readonly permission: Permission;
}

/** Resolves one kind of credential (API key, session cookie) to a principal. */
export interface Authenticator {
  readonly name: string;
  /**
   * `undefined` when the request carries no credential of this kind. A
   * credential that is present but wrong (unknown, revoked, expired) throws
   * a TakedownError of kind 'unauthorized' with a sentence saying which.
   */
  authenticate(c: Context<AppEnv>, context: AuthenticationContext): Promise<Principal | undefined>;
  /**
   * For credentials a browser attaches on its own (cookies), which a page
   * on another site can make it send: whether an unsafe request (POST, PUT,
   * PATCH, DELETE) proves it comes from our own pages, e.g. by a CSRF token
   * only they know. Absent for credentials a script must add itself (API
   * keys in a header), which another site cannot.
   */
  checkCsrf?(c: Context<AppEnv>, principal: Principal): boolean;
}

/** A refused request, for the audit trail (`access.denied`). */
export interface Denial {
  readonly principal: Principal;
  /** "GET /v1/banks/:name". */
  readonly route: string;
  readonly permission: Permission;
  /** The error code the caller got, e.g. "forbidden", "csrf-token-invalid". */
  readonly code: string;
  /** The error's details, e.g. why a session was refused. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** Writes a denial somewhere durable; must not throw (a failure to record is logged, the denial stands). */
export type DenialRecorder = (c: Context<AppEnv>, denial: Denial) => Promise<void>;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

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
 * 403 when the role does not hold the permission, or when a cookie-borne
 * write lacks its CSRF token. Handlers read the result with
 * `c.get('principal')`; object-level checks (a provider touching only its
 * own notices, `assertProviderScope`) stay in the handler, and their 403s
 * are recorded here like the others.
 *
 * Recorded as `access.denied`: every 403, and every credential that was
 * presented but not valid. Not recorded: requests with no credentials at
 * all on routes that need them (401); scanners send those by the thousand
 * and the access log has them.
 */
export function enforceAccess(
  table: () => PermissionTable,
  authenticators: readonly Authenticator[],
  recordDenial: DenialRecorder = async () => undefined,
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
    const deny = async (who: Principal, error: TakedownError): Promise<never> => {
      await recordDenial(c, {
        principal: who,
        route: key,
        permission,
        code: error.code,
        details: error.details,
      });
      throw error;
    };
    let principal: Principal = ANONYMOUS;
    for (const authenticator of authenticators) {
      let found: Principal | undefined;
      try {
        found = await authenticator.authenticate(c, { permission });
      } catch (error) {
        // A refused credential is a denial; a database that is down is not.
        if (error instanceof TakedownError && error.kind === 'unauthorized') {
          await deny(ANONYMOUS, error);
        }
        throw error;
      }
      if (found === undefined) continue;
      if (!SAFE_METHODS.has(c.req.method) && authenticator.checkCsrf?.(c, found) === false) {
        // On a public route the cookie is simply not used: signing in again
        // or signing out must work from a page that lost its token.
        if (permission === 'public') break;
        await deny(found, csrfError());
      }
      principal = found;
      break;
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
      if (principal.kind === 'signing-in') {
        throw new TakedownError(
          'sign-in-incomplete',
          'Finish signing in first (see GET /v1/session for the next step).',
          { kind: 'unauthorized', details: { step: principal.step } },
        );
      }
      await deny(
        principal,
        new TakedownError(
          'forbidden',
          principal.kind === 'api-key' && PERSON_ONLY.has(permission)
            ? `API keys may not do this; it needs a signed-in person ("${permission}": ${PERMISSIONS[permission]})`
            : `Your role (${principal.role}) may not do this. It needs the permission "${permission}": ${PERMISSIONS[permission]}`,
          { kind: 'forbidden', details: { permission } },
        ),
      );
    }
    await next();
    // A handler's own refusal (another provider's notice) is a denial too.
    if (c.error instanceof TakedownError && c.error.kind === 'forbidden') {
      await recordDenial(c, {
        principal,
        route: key,
        permission,
        code: c.error.code,
        details: c.error.details,
      });
    }
  };
}

function csrfError(): TakedownError {
  return new TakedownError(
    'csrf-token-invalid',
    'This change needs the X-CSRF-Token header with the token from sign-in or GET /v1/session; a session cookie alone is not enough.',
    { kind: 'forbidden' },
  );
}
