import { z } from '@hono/zod-openapi';
import pino from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { TakedownError } from '../errors.js';
import { openTestDatabase } from '../../test/support/db.js';
import type { OpenedTestDatabase } from '../../test/support/db.js';
import { secureRoute } from './access.js';
import { createApp } from './app.js';
import { createMetrics } from './metrics.js';
import { errorResponses, jsonContent } from './openapi.js';
import { Readiness } from './readiness.js';
import { ROUTE_MODULES } from './routes.js';
import type { ApiApp, RouteModule } from './types.js';

/** A feature module as later issues will write them, exercising the app's plumbing. */
const Echo = z
  .object({ hashes: z.array(z.object({ type: z.enum(['pdq', 'md5']), value: z.string() })).max(3) })
  .openapi('EchoRequest');
const echo = secureRoute('public', {
  method: 'post',
  path: '/v1/echo',
  tags: ['Test'],
  summary: 'Echoes <hashes> back',
  request: { body: { content: { 'application/json': { schema: Echo } }, required: true } },
  responses: {
    200: jsonContent(z.object({ count: z.number() }), 'Counted.'),
    ...errorResponses(400, 413),
  },
});
const testRoutes: RouteModule = {
  name: 'test',
  permissions: {
    'GET /v1/fail/takedown': 'public',
    'GET /v1/fail/unexpected': 'public',
    'POST /v1/upload': 'public',
  },
  register(app) {
    app.openapi(echo, (c) => c.json({ count: c.req.valid('json').hashes.length }, 200));
    app.get('/v1/fail/takedown', () => {
      throw new TakedownError('bank-not-found', 'There is no bank named "x".', {
        kind: 'not-found',
        details: { bank: 'x' },
      });
    });
    app.get('/v1/fail/unexpected', () => {
      throw new Error('secret internal detail at /srv/db');
    });
    app.post('/v1/upload', async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  },
  bodyLimits: () => ({ 'POST /v1/upload': 64 }),
};

let database: OpenedTestDatabase;
let app: ApiApp;
const logLines: Array<Record<string, unknown>> = [];
const readiness = new Readiness();
const metrics = createMetrics({ processMetrics: false });

beforeAll(async () => {
  database = await openTestDatabase('pglite');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  app = createApp(
    {
      db: database.db,
      config: loadConfig({ TAKEDOWN_MAX_BODY_BYTES: '256' }),
      logger: pino({ level: 'debug' }, sink),
      readiness,
      metrics,
      version: '9.9.9',
    },
    [...ROUTE_MODULES, testRoutes],
  );
});
afterAll(() => database.close());

const post = (
  path: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) => app.request(path, { method: 'POST', body, headers });

describe('errors', () => {
  it('turns a TakedownError into its status and the standard body', async () => {
    const res = await app.request('/v1/fail/takedown');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        code: 'bank-not-found',
        message: 'There is no bank named "x".',
        details: { bank: 'x' },
      },
    });
  });

  it('answers an unexpected error with 500 and a generic message, and logs it with its stack', async () => {
    const res = await app.request('/v1/fail/unexpected', {
      headers: { 'X-Request-Id': 'req-123' },
    });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(/secret|srv|at /);
    expect(JSON.parse(text)).toEqual({
      error: {
        code: 'internal',
        message: 'Something went wrong on our side (request id req-123); it has been logged.',
      },
    });
    const logged = logLines.find((l) => l.msg === 'request failed' && l.reqId === 'req-123');
    expect((logged?.err as { stack: string }).stack).toContain('secret internal detail');
  });

  it('answers malformed JSON with 400 invalid-json', async () => {
    const res = await post('/v1/echo', '{"hashes": [');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'invalid-json', message: 'The request body is not valid JSON.' },
    });
  });

  it('names every field that fails the schema', async () => {
    const res = await post(
      '/v1/echo',
      JSON.stringify({ hashes: [{ type: 'sha1', value: 'ab' }, { type: 'pdq' }] }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { issues: Array<{ path: string }> } };
    };
    expect(body.error.code).toBe('invalid-request');
    expect(body.error.message).toMatch(
      /^Request body field hashes\.0\.type: .* \(and 1 more; see details\)\.$/,
    );
    expect(body.error.details.issues.map((i) => i.path)).toEqual([
      'hashes.0.type',
      'hashes.1.value',
    ]);
  });

  it('asks for JSON when the content type is missing', async () => {
    const res = await post('/v1/echo', '{"hashes":[]}', {});
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'unsupported-media-type',
    );
  });

  it('answers unknown paths with 404 and wrong methods with 405 and Allow, as JSON', async () => {
    const missing = await app.request('/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not-found');
    const wrong = await app.request('/v1/echo');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe(
      'method-not-allowed',
    );
  });
});

