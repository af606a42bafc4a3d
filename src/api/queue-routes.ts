import { z } from '@hono/zod-openapi';
import type { Selectable } from 'kysely';
import sharp from 'sharp';
import { allows } from '../access/permissions.js';
import { describePrincipal } from '../access/principal.js';
import type { Principal } from '../access/principal.js';
import { CLAIM_MINUTES } from '../assess/assessment.js';
import type { ReviewStage } from '../assess/assessment.js';
import { readFourEyes, writeFourEyes } from '../assess/four-eyes.js';
import { assessorsOf, claimItem, itemDetail, listQueue, releaseItem } from '../assess/queries.js';
import type { ClaimOutcome, QueueCursor } from '../assess/queries.js';
import { storeAssessment } from '../assess/record.js';
import type { AssessmentTable } from '../assess/tables.js';
import { recordAudit, recordMediaView } from '../audit/index.js';
import { TakedownError } from '../errors.js';
import { sniff } from '../fetch/sniff.js';
import { jobQueueFor } from '../pipeline/job-queue.js';
import { openMediaStore } from '../store/blob-store.js';
import type { BlobStore } from '../store/blob-store.js';
import { secureRoute } from './access.js';
import { auditRequest } from './client.js';
import { errorResponses, jsonContent } from './openapi.js';
import {
  AssessmentResultSchema,
  ClaimResponseSchema,
  FourEyesSchema,
  FourEyesUpdateSchema,
  ItemDetailSchema,
  NewAssessmentSchema,
  QueuePageSchema,
  QueueQuerySchema,
  ReleaseResponseSchema,
} from './queue-schemas.js';
import type { QUEUE_STATES } from './queue-schemas.js';
import { IdParam } from './report-schemas.js';
import { storing } from './storing.js';
import type { AppDeps, RouteModule } from './types.js';

/**
 * The analyst queue (issue 5): media items no bank or rule decided, claimed
 * one at a time, looked at, and assessed with the INHOPE/ICCAM fields.
 * Four eyes, claims and who may assess what: src/assess/assessment.ts and
 * README "The analyst queue".
 */

const tags = ['Analyst queue'];
type QueueState = (typeof QUEUE_STATES)[number];

const STAGE_OF: Readonly<Record<QueueState, ReviewStage>> = {
  'awaiting-first': 'first',
  'awaiting-second-opinion': 'second-opinion',
  disputed: 'disputed',
};
const STATE_OF: Readonly<Record<ReviewStage, QueueState>> = {
  first: 'awaiting-first',
  'second-opinion': 'awaiting-second-opinion',
  disputed: 'disputed',
};

const list = secureRoute('queue:work', {
  method: 'get',
  path: '/v1/queue',
  tags,
  summary: 'Media items waiting for an analyst',
  description:
    'Oldest first unless `order=newest`. Page on with `cursor=<nextCursor>` until it is null.',
  request: { query: QueueQuerySchema },
  responses: {
    200: jsonContent(QueuePageSchema, 'One page of the queue.'),
    ...errorResponses(400, 401, 403, 503),
  },
});

const claim = secureRoute('queue:work', {
  method: 'post',
  path: '/v1/queue/{id}/claim',
  tags,
  summary: 'Claim an item (or renew your claim)',
  description: `Only the holder of a claim may assess the item while it lasts (${CLAIM_MINUTES} minutes from each claim). 409 names who holds it and until when.`,
  request: { params: IdParam },
  responses: {
    200: jsonContent(ClaimResponseSchema, 'The item is yours until `claim.until`.'),
    ...errorResponses(401, 403, 404, 409, 503),
  },
});

const release = secureRoute('queue:work', {
  method: 'post',
  path: '/v1/queue/{id}/release',
  tags,
  summary: 'Give a claim up',
  description:
    'Your own claim; a supervisor (assessments:approve) may release anyone’s. 409 when you do not hold it.',
  request: { params: IdParam },
  responses: {
    200: jsonContent(ReleaseResponseSchema, 'Nobody holds the item now.'),
    ...errorResponses(401, 403, 404, 409, 503),
  },
});

const item = secureRoute('reports:read', {
  method: 'get',
  path: '/v1/items/{id}',
  tags,
  summary: 'A media item with its case, reports, hashes, matches and assessments',
  description:
    'Every role that works the queue holds reports:read too. Reporters’ contact details are not included (GET /v1/intake/reports/{id}/contact, reports:contact).',
  request: { params: IdParam },
  responses: {
    200: jsonContent(ItemDetailSchema, 'The item.'),
    ...errorResponses(401, 403, 404, 503),
  },
});

