import { z } from '@hono/zod-openapi';
import { MAX_DESCRIPTION_CHARS, MAX_REFERENCE_CHARS } from '../intake/intake.js';
import { MAX_URL_LENGTH } from '../intake/normalize-url.js';
import { REPORT_STATUSES } from '../intake/status.js';
import { text } from './text-schemas.js';

/** Request and response schemas of the report API (public form, partner batches, staff views). */

/** Hard cap of the schema; the configured TAKEDOWN_REPORT_MAX_URLS is checked after normalizing. */
const URLS_CAP = 1000;
export const MAX_BATCH_REPORTS = 500;

const Urls = z
  .array(text(MAX_URL_LENGTH))
  .min(1)
  .max(URLS_CAP)
  .openapi({
    description:
      'The addresses where you saw the material: http or https URLs of pages or of images and videos. At most 20 per report unless the hotline set another limit.',
    example: ['https://images.example/gallery/123', 'https://cdn.example/a/b.jpg'],
  });

export const ContactSchema = z
  .object({
    name: text(200).optional(),
    email: text(254)
      .regex(/^[^\s@]+@[^\s@]+$/, 'is not an e-mail address')
      .optional(),
    phone: text(50).optional(),
  })
  .strict()
  .openapi('ReporterContact', {
    description:
      'How the hotline may reach you, if you want it to. Optional; only the hotline staff who follow up reports can see it.',
  });

export const PublicReportSchema = z
  .object({
    urls: Urls,
    description: text(MAX_DESCRIPTION_CHARS).openapi({
      description: 'What you saw and where, in your own words (may be empty).',
    }),
    contact: ContactSchema.optional(),
    isVictim: z.boolean().optional().openapi({
      description: 'True if you are the person shown (or were, as a child). Optional.',
    }),
  })
  .strict()
  .openapi('PublicReport');

export const TrackingCodeSchema = z
  .object({
    trackingCode: z.string().openapi({
      description:
        'Keep this code: it is the only way to follow your report (GET /v1/reports/{code}). It is not linked to you.',
      example: 'K7QM-3XH9-TD2F',
    }),
  })
  .openapi('ReportReceived');

export const StatusSchema = z
  .object({
    status: z.enum(REPORT_STATUSES).openapi({
      description:
        'received: stored, work not started. in progress: being fetched, checked or looked at by an analyst. assessed: every URL has been assessed. action taken: a notice went to whoever hosts it. closed: nothing further will happen.',
    }),
  })
  .openapi('ReportStatus');

export const CodeParam = z.object({
  code: z.string().max(40).openapi({ example: 'K7QM-3XH9-TD2F' }),
});

export const BatchReportSchema = z
  .object({
    urls: Urls,
    description: text(MAX_DESCRIPTION_CHARS).optional(),
    reference: text(MAX_REFERENCE_CHARS).optional().openapi({
      description:
        'Your own id for the report. Sending the same reference again returns the first report instead of a new one, so a batch may be retried safely.',
    }),
  })
  .strict();

export const BatchSchema = z
  .object({ reports: z.array(BatchReportSchema).min(1).max(MAX_BATCH_REPORTS) })
  .strict()
  .openapi('ReportBatch');

const BatchResult = z.union([
  z.object({
    index: z.number(),
    trackingCode: z.string(),
    reference: z.string().optional(),
    duplicate: z
      .boolean()
      .openapi({ description: 'This reference was sent before: the first report.' }),
  }),
  z.object({
    index: z.number(),
    reference: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  }),
]);

export const BatchResponseSchema = z
  .object({
    accepted: z.number(),
    duplicates: z.number(),
    rejected: z.number(),
    results: z.array(BatchResult),
  })
  .openapi('ReportBatchResult');

export const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 53 - 1),
});

export const ReportDetailsSchema = z
  .object({
    id: z.number(),
    trackingCode: z.string(),
    channel: z.string(),
    providerId: z.number().nullable(),
    submittedBy: z.string(),
    reference: z.string().nullable(),
    description: z.string(),
    receivedAt: z.string(),
    status: z.enum(REPORT_STATUSES),
    hasContact: z.boolean(),
    cases: z.array(
      z.object({
        id: z.number(),
        url: z.string(),
        state: z.string(),
        reportCount: z.number(),
        fetch: z.object({
          kind: z.string().nullable(),
          status: z.number().nullable(),
          message: z.string().nullable(),
          sniffed: z.string().nullable(),
        }),
        mediaFound: z.number().nullable(),
        reviewReason: z.string().nullable(),
        rule: z.string().nullable(),
        classification: z.string().nullable(),
        closedAt: z.string().nullable(),
        items: z.record(z.string(), z.number()),
      }),
    ),
  })
  .openapi('ReportDetails');

export const ReportContactResponse = z
  .object({ contact: ContactSchema, isVictim: z.boolean() })
  .openapi('ReportContactDetails');
