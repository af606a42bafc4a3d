import { OpenAPIHono } from '@hono/zod-openapi';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { listen } from './server.js';
import type { ApiApp, AppEnv } from './types.js';

function slowApp(delayMs: number): ApiApp {
  const app = new OpenAPIHono<AppEnv>();
  app.get('/slow', async (c) => {
    await sleep(delayMs);
    return c.text('done');
  });
  return app;
}

describe('listen', () => {
  it('finishes requests in flight when closing, and accepts no new ones', async () => {
    const server = await listen(slowApp(300), { port: 0, host: '127.0.0.1' });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const inFlight = fetch(`${server.url}/slow`);
    await sleep(50);
    const closed = server.close(5_000);
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('done');
    await closed;
    await expect(fetch(`${server.url}/slow`)).rejects.toThrow();
  });

  it('drops requests still running when the grace period ends', async () => {
    const server = await listen(slowApp(10_000), { port: 0, host: '127.0.0.1' });
    const inFlight = fetch(`${server.url}/slow`).then(
      () => 'answered',
      () => 'dropped',
    );
    await sleep(50);
    const started = Date.now();
    await server.close(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await inFlight).toBe('dropped');
  });
});
