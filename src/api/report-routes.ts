import type { Context } from 'hono';
import { describePrincipal } from '../access/principal.js';
import { recordAudit } from '../audit/index.js';
import { TokenBuckets } from '../check/rate-limit.js';
import type { Limit } from '../check/rate-limit.js';
import { TakedownError } from '../errors.js';
import { prepareReport, prepareReportOrThrow } from '../intake/intake.js';
import {
  caseProgress,
  findReportId,
  reportContact,
  reportDetails,
  storeReports,
} from '../intake/queries.js';
import type { NewReport } from '../intake/queries.js';
import { reportStatus } from '../intake/status.js';
import { formatTrackingCode, parseTrackingCode } from '../intake/tracking-code.js';
import { jobQueueFor } from '../pipeline/job-queue.js';
import { secureRoute } from './access.js';
import { auditRequest, clientAddress } from './client.js';
import { errorResponses, jsonContent } from './openapi.js';
import {
  BatchResponseSchema,
  BatchSchema,
  CodeParam,
  IdParam,
  PublicReportSchema,
  ReportContactResponse,
  ReportDetailsSchema,
  StatusSchema,
  TrackingCodeSchema,
} from './report-schemas.js';
import { storing } from './storing.js';
import type { AppDeps, AppEnv, RouteModule } from './types.js';

/**
 * Reports in: the public form (anyone, limited per address), partners'
 * batches (API key, `reports:submit-batch`), and the tracking-code status.
 * A report is answered 202 only after it, its cases and its first jobs have
 * committed; with the database gone the answer is 503 and Retry-After.
 */

const json = <T>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

const submit = secureRoute('public', {
  method: 'post',
  path: '/v1/reports',
  tags: ['Reports'],
  summary: 'Report material (no account needed)',
  description:
    'Send the URLs where you saw child sexual abuse material. You get a tracking code back; it is the only way to follow your report, and it is not linked to you. ' +
    'Contact details and the victim flag are optional. Each address may send a limited number of reports per minute (429 with Retry-After beyond it).',
  request: json(PublicReportSchema),
  responses: {
    202: jsonContent(TrackingCodeSchema, 'Stored; work on it has been queued.'),
    ...errorResponses(400, 429, 503),
  },
});

const status = secureRoute('public', {
  method: 'get',
  path: '/v1/reports/{code}',
  tags: ['Reports'],
  summary: "A report's status, by its tracking code",
  description:
    'Only the status: nothing else about the report is shown to anyone holding the code.',
  request: { params: CodeParam },
  responses: {
    200: jsonContent(StatusSchema, 'Where the report stands.'),
    ...errorResponses(404, 429, 503),
  },
});

const batch = secureRoute('reports:submit-batch', {
  method: 'post',
  path: '/v1/reports/batch',
  tags: ['Reports'],
  summary: 'Submit reports in a batch (partners)',
  description:
    'Up to 500 reports at once, each with its own result: a tracking code, or why it was refused. The accepted ones are stored together before the answer. ' +
    'Give each report a `reference` to make retrying a batch safe.',
  request: json(BatchSchema),
  responses: {
    202: jsonContent(BatchResponseSchema, 'One result per report, in order.'),
    ...errorResponses(400, 401, 403, 413, 503),
  },
});

const details = secureRoute('reports:read', {
  method: 'get',
  path: '/v1/intake/reports/{id}',
  tags: ['Reports'],
  summary: 'A report with its URLs (staff)',
  description:
    "The report, its cases (one per URL, shared with other reports of the URL) and how far each got. The reporter's contact details are not included: see /contact.",
  request: { params: IdParam },
  responses: {
    200: jsonContent(ReportDetailsSchema, 'The report.'),
    ...errorResponses(401, 403, 404, 503),
  },
});

const contact = secureRoute('reports:contact', {
  method: 'get',
  path: '/v1/intake/reports/{id}/contact',
  tags: ['Reports'],
  summary: "The reporter's contact details (recorded in the audit trail)",
  request: { params: IdParam },
  responses: {
    200: jsonContent(ReportContactResponse, 'What the reporter left.'),
    ...errorResponses(401, 403, 404, 503),
  },
});