const media = secureRoute('queue:work', {
  method: 'get',
  path: '/v1/items/{id}/media',
  tags,
  summary: 'The item’s media (recorded in the audit trail)',
  description:
    'The stored bytes, decrypted, as what they are. `view=blurred` gives a greyscale, blurred JPEG of an image instead. Every call is recorded as `media.view` before the bytes go out. 404 `media-deleted` once the retention period has removed the media: the item keeps its hashes and decisions.',
  request: {
    params: IdParam,
    query: z.object({ view: z.enum(['original', 'blurred']).optional() }).strict(),
  },
  responses: {
    200: {
      description: 'The media bytes.',
      content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
    },
    ...errorResponses(400, 401, 403, 404, 503),
  },
});

const assess = secureRoute('queue:work', {
  method: 'post',
  path: '/v1/items/{id}/assessments',
  tags,
  summary: 'Assess an item',
  description:
    'With four eyes on, an illegal assessment waits for a second analyst; see README "The analyst queue". 409: someone else holds the item, you assessed it already, or it is decided. 403: a disputed item needs a supervisor.',
  request: {
    params: IdParam,
    body: { content: { 'application/json': { schema: NewAssessmentSchema } }, required: true },
  },
  responses: {
    201: jsonContent(AssessmentResultSchema, 'Stored; what it did is `assessment.effect`.'),
    ...errorResponses(400, 401, 403, 404, 409, 503),
  },
});

const getFourEyes = secureRoute('assessments:approve', {
  method: 'get',
  path: '/v1/settings/four-eyes',
  tags,
  summary: 'Whether illegal decisions need a second analyst',
  responses: {
    200: jsonContent(FourEyesSchema, 'The setting.'),
    ...errorResponses(401, 403, 503),
  },
});

const putFourEyes = secureRoute('assessments:approve', {
  method: 'put',
  path: '/v1/settings/four-eyes',
  tags,
  summary: 'Turn four eyes on or off',
  description:
    'Applies to items assessed for the first time from now on; items waiting for a second opinion keep waiting.',
  request: {
    body: { content: { 'application/json': { schema: FourEyesUpdateSchema } }, required: true },
  },
  responses: {
    200: jsonContent(FourEyesSchema, 'The setting now.'),
    ...errorResponses(400, 401, 403, 503),
  },
});

