import { z } from '@hono/zod-openapi';
import { secureRoute } from './access.js';
import { jsonContent } from './openapi.js';
import type { RouteModule } from './types.js';

/** Probes and metrics for whoever runs the service (orchestrator, Prometheus). */

const CheckResult = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), reason: z.string() }),
]);

const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'not-ready']),
    checks: z.record(z.string(), CheckResult).openapi({
      description: 'Each part that must be ready, e.g. `database` (reachable and migrated).',
    }),
  })
  .openapi('Readiness');

const healthz = secureRoute('public', {
  method: 'get',
  path: '/healthz',
  tags: ['Operations'],
  summary: 'Liveness: the process runs',
  description:
    'Answers 200 as long as the process can answer at all; it checks nothing else. Restart the process if this fails.',
  responses: { 200: jsonContent(z.object({ status: z.literal('ok') }), 'The process is alive.') },
});

const readyz = secureRoute('public', {
  method: 'get',
  path: '/readyz',
  tags: ['Operations'],
  summary: 'Readiness: can serve requests now',
  description:
    'Answers 200 when the database is reachable and migrated and every other registered part (such as the matching index) is ready; 503 with the reasons otherwise, and while shutting down.',
  responses: {
    200: jsonContent(ReadinessSchema, 'Ready.'),
    503: jsonContent(ReadinessSchema, 'Not ready; `checks` says why.'),
  },
});

// Scrapers cannot sign in; bind the server to a private network or filter
// /metrics at the proxy if request counts must stay private.
const metrics = secureRoute('public', {
  method: 'get',
  path: '/metrics',
  tags: ['Operations'],
  summary: 'Prometheus metrics',
  description:
    'Prometheus text format: `takedown_http_requests_total` and `takedown_http_request_duration_seconds` by method, route and status, process metrics, and feature metrics.',
  responses: {
    200: { description: 'Metrics.', content: { 'text/plain': { schema: z.string() } } },
  },
});

export const opsRoutes: RouteModule = {
  name: 'operations',
  register(app, deps) {
    app.openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200));
    app.openapi(readyz, async (c) => {
      const report = await deps.readiness.evaluate();
      const payload = {
        status: report.ready ? ('ready' as const) : ('not-ready' as const),
        checks: report.checks,
      };
      return report.ready ? c.json(payload, 200) : c.json(payload, 503);
    });
    app.openapi(metrics, async (c) => {
      const text = await deps.metrics.registry.metrics();
      return c.text(text, 200, { 'Content-Type': deps.metrics.registry.contentType });
    });
  },
};
