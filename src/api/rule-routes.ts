import { z } from '@hono/zod-openapi';
import { describePrincipal } from '../access/principal.js';
import { recordAudit } from '../audit/index.js';
import { addRule, listRules, removeRule } from '../classify/queries.js';
import type { DomainRule } from '../classify/queries.js';
import { MAX_HOSTER_CHARS, MAX_NOTE_CHARS, parseDomain } from '../classify/rules.js';
import { RULE_ACTIONS } from '../classify/tables.js';
import { TakedownError } from '../errors.js';
import { secureRoute } from './access.js';
import { auditRequest } from './client.js';
import { errorResponses, jsonContent } from './openapi.js';
import { IdParam } from './report-schemas.js';
import { storing } from './storing.js';
import { text } from './text-schemas.js';
import type { RouteModule } from './types.js';

/**
 * Domain rules (`rules:manage` to change, `reports:read` to list): do not
 * fetch a site, classify everything from it as not illegal, or force its
 * hoster. A rule covers its domain and every subdomain; it applies to work
 * that starts after it is set. Every change is in the audit trail.
 */

const tags = ['Domain rules'];

const Rule = z
  .object({
    id: z.number(),
    domain: z.string(),
    action: z.enum(RULE_ACTIONS),
    hoster: z.string().nullable(),
    note: z.string(),
    createdBy: z.string(),
    createdAt: z.string(),
    removedAt: z.string().nullable(),
    removedBy: z.string().nullable(),
  })
  .openapi('DomainRule');

const NewRule = z
  .object({
    domain: text(300).openapi({ example: 'legal-adult.example' }),
    action: z.enum(RULE_ACTIONS).openapi({
      description:
        'do-not-fetch: never fetch from this domain (analysts look at its URLs by hand). not-illegal: classify everything from it as not illegal without fetching. force-hoster: attribute it to `hoster`.',
    }),
    hoster: text(MAX_HOSTER_CHARS).optional(),
    note: text(MAX_NOTE_CHARS).optional(),
  })
  .strict()
  .openapi('NewDomainRule');

const list = secureRoute('reports:read', {
  method: 'get',
  path: '/v1/rules',
  tags,
  summary: 'List the domain rules in force',
  request: { query: z.object({ all: z.enum(['true', 'false']).optional() }) },
  responses: {
    200: jsonContent(
      z.object({ rules: z.array(Rule) }),
      'The rules (with all=true, retired ones too).',
    ),
    ...errorResponses(401, 403, 503),
  },
});

const create = secureRoute('rules:manage', {
  method: 'post',
  path: '/v1/rules',
  tags,
  summary: 'Set a domain rule',
  request: { body: { content: { 'application/json': { schema: NewRule } }, required: true } },
  responses: {
    201: jsonContent(Rule, 'The rule, in force from now on.'),
    ...errorResponses(400, 401, 403, 409, 503),
  },
});

const remove = secureRoute('rules:manage', {
  method: 'delete',
  path: '/v1/rules/{id}',
  tags,
  summary: 'Retire a domain rule',
  request: { params: IdParam },
  responses: {
    200: jsonContent(Rule, 'The retired rule (it stays on record).'),
    ...errorResponses(401, 403, 404, 503),
  },
});

export const ruleRoutes: RouteModule = {
  name: 'rules',
  register(app, deps) {
    app.openapi(list, async (c) => {
      const all = c.req.valid('query').all === 'true';
      const rules = await storing(c, () => listRules(deps.db, { includeRemoved: all }));
      return c.json({ rules: rules.map(ruleJson) }, 200);
    });

    app.openapi(create, async (c) => {
      const body = c.req.valid('json');
      const domain = parseDomain(body.domain);
      if (body.action === 'force-hoster' && (body.hoster ?? '').trim() === '')
        throw new TakedownError(
          'hoster-required',
          'A force-hoster rule needs `hoster`: the name of the hosting provider.',
        );
      if (body.action !== 'force-hoster' && body.hoster !== undefined)
        throw new TakedownError('hoster-not-allowed', 'Only a force-hoster rule takes `hoster`.');
      const principal = c.get('principal');
      const rule = await storing(c, () =>
        deps.db.transaction().execute(async (trx) => {
          const added = await addRule(trx, {
            domain,
            action: body.action,
            hoster: body.hoster?.trim() ?? null,
            note: body.note?.trim() ?? '',
            createdBy: describePrincipal(principal),
          });
          await recordAudit(trx, {
            actor: principal,
            request: auditRequest(c, deps.config.trustedProxyHops),
            action: 'rule.create',
            object: { type: 'domain-rule', id: added.id },
            outcome: 'allowed',
            details: { domain, action: added.action, hoster: added.hoster },
          });
          return added;
        }),
      );
      return c.json(ruleJson(rule), 201);
    });

    app.openapi(remove, async (c) => {
      const { id } = c.req.valid('param');
      const principal = c.get('principal');
      const rule = await storing(c, () =>
        deps.db.transaction().execute(async (trx) => {
          const removed = await removeRule(trx, id, describePrincipal(principal));
          await recordAudit(trx, {
            actor: principal,
            request: auditRequest(c, deps.config.trustedProxyHops),
            action: 'rule.remove',
            object: { type: 'domain-rule', id },
            outcome: 'allowed',
            details: { domain: removed.domain, action: removed.action },
          });
          return removed;
        }),
      );
      return c.json(ruleJson(rule), 200);
    });
  },
};

export function ruleJson(rule: DomainRule) {
  return {
    id: rule.id,
    domain: rule.domain,
    action: rule.action,
    hoster: rule.hoster,
    note: rule.note,
    createdBy: rule.createdBy,
    createdAt: rule.createdAt.toISOString(),
    removedAt: rule.removedAt?.toISOString() ?? null,
    removedBy: rule.removedBy,
  };
}
