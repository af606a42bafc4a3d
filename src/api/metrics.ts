import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one app: HTTP traffic by route and status, the
 * process (CPU, memory, event loop, GC), and whatever features register on
 * `registry` (e.g. `new Counter({ name: 'takedown_check_hashes_total', ..., registers: [metrics.registry] })`).
 * A registry per app, not prom-client's global one, so tests stay independent.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  return {
    registry,
    httpRequests: new Counter({
      name: 'takedown_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'takedown_http_request_duration_seconds',
      help: 'Time from receiving a request to having its response, by method, route pattern and status.',
      labelNames,
      // The hash-check API answers in about a millisecond; uploads take seconds.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