export const queueRoutes: RouteModule = {
  name: 'queue',
  register(app, deps) {
    const queue = jobQueueFor(deps.db);
    let blobs: BlobStore | undefined;
    const mediaStore = (): BlobStore => {
      try {
        blobs ??= openMediaStore(deps.config, 'the analyst queue');
      } catch (error) {
        throw new TakedownError(
          'media-store-unavailable',
          'Evidence media cannot be shown: the server has no TAKEDOWN_MEDIA_KEY.',
          { kind: 'unavailable', cause: error },
        );
      }
      return blobs;
    };

    app.openapi(list, async (c) => {
      const q = c.req.valid('query');
      const page = await storing(c, () =>
        listQueue(deps.db, {
          host: q.host?.trim().toLowerCase(),
          claimed: q.claimed ?? 'any',
          stage: q.state === undefined ? undefined : STAGE_OF[q.state],
          order: q.order ?? 'oldest',
          after: q.cursor === undefined ? undefined : parseCursor(q.cursor),
          limit: q.limit ?? 50,
          me: describePrincipal(c.get('principal')),
          now: deps.clock.now(),
        }),
      );
      return c.json(
        {
          items: page.rows.map((r) => ({
            id: r.id,
            caseId: r.case_id,
            caseUrl: r.case_url,
            host: r.host,
            mediaUrl: r.url,
            sniffed: r.sniffed,
            sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
            queuedAt: r.queued_at?.toISOString() ?? null,
            reportCount: r.report_count,
            state: STATE_OF[r.stage ?? 'first'],
            claim: claimJson(r, deps.clock.now()),
            hashes: hashesJson(r),
          })),
          nextCursor: page.next === null ? null : formatCursor(page.next),
        },
        200,
      );
    });

    app.openapi(claim, async (c) => {
      const { id } = c.req.valid('param');
      const who = actor(c.get('principal'));
      const now = deps.clock.now();
      const outcome = await storing(c, async () => {
        if ((await assessorsOf(deps.db, id)).includes(who.id)) return 'assessed' as const;
        return claimItem(deps.db, id, who, now, new Date(now.getTime() + CLAIM_MINUTES * 60_000));
      });
      if (outcome === 'assessed')
        throw new TakedownError(
          'already-assessed',
          'You assessed this item already: the next opinion must come from someone else, so you cannot claim it.',
          { kind: 'conflict' },
        );
      if (outcome.kind !== 'claimed') throw claimRefusal(id, outcome);
      return c.json(
        { id, claim: { by: who.id, name: who.label, until: outcome.until.toISOString() } },
        200,
      );
    });

    app.openapi(release, async (c) => {
      const { id } = c.req.valid('param');
      const principal = c.get('principal');
      const outcome = await storing(c, () =>
        releaseItem(
          deps.db,
          id,
          describePrincipal(principal),
          allows(principal, 'assessments:approve'),
        ),
      );
      if (outcome.kind !== 'released') throw claimRefusal(id, outcome, 'release');
      return c.json({ id, released: true as const }, 200);
    });

    app.openapi(item, async (c) => {
      const { id } = c.req.valid('param');
      const found = await storing(c, () => itemDetail(deps.db, id));
      if (found === undefined) throw itemNotFound(id);
      const { item: i, kase, reports, matches, identical, assessments } = found;
      const iso = (d: Date | null) => d?.toISOString() ?? null;
      return c.json(
        {
          id: i.id,
          url: i.url,
          foundAs: i.found_as,
          via: i.via,
          state: i.state,
          queueState: i.state === 'queued' ? STATE_OF[i.stage ?? 'first'] : null,
          claim: i.state === 'queued' ? claimJson(i, deps.clock.now()) : null,
          queuedAt: iso(i.queued_at),
          fetch: {
            kind: i.fetch_kind,
            status: i.fetch_status,
            message: i.fetch_message,
            finalUrl: i.final_url,
            address: i.address,
            contentType: i.content_type,
            sniffed: i.sniffed,
            fetchedAt: iso(i.fetched_at),
          },
          sizeBytes: i.size_bytes === null ? null : Number(i.size_bytes),
          imageFormat: i.image_format,
          hashError: i.hash_error,
          hashes: hashesJson(i),
          classification: i.classification,
          classifiedBy: i.classified_by,
          classifiedAt: iso(i.classified_at),
          media: {
            available: i.media_key !== null && i.media_deleted_at === null,
            storedAt: iso(i.media_stored_at),
            deletedAt: iso(i.media_deleted_at),
          },
          case: {
            id: kase.id,
            url: kase.url,
            host: kase.host,
            state: kase.state,
            reportCount: kase.report_count,
            firstReportedAt: kase.first_reported_at.toISOString(),
            lastReportedAt: kase.last_reported_at.toISOString(),
            classification: kase.classification,
          },
          reports: reports.map((r) => ({
            id: r.id,
            channel: r.channel,
            providerId: r.provider_id,
            submittedBy: r.submitted_by,
            reference: r.reference,
            description: r.description,
            receivedAt: r.received_at.toISOString(),
          })),
          matches: matches.map((m) => ({
            bank: m.bank_name,
            category: m.category,
            signalType: m.signal_type,
            distance: m.distance,
            decisive: m.decisive,
            matchedAt: m.matched_at.toISOString(),
          })),
          identical: identical.map((o) => ({
            id: o.id,
            caseId: o.case_id,
            url: o.url,
            classification: o.classification,
            classifiedBy: o.classified_by,
            classifiedAt: iso(o.classified_at),
          })),
          assessments: assessments.map(assessmentJson),
        },
        200,
      );
    });

    app.openapi(media, async (c) => {
      const { id } = c.req.valid('param');
      const blurred = c.req.valid('query').view === 'blurred';
      const row = await storing(c, () =>
        deps.db
          .selectFrom('media_item as i')
          .select([
            'i.id',
            'i.media_key',
            'i.media_deleted_at',
            'i.content_type',
            (eb) =>
              eb
                .selectFrom('report_case as rc')
                .select((e) => e.fn.min('rc.report_id').as('r'))
                .whereRef('rc.case_id', '=', 'i.case_id')
                .as('report_id'),
          ])
          .where('i.id', '=', id)
          .executeTakeFirst(),
      );
      if (row === undefined) throw itemNotFound(id);
      const gone = new TakedownError(
        'media-deleted',
        `The media of item ${id} is no longer kept (deleted after the retention period, or never stored because a bank or rule decided it). Its hashes and decisions remain: GET /v1/items/${id}.`,
        { kind: 'not-found' },
      );
      if (row.media_key === null || row.media_deleted_at !== null) throw gone;
      const stored = await mediaStore().get(row.media_key);
      if (stored === undefined) throw gone;
      const bytes = blurred ? await blur(stored, deps) : Buffer.from(stored);
      // Recorded before the bytes leave: no record, no media.
      await storing(c, () =>
        recordMediaView(deps.db, {
          principal: c.get('principal'),
          request: auditRequest(c, deps.config.trustedProxyHops),
          mediaId: id,
          ...(row.report_id === null ? {} : { reportId: Number(row.report_id) }),
          presentation: blurred ? 'blurred' : 'revealed',
        }),
      );
      c.header('Content-Type', blurred ? 'image/jpeg' : contentType(stored));
      c.header('Cache-Control', 'no-store');
      c.header('Content-Disposition', 'inline');
      c.header('X-Content-Type-Options', 'nosniff');
      c.header('Content-Length', String(bytes.length));
      return c.body(new Uint8Array(bytes), 200) as never;
    });

    app.openapi(assess, async (c) => {
      const { id } = c.req.valid('param');
      const fields = c.req.valid('json');
      const principal = c.get('principal');
      const who = actor(principal);
      const stored = await storing(c, () =>
        deps.db.transaction().execute(async (trx) => {
          const saved = await storeAssessment(
            trx,
            id,
            { ...who, supervisor: allows(principal, 'assessments:approve') },
            fields,
            deps.clock.now(),
            queue,
          );
          await recordAudit(trx, {
            actor: principal,
            request: auditRequest(c, deps.config.trustedProxyHops),
            action: 'classification.create',
            object: { type: 'media', id },
            outcome: 'allowed',
            details: {
              assessmentId: saved.id,
              classification: fields.classification,
              effect: saved.effect,
            },
          });
          return saved;
        }),
      );
      const after = await storing(c, async () => ({
        assessment: await deps.db
          .selectFrom('assessment')
          .selectAll()
          .where('id', '=', stored.id)
          .executeTakeFirstOrThrow(),
        item: await deps.db
          .selectFrom('media_item as i')
          .leftJoin('item_review as r', 'r.item_id', 'i.id')
          .select(['i.id', 'i.state', 'i.classification', 'r.stage'])
          .where('i.id', '=', id)
          .executeTakeFirstOrThrow(),
      }));
      return c.json(
        {
          assessment: assessmentJson(after.assessment),
          item: {
            id,
            state: after.item.state,
            queueState:
              after.item.state === 'queued' ? STATE_OF[after.item.stage ?? 'first'] : null,
            classification: after.item.classification,
          },
          ownBank:
            stored.ownBank === undefined
              ? null
              : { queued: true as const, bank: stored.ownBank.bank, jobId: stored.ownBank.jobId },
        },
        201,
      );
    });

    app.openapi(getFourEyes, async (c) => {
      return c.json(await storing(c, () => readFourEyes(deps.db)), 200);
    });

    app.openapi(putFourEyes, async (c) => {
      const { enabled } = c.req.valid('json');
      const principal = c.get('principal');
      const value = await storing(c, () =>
        deps.db.transaction().execute(async (trx) => {
          const before = await readFourEyes(trx);
          const now = await writeFourEyes(
            trx,
            enabled,
            describePrincipal(principal),
            deps.clock.now(),
          );
          await recordAudit(trx, {
            actor: principal,
            request: auditRequest(c, deps.config.trustedProxyHops),
            action: 'setting.change',
            object: { type: 'setting', id: 'four-eyes' },
            outcome: 'allowed',
            details: { from: before.enabled, to: enabled },
          });
          return now;
        }),
      );
      return c.json(value, 200);
    });
  },
};

