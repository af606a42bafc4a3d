import { z } from '@hono/zod-openapi';
import { AGE_GROUPS, CLASSIFICATIONS, GENDERS, SITE_TYPES } from '../assess/assessment.js';
import { text } from './text-schemas.js';

/** Request and response schemas of the analyst queue (queue-routes.ts). */

export const MAX_ASSESSMENT_NOTE = 4000;

/** awaiting-first: nobody assessed it yet. awaiting-second-opinion: four eyes, one illegal assessment in. disputed: a supervisor decides. */
export const QUEUE_STATES = ['awaiting-first', 'awaiting-second-opinion', 'disputed'] as const;

export const QueueQuerySchema = z
  .object({
    host: text(253).optional().openapi({
      description: 'Only items of cases on this host (the reported URL’s host, lower case).',
    }),
    claimed: z.enum(['mine', 'unclaimed', 'any']).optional().openapi({
      description:
        'mine: items you hold; unclaimed: items nobody holds (or whose claim expired). Default any.',
    }),
    state: z.enum(QUEUE_STATES).optional(),
    order: z.enum(['oldest', 'newest']).optional().openapi({ description: 'Default oldest.' }),
    cursor: z.string().max(200).optional().openapi({
      description: '`nextCursor` of the previous page.',
    }),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: 'Default 50.' }),
  })
  .strict();

const Hashes = z
  .object({
    md5: z.string().nullable(),
    sha1: z.string().nullable(),
    sha256: z.string().nullable(),
    pdq: z.string().nullable(),
    pdqQuality: z.number().nullable(),
  })
  .openapi('ItemHashes');

const Claim = z
  .object({
    by: z.string().openapi({ description: 'Who holds it: "user:12", "key:7".' }),
    name: z.string().nullable().openapi({ description: 'Their e-mail address, for a person.' }),
    until: z.string(),
  })
  .nullable()
  .openapi('QueueClaim');

export const QueueRowSchema = z
  .object({
    id: z.number(),
    caseId: z.number(),
    caseUrl: z.string(),
    host: z.string(),
    mediaUrl: z.string(),
    sniffed: z.string().nullable(),
    sizeBytes: z.number().nullable(),
    queuedAt: z.string().nullable(),
    reportCount: z.number(),
    state: z.enum(QUEUE_STATES),
    claim: Claim,
    hashes: Hashes,
  })
  .openapi('QueueItem');

export const QueuePageSchema = z
  .object({ items: z.array(QueueRowSchema), nextCursor: z.string().nullable() })
  .openapi('QueuePage');

export const ClaimResponseSchema = z
  .object({
    id: z.number(),
    claim: z.object({ by: z.string(), name: z.string().nullable(), until: z.string() }),
  })
  .openapi('QueueClaimResult');

export const ReleaseResponseSchema = z
  .object({ id: z.number(), released: z.literal(true) })
  .openapi('QueueReleaseResult');

export const NewAssessmentSchema = z
  .object({
    classification: z.enum(CLASSIFICATIONS).openapi({
      description:
        'baseline: illegal in every country (INTERPOL baseline criteria). national: illegal under this country’s law. doubtful: cannot be decided. not-illegal.',
    }),
    ageGroup: z.enum(AGE_GROUPS),
    gender: z.enum(GENDERS),
    virtual: z.boolean().openapi({ description: 'Virtual or AI-generated material.' }),
    siteType: z.enum(SITE_TYPES),
    commercial: z.boolean().openapi({ description: 'Sold, or behind a payment.' }),
    note: text(MAX_ASSESSMENT_NOTE).optional(),
  })
  .strict()
  .openapi('NewAssessment');

export const AssessmentSchema = z
  .object({
    id: z.number(),
    itemId: z.number(),
    assessor: z.string(),
    assessorName: z.string().nullable(),
    classification: z.enum(CLASSIFICATIONS),
    ageGroup: z.enum(AGE_GROUPS),
    gender: z.enum(GENDERS),
    virtual: z.boolean(),
    siteType: z.enum(SITE_TYPES),
    commercial: z.boolean(),
    note: z.string(),
    effect: z.enum(['final', 'second-opinion', 'disputed']).openapi({
      description:
        'final: this assessment decided the item. second-opinion: four eyes; the item waits for another analyst. disputed: it disagrees with the first; a supervisor decides.',
    }),
    createdAt: z.string(),
  })
  .openapi('Assessment');

export const AssessmentResultSchema = z
  .object({
    assessment: AssessmentSchema,
    item: z.object({
      id: z.number(),
      state: z.string(),
      queueState: z.enum(QUEUE_STATES).nullable(),
      classification: z.string().nullable(),
    }),
    ownBank: z
      .object({
        queued: z.literal(true),
        bank: z.string(),
        jobId: z.number(),
      })
      .nullable()
      .openapi({
        description:
          'A final illegal decision: the own bank its hashes go to. They are added by the job `jobId` (own-bank-feed), which committed with the decision; null otherwise.',
      }),
  })
  .openapi('AssessmentResult');

export const ItemDetailSchema = z
  .object({
    id: z.number(),
    url: z.string(),
    foundAs: z.string(),
    via: z.array(z.string()),
    state: z.string(),
    queueState: z.enum(QUEUE_STATES).nullable(),
    claim: Claim,
    queuedAt: z.string().nullable(),
    fetch: z.object({
      kind: z.string().nullable(),
      status: z.number().nullable(),
      message: z.string().nullable(),
      finalUrl: z.string().nullable(),
      address: z.string().nullable(),
      contentType: z.string().nullable(),
      sniffed: z.string().nullable(),
      fetchedAt: z.string().nullable(),
    }),
    sizeBytes: z.number().nullable(),
    imageFormat: z.string().nullable(),
    hashError: z.string().nullable(),
    hashes: Hashes,
    classification: z.string().nullable(),
    classifiedBy: z.string().nullable(),
    classifiedAt: z.string().nullable(),
    media: z.object({
      available: z.boolean(),
      storedAt: z.string().nullable(),
      deletedAt: z.string().nullable(),
    }),
    case: z.object({
      id: z.number(),
      url: z.string(),
      host: z.string(),
      state: z.string(),
      reportCount: z.number(),
      firstReportedAt: z.string(),
      lastReportedAt: z.string(),
      classification: z.string().nullable(),
    }),
    reports: z.array(
      z.object({
        id: z.number(),
        channel: z.string(),
        providerId: z.number().nullable(),
        submittedBy: z.string(),
        reference: z.string().nullable(),
        description: z.string(),
        receivedAt: z.string(),
      }),
    ),
    matches: z.array(
      z.object({
        bank: z.string(),
        category: z.string(),
        signalType: z.string(),
        distance: z.number(),
        decisive: z.boolean(),
        matchedAt: z.string(),
      }),
    ),
    identical: z
      .array(
        z.object({
          id: z.number(),
          caseId: z.number(),
          url: z.string(),
          classification: z.string().nullable(),
          classifiedBy: z.string().nullable(),
          classifiedAt: z.string().nullable(),
        }),
      )
      .openapi({ description: 'Earlier decisions on media with the same SHA-256.' }),
    assessments: z.array(AssessmentSchema),
  })
  .openapi('QueueItemDetails');

export const FourEyesSchema = z
  .object({
    enabled: z.boolean(),
    changedBy: z.string().nullable(),
    changedAt: z.string().nullable(),
  })
  .openapi('FourEyesSetting');

export const FourEyesUpdateSchema = z.object({ enabled: z.boolean() }).strict();