export const reportRoutes: RouteModule = {
  name: 'reports',
  register(app, deps) {
    const reportLimits = new TokenBuckets();
    const statusLimits = new TokenBuckets();
    const reportLimit: Limit = {
      perSecond: deps.config.reportRatePerMinute / 60,
      burst: deps.config.reportBurst,
    };
    const statusLimit: Limit = {
      perSecond: deps.config.statusRatePerMinute / 60,
      burst: Math.max(1, Math.round(deps.config.statusRatePerMinute)),
    };
    const queue = jobQueueFor(deps.db);

    app.openapi(submit, async (c) => {
      limit(c, deps, reportLimits, reportLimit, 'reports');
      const body = c.req.valid('json');
      const report = prepareReportOrThrow(body, { maxUrls: deps.config.reportMaxUrls });
      const [stored] = await storing(c, () =>
        deps.db.transaction().execute((trx) =>
          storeReports(trx, queue, [
            {
              channel: 'public',
              providerId: null,
              submittedBy: 'anonymous',
              dedupeKey: null,
              report,
            },
          ]),
        ),
      );
      return c.json({ trackingCode: formatTrackingCode(stored.trackingCode) }, 202);
    });

    app.openapi(status, async (c) => {
      limit(c, deps, statusLimits, statusLimit, 'look-ups');
      const code = parseTrackingCode(c.req.valid('param').code);
      const cases =
        code === undefined
          ? undefined
          : await storing(c, async () => {
              const id = await findReportId(deps.db, code);
              return id === undefined ? undefined : caseProgress(deps.db, id);
            });
      if (cases === undefined) {
        throw new TakedownError(
          'report-not-found',
          'No report has this tracking code. Check it for typos: it has 12 letters and digits, like K7QM-3XH9-TD2F.',
          { kind: 'not-found' },
        );
      }
      return c.json({ status: reportStatus(cases) }, 200);
    });

    app.openapi(batch, async (c) => {
      const principal = c.get('principal');
      const providerId =
        principal.kind === 'api-key' || principal.kind === 'user' ? principal.providerId : null;
      const { reports } = c.req.valid('json');
      const results: Array<Record<string, unknown>> = [];
      const accepted: Array<{ index: number; report: NewReport }> = [];
      reports.forEach((input, index) => {
        const prepared = prepareReport(input, { maxUrls: deps.config.reportMaxUrls });
        const reference = input.reference === undefined ? {} : { reference: input.reference };
        if (prepared.kind === 'invalid') {
          results[index] = {
            index,
            ...reference,
            error: {
              code: 'invalid-report',
              message: prepared.message,
              details: { issues: prepared.issues },
            },
          };
          return;
        }
        const ref = prepared.report.reference;
        accepted.push({
          index,
          report: {
            channel: 'partner',
            providerId,
            submittedBy: describePrincipal(principal),
            dedupeKey:
              ref === undefined
                ? null
                : `partner:${providerId ?? describePrincipal(principal)}:${ref}`,
            report: prepared.report,
          },
        });
      });
      const stored = await storing(c, () =>
        deps.db.transaction().execute(async (trx) => {
          const rows = await storeReports(
            trx,
            queue,
            accepted.map((a) => a.report),
          );
          await recordAudit(trx, {
            actor: principal,
            request: auditRequest(c, deps.config.trustedProxyHops),
            action: 'report.submit-batch',
            object: { type: 'provider', id: providerId },
            outcome: 'allowed',
            details: {
              reports: reports.length,
              accepted: rows.filter((r) => !r.duplicate).length,
              duplicates: rows.filter((r) => r.duplicate).length,
              rejected: reports.length - accepted.length,
            },
          });
          return rows;
        }),
      );
      stored.forEach((row, i) => {
        const { index, report } = accepted[i];
        results[index] = {
          index,
          trackingCode: formatTrackingCode(row.trackingCode),
          ...(report.report.reference === undefined ? {} : { reference: report.report.reference }),
          duplicate: row.duplicate,
        };
      });
      const duplicates = stored.filter((row) => row.duplicate).length;
      return c.json(
        {
          accepted: stored.length - duplicates,
          duplicates,
          rejected: reports.length - accepted.length,
          results,
        } as never,
        202,
      );
    });

    app.openapi(details, async (c) => {
      const { id } = c.req.valid('param');
      const found = await storing(c, () => reportDetails(deps.db, id));
      if (found === undefined) throw notFound(id);
      const progress = await storing(c, () => caseProgress(deps.db, id));
      const r = found.report;
      return c.json(
        {
          id: r.id,
          trackingCode: formatTrackingCode(r.tracking_code),
          channel: r.channel,
          providerId: r.provider_id,
          submittedBy: r.submitted_by,
          reference: r.reference,
          description: r.description,
          receivedAt: r.received_at.toISOString(),
          status: reportStatus(progress),
          hasContact: found.hasContact,
          cases: found.cases.map((kase) => ({
            id: kase.id,
            url: kase.url,
            state: kase.state,
            reportCount: kase.report_count,
            fetch: {
              kind: kase.fetch_kind,
              status: kase.fetch_status,
              message: kase.fetch_message,
              sniffed: kase.sniffed,
            },
            mediaFound: kase.media_found,
            reviewReason: kase.review_reason,
            rule: kase.rule_action,
            classification: kase.classification,
            closedAt: kase.closed_at?.toISOString() ?? null,
            items: kase.items,
          })),
        },
        200,
      );
    });

    app.openapi(contact, async (c) => {
      const { id } = c.req.valid('param');
      const found = await storing(c, () =>
        deps.db.transaction().execute(async (trx) => {
          const row = await reportContact(trx, id);
          // Recorded before the details leave, in the same transaction: no record, no details.
          if (row !== undefined)
            await recordAudit(trx, {
              actor: c.get('principal'),
              request: auditRequest(c, deps.config.trustedProxyHops),
              action: 'report.contact-view',
              object: { type: 'report', id },
              outcome: 'allowed',
            });
          return row;
        }),
      );
      if (found === undefined) {
        throw new TakedownError(
          'no-contact',
          `Report ${id} does not exist or its reporter left no contact details.`,
          { kind: 'not-found' },
        );
      }
      return c.json(found, 200);
    });
  },
};

function notFound(id: number): TakedownError {
  return new TakedownError('report-not-found', `There is no report ${id}.`, { kind: 'not-found' });
}

/** Per client address, in this process; 429 with Retry-After beyond the limit. */
function limit(
  c: Context<AppEnv>,
  deps: AppDeps,
  buckets: TokenBuckets,
  rate: Limit,
  what: string,
): void {
  const address = clientAddress(c, deps.config.trustedProxyHops) ?? 'unknown';
  const taken = buckets.take(address, 1, rate);
  if (taken.ok) return;
  c.header('Retry-After', String(taken.retryAfterSeconds));
  throw new TakedownError(
    'rate-limited',
    `Too many ${what} from your address; please try again in ${taken.retryAfterSeconds} s.`,
    { kind: 'rate-limited', details: { retryAfterSeconds: taken.retryAfterSeconds } },
  );
}
