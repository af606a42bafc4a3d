import { beforeAll, expect, it } from 'vitest';
import { allows } from '../../src/access/permissions.js';
import type { Permission } from '../../src/access/permissions.js';
import { ROLES } from '../../src/access/principal.js';
import type { Principal, Role } from '../../src/access/principal.js';
import { buildPermissionTable } from '../../src/api/access.js';
import type { Authenticator } from '../../src/api/access.js';
import { ROUTE_MODULES } from '../../src/api/routes.js';
import type { ApiApp } from '../../src/api/types.js';
import { Browser, TestClock, makeAccount, sessionFor, testApp } from '../support/accounts.js';
import { describeEachDatabase } from '../support/db.js';

/**
 * Every route of the real app (all of ROUTE_MODULES) x every kind of caller:
 * the anonymous public, someone half-way through signing in, a signed-in
 * user of each role and an API key of each role. Each request must be let
 * through or refused exactly as permissions.ts says. The routes come from
 * the app itself, so a new route is in this test the moment it exists, and
 * one without a declared permission fails it.
 *
 * Routes anyone may call are the riskiest decision, so they are also listed
 * here by hand: declaring a new route `public` means adding it below too.
 */
const PUBLIC_ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /openapi.json',
  'GET /docs',
  'GET /v1/session',
  'POST /v1/session/login',
  'POST /v1/session/logout',
  'POST /v1/reports',
  'GET /v1/reports/:code',
];

/** The access layer's own refusals; a handler's 401/403 for its own reasons is not one. */
const DENIALS: Record<string, number> = {
  'authentication-required': 401,
  'sign-in-incomplete': 401,
  forbidden: 403,
};

/** API keys by role, as the keys feature will issue them ("Bearer test-key-<role>"). */
const keys: Authenticator = {
  name: 'test-keys',
  async authenticate(c) {
    const match = /^Bearer test-key-(\w+)$/.exec(c.req.header('authorization') ?? '');
    if (match === null) return undefined;
    const role = match[1] as Role;
    return { kind: 'api-key', keyId: 1, role, providerId: role === 'provider' ? 1 : null };
  },
};

type Caller =
  | { readonly name: string; readonly principal: Principal; readonly kind: 'anonymous' }
  | {
      readonly name: string;
      readonly principal: Principal;
      readonly kind: 'key';
      readonly role: Role;
    }
  | {
      readonly name: string;
      readonly principal: Principal;
      readonly kind: 'session';
      readonly userId: number;
      readonly stage: 'active' | 'totp';
    };

describeEachDatabase('every route x every caller', (t) => {
  const clock = new TestClock();
  let app: ApiApp;
  const callers: Caller[] = [];

  beforeAll(async () => {
    app = testApp(t.db, clock, { modules: ROUTE_MODULES, authenticators: [keys] });
    callers.push({ name: 'anonymous', kind: 'anonymous', principal: { kind: 'anonymous' } });
    const someone = await makeAccount(t.db, 'analyst');
    callers.push({
      name: 'signing in',
      kind: 'session',
      userId: someone.id,
      stage: 'totp',
      principal: {
        kind: 'signing-in',
        userId: someone.id,
        email: someone.email,
        sessionId: '',
        step: 'totp',
      },
    });
    for (const role of ROLES) {
      const account = await makeAccount(t.db, role);
      const providerId = role === 'provider' ? 1 : null;
      callers.push({
        name: `${role} user`,
        kind: 'session',
        userId: account.id,
        stage: 'active',
        principal: {
          kind: 'user',
          userId: account.id,
          email: account.email,
          role,
          providerId,
          sessionId: '',
        },
      });
      callers.push({
        name: `${role} key`,
        kind: 'key',
        role,
        principal: { kind: 'api-key', keyId: 1, role, providerId },
      });
    }
  });

  it('knows a permission for every route, and the public ones are exactly the listed ones', () => {
    const table = permissionTable(app);
    const routes = appRoutes(app);
    expect(routes.filter((r) => !table.has(r))).toEqual([]);
    const publicRoutes = routes.filter((r) => table.get(r) === 'public').sort();
    expect(publicRoutes).toEqual([...PUBLIC_ROUTES].sort());
  });

  it('guards the account and audit families with their own permissions', () => {
    const table = permissionTable(app);
    const families: Array<[RegExp, Permission]> = [
      [/^\w+ \/v1\/users/, 'users:manage'],
      [/^\w+ \/v1\/audit/, 'audit:read'],
      [/^\w+ \/v1\/me/, 'account:self'],
      [/^\w+ \/v1\/queue/, 'queue:work'],
      [/^\w+ \/v1\/settings\/four-eyes/, 'assessments:approve'],
    ];
    for (const [pattern, permission] of families) {
      const routes = appRoutes(app).filter((r) => pattern.test(r));
      expect(routes.length).toBeGreaterThan(0);
      for (const route of routes) expect([route, table.get(route)]).toEqual([route, permission]);
    }
  });

  it('lets each caller through or refuses it exactly as permissions.ts says', async () => {
    const table = permissionTable(app);
    const wrong: string[] = [];
    let checked = 0;
    let refused = 0;
    for (const route of appRoutes(app)) {
      const permission = table.get(route) as Permission;
      const [method, pattern] = route.split(' ') as [string, string];
      // Ids that exist nowhere: an allowed request reaches its handler and changes nothing.
      const path = pattern.replace(/:\w+/g, '999999');
      for (const caller of callers) {
        const browser = await browserFor(caller);
        const res = await browser.send(app, method, path, {
          ...(method === 'GET' || method === 'HEAD' ? {} : { json: {} }),
          ...(caller.kind === 'key'
            ? { headers: { authorization: `Bearer test-key-${caller.role}` } }
            : {}),
        });
        const code: string | undefined =
          typeof res.body === 'object' ? res.body?.error?.code : undefined;
        const denied = code !== undefined && code in DENIALS && DENIALS[code] === res.status;
        const expected = allows(caller.principal, permission);
        if (expected === denied) {
          wrong.push(
            `${route} as ${caller.name}: expected ${expected ? 'allowed' : 'denied'} (${permission}), got ${res.status} ${code ?? ''}`,
          );
        }
        if (!expected && caller.kind === 'anonymous') expect(res.status).toBe(401);
        if (!expected && caller.principal.kind === 'user') expect(res.status).toBe(403);
        // 503 is a part not running in a test app (the matcher); 500 is a crash.
        if (res.status === 500)
          wrong.push(`${route} as ${caller.name}: ${res.status} ${JSON.stringify(res.body)}`);
        checked += 1;
        if (denied) refused += 1;
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBe(appRoutes(app).length * callers.length);
    expect(refused).toBeGreaterThan(checked / 3); // not a vacuous pass
  });

  async function browserFor(caller: Caller): Promise<Browser> {
    // A fresh session for every request: some routes (sign-out) end the one they get.
    if (caller.kind !== 'session') return new Browser();
    return sessionFor(t.db, clock, caller.userId, caller.stage);
  }
});

function appRoutes(app: ApiApp): string[] {
  return [
    ...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`)),
  ];
}

function permissionTable(app: ApiApp): ReadonlyMap<string, Permission> {
  const declared = new Map<string, Permission>();
  for (const module of ROUTE_MODULES) {
    for (const [route, permission] of Object.entries(module.permissions ?? {}))
      declared.set(route, permission);
  }
  return buildPermissionTable(app, 'test', declared);
}