describe('request handling', () => {
  it('accepts a valid request', async () => {
    const res = await post('/v1/echo', JSON.stringify({ hashes: [{ type: 'pdq', value: 'ab' }] }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ count: 1 });
  });

  it('refuses a body over the limit, declared or streamed, with 413', async () => {
    const big = JSON.stringify({ hashes: [], pad: 'x'.repeat(300) });
    const declared = await post('/v1/echo', big);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({
      error: { code: 'body-too-large', details: { limitBytes: 256 } },
    });
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i += 1)
          controller.enqueue(new TextEncoder().encode('x'.repeat(50)));
        controller.close();
      },
    });
    const chunked = await app.request('/v1/echo', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it('applies a route module’s own body limit', async () => {
    expect((await post('/v1/upload', 'x'.repeat(64), {})).status).toBe(200);
    expect((await post('/v1/upload', 'x'.repeat(65), {})).status).toBe(413);
  });

  it('gives every response a request id, keeping a sane one from the caller, and logs the request', async () => {
    const own = await app.request('/healthz', { headers: { 'X-Request-Id': 'abc-42' } });
    expect(own.headers.get('x-request-id')).toBe('abc-42');
    const fresh = await app.request('/healthz', { headers: { 'X-Request-Id': 'bad id <script>' } });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await app.request('/v1/fail/takedown', { headers: { 'X-Request-Id': 'abc-43' } });
    expect(logLines.find((l) => l.reqId === 'abc-43' && l.msg === 'request')).toMatchObject({
      method: 'GET',
      path: '/v1/fail/takedown',
      route: '/v1/fail/takedown',
      status: 404,
      level: 30,
    });
  });
});

describe('operations endpoints', () => {
  it('/healthz answers while the process runs', async () => {
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz reports each check, and registered checks can hold it back', async () => {
    let loaded = false;
    readiness.add('matcher', () =>
      loaded ? { ok: true } : { ok: false, reason: 'index loading' },
    );
    const waiting = await app.request('/readyz');
    expect(waiting.status).toBe(503);
    expect(await waiting.json()).toEqual({
      status: 'not-ready',
      checks: { database: { ok: true }, matcher: { ok: false, reason: 'index loading' } },
    });
    loaded = true;
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { database: { ok: true }, matcher: { ok: true } },
    });
  });

  it('/readyz gives up on a check that hangs', async () => {
    const r = new Readiness();
    r.add('stuck', () => new Promise(() => undefined));
    r.add('broken', () => {
      throw new Error('boom');
    });
    const report = await r.evaluate(20);
    expect(report).toEqual({
      ready: false,
      checks: {
        stuck: { ok: false, reason: 'no answer within 20 ms' },
        broken: { ok: false, reason: 'boom' },
      },
    });
  });

  it('/metrics counts requests by route pattern and status in Prometheus text format', async () => {
    await app.request('/v1/nothing/1');
    await app.request('/v1/nothing/2');
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(
      /^takedown_http_requests_total\{method="GET",route="\/v1\/fail\/takedown",status="404"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^takedown_http_requests_total\{method="GET",route="unmatched",status="404"\} [2-9]/m,
    );
    expect(text).toMatch(
      /^takedown_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/v1\/echo",status="200"\} 1$/m,
    );
    expect(text).not.toMatch(/\/v1\/nothing\/1/);
  });

  it('includes process metrics when asked', async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });
});

describe('API reference', () => {
  it('/openapi.json is an OpenAPI 3.1 document of every registered route', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      openapi: string;
      info: { version: string };
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('9.9.9');
    // Feature modules add their own paths; these are the ones this test registers or relies on.
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/metrics', '/readyz', '/v1/echo']),
    );
    expect(Object.keys(doc.paths['/v1/echo'].post.responses)).toEqual(['200', '400', '413']);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Error', 'EchoRequest', 'Readiness']),
    );
  });

  it('/docs renders the document as a self-contained page', async () => {
    const res = await app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('<span class="method post">POST</span> <code>/v1/echo</code>');
    expect(html).toContain('Echoes &lt;hashes&gt; back');
    expect(html).toContain('<a href="#schema-EchoRequest">EchoRequest</a>');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3)/);
  });
});
