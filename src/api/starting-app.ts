import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiApp, AppEnv } from './types.js';

/**
 * What the server answers between binding its port and having its database:
 * alive (/healthz 200) but not ready (/readyz 503), everything else 503. The
 * port is taken first so that a port conflict is reported at once, not after
 * the database has opened (or after waiting for a command that holds it).
 */
export function startingApp(): ApiApp {
  const app = new OpenAPIHono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) =>
    c.json(
      { status: 'not-ready', checks: { database: { ok: false, reason: 'opening the database' } } },
      503,
    ),
  );
  app.all('*', (c) =>
    c.json(
      { error: { code: 'starting', message: 'The server is starting; try again in a moment.' } },
      503,
      {
        'Retry-After': '2',
      },
    ),
  );
  return app;
}