function actor(principal: Principal) {
  return {
    id: describePrincipal(principal),
    label: principal.kind === 'user' ? principal.email : null,
    role: principal.kind === 'user' || principal.kind === 'api-key' ? principal.role : null,
  };
}

function claimJson(
  r: { claimed_by: string | null; claimed_label: string | null; claimed_until: Date | null },
  now: Date,
) {
  if (r.claimed_by === null || r.claimed_until === null || r.claimed_until <= now) return null;
  return { by: r.claimed_by, name: r.claimed_label, until: r.claimed_until.toISOString() };
}

function hashesJson(r: {
  md5: Buffer | null;
  sha1: Buffer | null;
  sha256: Buffer | null;
  pdq: Buffer | null;
  pdq_quality: number | null;
}) {
  const hex = (b: Buffer | null) => b?.toString('hex') ?? null;
  return {
    md5: hex(r.md5),
    sha1: hex(r.sha1),
    sha256: hex(r.sha256),
    pdq: hex(r.pdq),
    pdqQuality: r.pdq_quality,
  };
}

function assessmentJson(a: Selectable<AssessmentTable>) {
  return {
    id: a.id,
    itemId: a.item_id,
    assessor: a.assessor,
    assessorName: a.assessor_label,
    classification: a.classification,
    ageGroup: a.age_group,
    gender: a.gender,
    virtual: a.virtual,
    siteType: a.site_type,
    commercial: a.commercial,
    note: a.note,
    effect: a.effect,
    createdAt: a.created_at.toISOString(),
  };
}

