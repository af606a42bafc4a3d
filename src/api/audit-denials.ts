import { recordAudit } from '../audit/record.js';
import type { DenialRecorder } from './access.js';
import { auditRequest } from './client.js';
import { DenialBudget } from './denial-budget.js';
import type { AppDeps } from './types.js';

/** Access denials into the audit trail as `access.denied` (see enforceAccess). */
export function auditDenials(deps: AppDeps, budget = new DenialBudget()): DenialRecorder {
  return async (c, denial) => {
    const request = auditRequest(c, deps.config.trustedProxyHops);
    let suppressed = 0;
    if (denial.principal.kind === 'anonymous') {
      const taken = budget.take(request.ip ?? 'unknown', deps.clock.now().getTime());
      if (!taken.record) return;
      suppressed = taken.suppressed;
    }
    try {
      await recordAudit(deps.db, {
        actor: denial.principal,
        request,
        action: 'access.denied',
        object: { type: 'route', id: denial.route },
        outcome: 'denied',
        details: {
          permission: denial.permission,
          code: denial.code,
          method: c.req.method,
          path: c.req.path,
          ...(denial.details === undefined ? {} : { reason: denial.details }),
          ...(suppressed === 0 ? {} : { suppressed }),
        },
        at: deps.clock.now(),
      });
    } catch (error) {
      // The request is refused either way; a trail that cannot be written is an operator's alarm.
      (c.get('log') ?? deps.logger).error(
        { err: error, denial: denial.code },
        'could not record an access denial',
      );
    }
  };
}
