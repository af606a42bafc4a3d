import type { Kysely, Transaction } from 'kysely';
import type { Principal } from '../access/principal.js';
import type { Database } from '../store/database.js';
import { recordAudit } from './record.js';
import type { AuditRequest } from './record.js';

/**
 * Every view of evidence media is recorded: who saw which item, from where,
 * and whether it was revealed or shown blurred. The analyst queue (issue 5)
 * calls this from the route that serves the media bytes, before the bytes
 * go out; if recording fails, the media is not served.
 *
 *   await recordMediaView(deps.db, {
 *     principal: c.get('principal'),
 *     request: auditRequest(c, deps.config.trustedProxyHops),
 *     mediaId: item.id,
 *     reportId: item.report_id,
 *     presentation: reveal ? 'revealed' : 'blurred',
 *   });
 */
export async function recordMediaView(
  db: Kysely<Database> | Transaction<Database>,
  view: {
    readonly principal: Principal;
    readonly request: AuditRequest;
    readonly mediaId: number | string;
    readonly reportId?: number | string;
    readonly presentation: 'blurred' | 'revealed';
  },
): Promise<void> {
  await recordAudit(db, {
    actor: view.principal,
    request: view.request,
    action: 'media.view',
    object: { type: 'media', id: view.mediaId },
    outcome: 'allowed',
    details: {
      presentation: view.presentation,
      ...(view.reportId === undefined ? {} : { reportId: view.reportId }),
    },
  });
}