function claimRefusal(
  id: number,
  outcome: Exclude<ClaimOutcome, { kind: 'claimed' }>,
  what: 'claim' | 'release' = 'claim',
): TakedownError {
  switch (outcome.kind) {
    case 'not-found':
      return itemNotFound(id);
    case 'not-queued':
      return new TakedownError(
        'item-not-queued',
        `Media item ${id} is not waiting for an analyst (it is ${outcome.state}).`,
        { kind: 'conflict', details: { state: outcome.state } },
      );
    case 'unclaimed':
      return what === 'release'
        ? new TakedownError('not-claimed', `Nobody holds media item ${id}.`, { kind: 'conflict' })
        : new TakedownError(
            'claim-changed',
            `Media item ${id} changed hands just now; try again.`,
            { kind: 'conflict' },
          );
    case 'held':
      return new TakedownError(
        'claimed-by-other',
        `${outcome.label ?? outcome.by} is working on media item ${id} until ${outcome.until.toISOString()}.`,
        {
          kind: 'conflict',
          details: {
            claimedBy: outcome.by,
            claimedByName: outcome.label,
            claimedUntil: outcome.until.toISOString(),
          },
        },
      );
  }
}

function itemNotFound(id: number): TakedownError {
  return new TakedownError('item-not-found', `There is no media item ${id}.`, {
    kind: 'not-found',
  });
}

function formatCursor(cursor: QueueCursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id])).toString('base64url');
}

function parseCursor(text: string): QueueCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (
      typeof at === 'string' &&
      /^\d{4}-\d\d-\d\d[ T][\d:.]+([+-]\d\d(:?\d\d)?|Z)?$/.test(at) &&
      typeof id === 'number' &&
      Number.isSafeInteger(id)
    )
      return { at, id };
  } catch {
    // falls through to the refusal
  }
  throw new TakedownError(
    'invalid-cursor',
    'The cursor is not one this API gave out: pass `nextCursor` from the previous page as it is.',
    { details: { field: 'cursor' } },
  );
}

/** What the bytes are, whatever the server that served them claimed. */
function contentType(bytes: Uint8Array): string {
  const found = sniff(bytes.subarray(0, 512));
  if (found.kind === 'image') return `image/${found.format}`;
  if (found.kind === 'video') return VIDEO_TYPES[found.format] ?? 'application/octet-stream';
  return 'application/octet-stream';
}

const VIDEO_TYPES: Readonly<Record<string, string>> = {
  mp4: 'video/mp4',
  quicktime: 'video/quicktime',
  '3gp': 'video/3gpp',
  webm: 'video/webm',
  matroska: 'video/x-matroska',
  avi: 'video/x-msvideo',
  flv: 'video/x-flv',
  'mpeg-ts': 'video/mp2t',
  mpeg: 'video/mpeg',
  ogg: 'video/ogg',
  asf: 'video/x-ms-asf',
};

/** A greyscale, heavily blurred JPEG of an image, for looking without seeing. */
async function blur(bytes: Uint8Array, deps: AppDeps): Promise<Buffer> {
  try {
    return await sharp(bytes, { limitInputPixels: deps.config.maxPixels })
      .rotate()
      .resize({ width: 800, height: 800, fit: 'inside', withoutEnlargement: true })
      .greyscale()
      .blur(24)
      .jpeg({ quality: 70 })
      .toBuffer();
  } catch (error) {
    throw new TakedownError(
      'cannot-blur',
      'This media cannot be shown blurred (it is not an image this server can decode); ask for view=original.',
      { cause: error },
    );
  }
}
