/** The HTTP API: create the app, serve it, extend it. */
export { createApp } from './app.js';
export type { AppInput } from './app.js';
export { listen } from './server.js';
export type { RunningServer } from './server.js';
export { Readiness } from './readiness.js';
export type { ReadinessCheck, ReadinessResult, ReadinessReport } from './readiness.js';
export { createMetrics } from './metrics.js';
export type { Metrics } from './metrics.js';
export { ErrorSchema, errorResponses, jsonContent } from './openapi.js';
export { ROUTE_MODULES } from './routes.js';
export { systemClock } from './types.js';
export type { ApiApp, AppDeps, AppEnv, Clock, RouteModule } from './types.js';
