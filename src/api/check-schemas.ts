import { z } from '@hono/zod-openapi';
import { MAX_PDQ_THRESHOLD } from '../banks/banks.js';
import { MAX_HASHES_PER_REQUEST } from '../check/check.js';
import { SIGNAL_TYPES } from '../hash/signal.js';

/** Request and response schemas of the hash-check API: they validate, type and document it. */

const thresholdDescription =
  `Largest PDQ Hamming distance (in bits, 0-${MAX_PDQ_THRESHOLD}) that counts as a match, for every bank. ` +
  "Leave it out to use each bank's own threshold (31, Meta's recommendation, unless the hotline set another). " +
  'Higher values find more altered copies and more false matches, and are slower.';

export const ThresholdSchema = z
  .number()
  .int()
  .min(0)
  .max(MAX_PDQ_THRESHOLD)
  .openapi({ description: thresholdDescription, example: 31 });

export const HashToCheckSchema = z
  .object({
    type: z.enum(SIGNAL_TYPES).openapi({
      description:
        "The kind of hash: `pdq` (Meta's perceptual image hash, matched by Hamming distance), or `md5`, `sha1`, `sha256` (the file's bytes, matched exactly).",
    }),
    value: z.string().max(200).openapi({
      description:
        'The hash in hexadecimal (upper or lower case): 64 digits for pdq and sha256, 32 for md5, 40 for sha1.',
      example: 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22',
    }),
    quality: z.number().int().min(0).max(100).optional().openapi({
      description:
        'For pdq: the quality score your hasher reported with the hash (0-100). When given, the result says whether the hash is reliable (quality 50 or more); an unreliable hash is still checked.',
      example: 87,
    }),
  })
  .openapi('HashToCheck');

export const CheckRequestSchema = z
  .object({
    hashes: z
      .array(HashToCheckSchema)
      .min(1)
      .openapi({
        description: `The hashes to check, 1 to ${MAX_HASHES_PER_REQUEST.toLocaleString('en')} per request (more: 413 \`too-many-hashes\`).`,
        maxItems: MAX_HASHES_PER_REQUEST,
      }),
    threshold: ThresholdSchema.optional(),
  })
  .openapi('CheckRequest');

export const MatchSchema = z
  .object({
    bank: z.string().openapi({
      description: 'The bank (hash list) that holds a matching hash.',
      example: 'police-nl',
    }),
    category: z.string().openapi({
      description:
        'What a match in this bank means, as the hotline labelled it (e.g. `baseline`: illegal in every country). Empty when unlabelled.',
      example: 'baseline',
    }),
    distance: z.number().int().openapi({
      description:
        'Hamming distance in bits between your hash and the closest entry of this bank (pdq); always 0 for md5, sha1 and sha256.',
      example: 4,
    }),
  })
  .openapi('Match');

export const CheckResultSchema = z
  .object({
    type: z
      .enum(SIGNAL_TYPES)
      .openapi({ description: "The hash's type, as sent (or as computed from an upload)." }),
    value: z.string().openapi({ description: 'The hash, in lower-case hexadecimal.' }),
    quality: z.number().int().optional().openapi({
      description:
        "pdq only, when known (sent with the hash, or computed from an upload): the hash's quality, 0-100.",
    }),
    reliable: z.boolean().optional().openapi({
      description:
        'pdq only, with `quality`: false when the quality is below 50 (a flat or featureless image, whose hash matches unrelated images). Treat its matches with care.',
    }),
    matches: z.array(MatchSchema).openapi({
      description:
        'One entry per bank that holds this hash (for pdq: within the threshold), closest first; empty when it matches nothing.',
    }),
  })
  .openapi('CheckResult');

export const CheckResponseSchema = z
  .object({
    results: z
      .array(CheckResultSchema)
      .openapi({ description: 'One result per hash, in the order they were sent.' }),
  })
  .openapi('CheckResponse');

export const ImageCheckQuerySchema = z.object({
  variants: z
    .enum(['true', 'false'])
    .optional()
    .openapi({
      param: { name: 'variants', in: 'query' },
      description:
        "true: also match rotated and mirrored copies: the image's 8 dihedral PDQ hashes are searched, and each bank reports its smallest distance to any of them.",
    }),
  threshold: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_PDQ_THRESHOLD)
    .optional()
    .openapi({ param: { name: 'threshold', in: 'query' }, description: thresholdDescription }),
});

export const ImageCheckResponseSchema = z
  .object({
    image: z
      .object({
        bytes: z.number().int().openapi({ description: 'Size of the upload.' }),
        format: z.string().optional().openapi({
          description:
            'The image format recognised in the upload (jpeg, png, webp, gif, heif, ...).',
        }),
        error: z.object({ code: z.string(), message: z.string() }).optional().openapi({
          description:
            'Why the upload has no PDQ hash (not an image, damaged, too large to decode): its md5, sha1 and sha256 are still checked.',
        }),
      })
      .openapi({
        description:
          'What was learned from the upload. The upload itself was hashed in memory and discarded.',
      }),
    results: z.array(CheckResultSchema).openapi({
      description:
        'md5, sha1 and sha256 of the upload, then its pdq hash (with its quality) when it is an image we can decode.',
    }),
  })
  .openapi('ImageCheckResponse');

export type CheckRequest = z.infer<typeof CheckRequestSchema>;

const SIGNAL_TYPE_SET: ReadonlySet<unknown> = new Set(SIGNAL_TYPES);

const isIntIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/**
 * `CheckRequestSchema`'s answer for the requests it accepts, without zod:
 * the same fields copied (unknown ones dropped, as zod does); `undefined`
 * for anything it is not sure of, which then goes through the schema for
 * the exact error. At 1,000 hashes a request zod's per-field checks are a
 * visible share of the cost. `check-schemas.test.ts` holds the two to the
 * same answers.
 */
export function readCheckRequest(value: unknown): CheckRequest | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { hashes, threshold } = value as { hashes?: unknown; threshold?: unknown };
  if (threshold !== undefined && !isIntIn(threshold, 0, MAX_PDQ_THRESHOLD)) return undefined;
  if (!Array.isArray(hashes) || hashes.length === 0) return undefined;
  const out: CheckRequest['hashes'] = new Array(hashes.length);
  for (let i = 0; i < hashes.length; i++) {
    const hash: unknown = hashes[i];
    if (typeof hash !== 'object' || hash === null || Array.isArray(hash)) return undefined;
    const { type, value: text, quality } = hash as Record<string, unknown>;
    if (!SIGNAL_TYPE_SET.has(type) || typeof text !== 'string' || text.length > 200)
      return undefined;
    const signal = type as CheckRequest['hashes'][number]['type'];
    if (quality === undefined) out[i] = { type: signal, value: text };
    else if (isIntIn(quality, 0, 100)) out[i] = { type: signal, value: text, quality };
    else return undefined;
  }
  return threshold === undefined ? { hashes: out } : { hashes: out, threshold };
}
