import { z } from '@hono/zod-openapi';
import { recordAudit } from '../audit/record.js';
import { auditCsv, searchAudit } from '../audit/search.js';
import type { AuditFilter } from '../audit/search.js';
import { AUDIT_OUTCOMES } from '../audit/tables.js';
import type { AuditEntryRow } from '../audit/tables.js';
import { secureRoute } from './access.js';
import { auditRequest } from './client.js';
import { errorResponses } from './openapi.js';
import { text } from './text-schemas.js';
import type { RouteModule } from './types.js';

/**
 * Searching and exporting the audit trail (`audit:read`). Newest first, in
 * pages: pass `next` back as `before`. Every search is itself recorded
 * (`audit.export`), so who looked at the trail is in the trail.
 */

const Query = z.object({
  actor: text(254).optional().openapi({
    description:
      '`user:<id>`, `key:<id>`, `anonymous`, `system`, or an e-mail address as recorded.',
  }),
  action: text(100).optional().openapi({
    description: 'An action, e.g. `session.login`, or a prefix ending in `*`, e.g. `session.*`.',
  }),
  objectType: text(100).optional(),
  objectId: text(200).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'Inclusive, ISO 8601.' }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Exclusive, ISO 8601.' }),
  before: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .openapi({ description: 'Paging: entries older than this seq.' }),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  format: z.enum(['json', 'csv']).optional().openapi({
    description: 'Default: JSON, or CSV when the Accept header asks for text/csv.',
  }),
});

const Entry = z
  .object({
    seq: z.number(),
    at: z.string(),
    actor_kind: z.string(),
    actor_id: z.number().nullable(),
    actor_label: z.string().nullable(),
    actor_role: z.string().nullable(),
    actor_provider_id: z.number().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    action: z.string(),
    object_type: z.string().nullable(),
    object_id: z.string().nullable(),
    outcome: z.enum(AUDIT_OUTCOMES),
    details: z.record(z.string(), z.unknown()),
    prev_hash: z.string(),
    hash: z.string(),
  })
  .openapi('AuditEntry');

const search = secureRoute('audit:read', {
  method: 'get',
  path: '/v1/audit',
  tags: ['Audit'],
  summary: 'Search and export the audit trail (JSON or CSV)',
  request: { query: Query },
  responses: {
    200: {
      description:
        'Entries, newest first, with `next` for the following page (in CSV: the `X-Next-Before` header).',
      content: {
        'application/json': {
          schema: z.object({ entries: z.array(Entry), next: z.number().nullable() }),
        },
        'text/csv': { schema: z.string() },
      },
    },
    ...errorResponses(400, 401, 403),
  },
});

const json = (entry: AuditEntryRow) => ({ ...entry, at: entry.at.toISOString() });

export const auditRoutes: RouteModule = {
  name: 'audit',
  register(app, deps) {
    app.openapi(search, async (c) => {
      const query = c.req.valid('query');
      const format =
        query.format ?? (/\btext\/csv\b/.test(c.req.header('accept') ?? '') ? 'csv' : 'json');
      const filter: AuditFilter = {
        actor: query.actor,
        action: query.action,
        objectType: query.objectType,
        objectId: query.objectId,
        outcome: query.outcome,
        from: query.from === undefined ? undefined : new Date(query.from),
        to: query.to === undefined ? undefined : new Date(query.to),
        before: query.before,
        limit: query.limit,
      };
      const page = await searchAudit(deps.db, filter);
      const { format: _format, ...filters } = query;
      await recordAudit(deps.db, {
        actor: c.get('principal'),
        request: auditRequest(c, deps.config.trustedProxyHops),
        action: 'audit.export',
        object: { type: 'audit', id: null },
        outcome: 'allowed',
        details: { format, filters, count: page.entries.length },
        at: deps.clock.now(),
      });
      if (format === 'csv') {
        return c.body(auditCsv(page.entries), 200, {
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': 'attachment; filename="takedown-audit.csv"',
          ...(page.next === null ? {} : { 'X-Next-Before': String(page.next) }),
        });
      }
      return c.json({ entries: page.entries.map(json), next: page.next }, 200);
    });
  },
};
