import { accountRoutes } from './account-routes.js';
import { auditRoutes } from './audit-routes.js';
import { checkRoutes } from './check-routes.js';
import { opsRoutes } from './ops-routes.js';
import { queueRoutes } from './queue-routes.js';
import { referenceRoutes } from './reference-routes.js';
import { reportRoutes } from './report-routes.js';
import { ruleRoutes } from './rule-routes.js';
import { sessionRoutes } from './session-routes.js';
import type { RouteModule } from './types.js';
import { userRoutes } from './user-routes.js';

/**
 * Every route module the server mounts, in order. A feature adds its routes
 * with one line here (e.g. `checkRoutes`, defined in `src/api/check-routes.ts`).
 */
export const ROUTE_MODULES: readonly RouteModule[] = [
  opsRoutes,
  referenceRoutes,
  sessionRoutes,
  accountRoutes,
  userRoutes,
  auditRoutes,
  checkRoutes,
  reportRoutes,
  ruleRoutes,
  queueRoutes,
];
