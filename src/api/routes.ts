import { opsRoutes } from './ops-routes.js';
import { referenceRoutes } from './reference-routes.js';
import type { RouteModule } from './types.js';

/**
 * Every route module the server mounts, in order. A feature adds its routes
 * with one line here (e.g. `checkRoutes`, defined in `src/api/check-routes.ts`).
 */
export const ROUTE_MODULES: readonly RouteModule[] = [opsRoutes, referenceRoutes];
