import { z } from '@hono/zod-openapi';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../access/principal.js';
import { loadConfig } from '../config.js';
import { TakedownError } from '../errors.js';
import type { Database } from '../store/database.js';
import type { Authenticator, Denial } from './access.js';
import { secureRoute } from './access.js';
import { createApp } from './app.js';
import { createMetrics } from './metrics.js';
import { jsonContent } from './openapi.js';
import { ROUTE_MODULES } from './routes.js';
import type { RouteModule } from './types.js';

// The access layer needs no database; requests here never reach one.
const db = {} as Kysely<Database>;
const logger = pino({ level: 'silent' });

const bankList = secureRoute('banks:read', {
  method: 'get',
  path: '/v1/test-banks/{name}',
  request: { params: z.object({ name: z.string() }) },
  responses: { 200: jsonContent(z.object({ who: z.string() }), 'Who asked.') },
});

const module: RouteModule = {
  name: 'access-test',
  permissions: { 'GET /v1/test-plain': 'audit:read' },
  register(app) {
    app.openapi(bankList, (c) => {
      const principal = c.get('principal');
      return c.json({ who: principal.kind === 'user' ? principal.role : principal.kind }, 200);
    });
    app.get('/v1/test-plain', (c) => c.json({ ok: true }));
  },
};

/** "Authorization: Bearer role:<role>" becomes a user with that role; "Bearer bad" is refused. */
const fakeAuth: Authenticator = {
  name: 'fake',
  async authenticate(c) {
    const header = c.req.header('authorization');
    if (header === undefined) return undefined;
    const match = /^Bearer role:(\w+)$/.exec(header);
    if (match === null) {
      throw new TakedownError('invalid-api-key', 'That key is not valid.', {
        kind: 'unauthorized',
      });
    }
    return {
      kind: 'user',
      userId: 1,
      email: 'fake@example.org',
      role: match[1] as Extract<Principal, { kind: 'user' }>['role'],
      providerId: null,
      sessionId: 's',
    };
  },
};

const denials: Denial[] = [];

function app(
  modules: RouteModule[] = [...ROUTE_MODULES, module],
  authenticators: Authenticator[] = [fakeAuth],
) {
  return createApp(
    {
      db,
      config: loadConfig({}),
      logger,
      metrics: createMetrics({ processMetrics: false }),
      authenticators,
      recordDenial: async (_c, denial) => {
        denials.push(denial);
      },
    },
    modules,
  );
}

describe('the access layer', () => {
  it('refuses to build an app with a route that declares no permission', () => {
    const careless: RouteModule = {
      name: 'careless',
      register(a) {
        a.get('/v1/forgotten', (c) => c.text('oops'));
      },
    };
    expect(() => app([...ROUTE_MODULES, module, careless])).toThrow(/GET \/v1\/forgotten/);
  });

  it('asks anonymous callers for credentials (401, WWW-Authenticate)', async () => {
    const res = await app().request('/v1/test-banks/x');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toMatchObject({ error: { code: 'authentication-required' } });
  });

  it('refuses a role without the permission (403) and says which permission', async () => {
    const res = await app().request('/v1/test-banks/x', {
      headers: { authorization: 'Bearer role:provider' },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      error: { code: 'forbidden', details: { permission: 'banks:read' } },
    });
  });

  it('lets a role with the permission through and hands the principal to the handler', async () => {
    const res = await app().request('/v1/test-banks/x', {
      headers: { authorization: 'Bearer role:analyst' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ who: 'analyst' });
  });

  it('rejects bad credentials even on public routes', async () => {
    const res = await app().request('/healthz', { headers: { authorization: 'Bearer bad' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid-api-key' } });
  });

  it('enforces permissions declared for plain routes', async () => {
    const a = app();
    expect(
      (await a.request('/v1/test-plain', { headers: { authorization: 'Bearer role:analyst' } }))
        .status,
    ).toBe(403);
    expect(
      (await a.request('/v1/test-plain', { headers: { authorization: 'Bearer role:auditor' } }))
        .status,
    ).toBe(200);
  });

  it('shows each permission in the API document', async () => {
    const doc = (await (await app().request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    expect(doc.paths['/v1/test-banks/{name}'].get['x-permission']).toBe('banks:read');
    expect(doc.paths['/healthz'].get['x-permission']).toBe('public');
  });
  it('records refusals: a role without the permission, and a bad credential', async () => {
    denials.length = 0;
    await app().request('/v1/test-banks/x', { headers: { authorization: 'Bearer role:provider' } });
    await app().request('/healthz', { headers: { authorization: 'Bearer bad' } });
    await app().request('/v1/test-banks/x'); // no credentials at all: not recorded
    expect(denials.map((d) => [d.principal.kind, d.route, d.code])).toEqual([
      ['user', 'GET /v1/test-banks/:name', 'forbidden'],
      ['anonymous', 'GET /healthz', 'invalid-api-key'],
    ]);
  });

  it("records a handler's own refusal (another provider's data)", async () => {
    denials.length = 0;
    const scoped: RouteModule = {
      name: 'scoped',
      permissions: { 'GET /v1/test-scoped': 'banks:read' },
      register(a) {
        a.get('/v1/test-scoped', () => {
          throw new TakedownError('forbidden-provider', 'Not yours.', { kind: 'forbidden' });
        });
      },
    };
    const res = await app([...ROUTE_MODULES, scoped]).request('/v1/test-scoped', {
      headers: { authorization: 'Bearer role:analyst' },
    });
    expect(res.status).toBe(403);
    expect(denials.map((d) => d.code)).toEqual(['forbidden-provider']);
  });

  it('asks cookie-borne writes for a CSRF token, and ignores the cookie on public routes without one', async () => {
    denials.length = 0;
    const cookie: Authenticator = {
      name: 'cookie',
      async authenticate(c) {
        return c.req.header('cookie') === 'session=1'
          ? {
              kind: 'user',
              userId: 2,
              email: 'c@x.example',
              role: 'admin',
              providerId: null,
              sessionId: 's',
            }
          : undefined;
      },
      checkCsrf: (c) => c.req.header('x-csrf-token') === 'right',
    };
    const writes: RouteModule = {
      name: 'writes',
      permissions: { 'POST /v1/test-write': 'banks:write', 'POST /v1/test-public': 'public' },
      register(a) {
        a.post('/v1/test-write', (c) => c.json({ ok: true }));
        a.post('/v1/test-public', (c) => c.json({ who: c.get('principal').kind }));
      },
    };
    const a = app([...ROUTE_MODULES, writes], [cookie]);
    const post = (path: string, headers: Record<string, string>) =>
      a.request(path, { method: 'POST', headers: { cookie: 'session=1', ...headers } });
    const forged = await post('/v1/test-write', {});
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ error: { code: 'csrf-token-invalid' } });
    expect((await post('/v1/test-write', { 'x-csrf-token': 'wrong' })).status).toBe(403);
    expect((await post('/v1/test-write', { 'x-csrf-token': 'right' })).status).toBe(200);
    expect(await (await post('/v1/test-public', {})).json()).toEqual({ who: 'anonymous' });
    expect(await (await post('/v1/test-public', { 'x-csrf-token': 'right' })).json()).toEqual({
      who: 'user',
    });
    expect(denials.map((d) => [d.principal.kind, d.code])).toEqual([
      ['user', 'csrf-token-invalid'],
      ['user', 'csrf-token-invalid'],
    ]);
  });
});
