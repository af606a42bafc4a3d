import type { Context, TypedResponse } from 'hono';
import type { z } from '@hono/zod-openapi';
import { Counter, Gauge } from 'prom-client';
import { describePrincipal } from '../access/principal.js';
import type { Principal } from '../access/principal.js';
import type { Asker, CheckResult, PreparedHash } from '../check/check.js';
import { checkHashes, checkHashesWith, prepareHashes } from '../check/check.js';
import type { HashCheck } from '../check/service.js';
import { hashCheckFor } from '../check/service.js';
import { TakedownError } from '../errors.js';
import { hashBytes } from '../hash/file/hash-file.js';
import { pdqHexToWords } from '../hash/pdq-hash.js';
import type { PdqIndex } from '../match/index.js';
import { secureRoute } from './access.js';
import {
  CheckRequestSchema,
  CheckResponseSchema,
  ImageCheckQuerySchema,
  ImageCheckResponseSchema,
  readCheckRequest,
} from './check-schemas.js';
import type { CheckRequest } from './check-schemas.js';
import { errorResponses, jsonContent } from './openapi.js';
import type { AppDeps, AppEnv, RouteModule } from './types.js';

/**
 * The hash-check API for providers: hashes (or an image, hashed in memory
 * and discarded) in, the banks they match out. Kept lean: at 10,000 requests
 * a second everything here is on the hot path; the only database work is the
 * match recorder's batched write.
 */

const tags = ['Hash check'];

const check = secureRoute('hashes:check', {
  method: 'post',
  path: '/v1/check',
  tags,
  summary: 'Check hashes against the banks',
  description:
    'Send the hashes of your files (MD5, SHA-1, SHA-256 of the bytes; PDQ for images) and learn which are known abuse material. ' +
    "Each result lists the banks that hold the hash, with the bank's category and the distance. " +
    "Hashes that match nothing are not stored or logged; matches are recorded for the hotline's statistics (your key, the hash, the bank, the time). " +
    'Authenticate with `Authorization: Bearer <key>`. Each key has a rate limit in hashes per second; over it the answer is 429 with `Retry-After`.',
  request: {
    body: { content: { 'application/json': { schema: CheckRequestSchema } }, required: true },
  },
  responses: {
    200: jsonContent(CheckResponseSchema, 'One result per hash, in the order sent.'),
    ...errorResponses(400, 401, 403, 413, 429, 503),
  },
});

const checkImage = secureRoute('hashes:check', {
  method: 'post',
  path: '/v1/check/image',
  tags,
  summary: 'Check an image against the banks',
  description:
    'Upload one image (the raw bytes, as `image/*` or `application/octet-stream`, or a multipart form with the file in the field `image`). ' +
    'It is hashed in memory (MD5, SHA-1, SHA-256 and PDQ) and discarded: it is never written to disk or to a log. The hashes are then checked like `POST /v1/check`. ' +
    'Add `?variants=true` to also find rotated and mirrored copies. Uploads over the size limit get 413.',
  request: {
    query: ImageCheckQuerySchema,
    // Plain schemas, not zod: a zod form schema would make every upload go
    // through the form parser. The handler reads the bytes itself.
    body: {
      content: {
        'image/*': { schema: { type: 'string', format: 'binary' } },
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: {
              image: { type: 'string', format: 'binary', description: 'The image file.' },
            },
            required: ['image'],
          },
        },
      },
      required: true,
    },
  },
  responses: {
    200: jsonContent(ImageCheckResponseSchema, "The upload's hashes and what they match."),
    ...errorResponses(400, 401, 403, 413, 429, 503),
  },
});

export const checkRoutes: RouteModule = {
  name: 'hash-check',
  bodyLimits: (deps) => ({ 'POST /v1/check/image': deps.config.checkMaxUploadBytes }),
  register(app, deps) {
    const metrics = checkMetrics(deps);
    const answer = async (c: Context<AppEnv>, body: CheckRequest): Promise<CheckJsonResponse> => {
      const service = running(c, deps);
      const prepared = prepareHashes(body.hashes);
      const principal = c.get('principal');
      takeTokens(c, service, principal, 'hashes', prepared.length);
      const matcher = service.matcher.matcher;
      const options = {
        threshold: body.threshold,
        asker: asker(principal),
        via: 'hashes' as const,
        now: deps.clock.now(),
      };
      // PDQ searches go to worker threads (every core; this thread stays on
      // HTTP) when the batch or the bank is large.
      const threads = service.threads;
      const pdqIndexes = matcher.parts().pdq;
      let outcome;
      if (threads.wants(countPdq(prepared), pdqEntries(pdqIndexes))) {
        threads.prune(pdqIndexes.values());
        outcome = await checkHashesWith(matcher, prepared, options, threads.search);
      } else {
        outcome = checkHashes(matcher, prepared, options);
      }
      service.recorder.record(outcome.records);
      metrics.hashes.inc({ via: 'hashes' }, prepared.length);
      if (outcome.matched > 0) metrics.matched.inc({ via: 'hashes' }, outcome.matched);
      // What c.json(...) would send, typed so: the same bytes, the same header.
      const response: Response = c.body(checkResponseJson(outcome.results), 200, JSON_TYPE);
      return response as CheckJsonResponse;
    };
    app.openapi(
      // The common request takes a short cut past the zod validator (see
      // `fastBody`); anything else goes the documented way, with its errors.
      {
        ...check,
        middleware: async (c, next) => {
          const body = await fastBody(c);
          return body === undefined ? next() : answer(c, body);
        },
      },
      async (c) => answer(c, c.req.valid('json')),
    );

    app.openapi(checkImage, async (c) => {
      const service = running(c, deps);
      const principal = c.get('principal');
      const query = c.req.valid('query');
      takeTokens(c, service, principal, 'images', 1);
      const bytes = await uploadBytes(c);
      const variants = query.variants === 'true';
      const hashed = await hashBytes(bytes, {
        variants,
        maxPixels: deps.config.maxPixels,
        maxImageBytes: deps.config.maxImageBytes,
      });
      const prepared: PreparedHash[] = [];
      for (const type of ['md5', 'sha1', 'sha256'] as const) {
        const value = hashed[type];
        if (value !== undefined) prepared.push({ type, value, query: { type, value } });
      }
      if (hashed.pdq !== undefined) {
        const words =
          variants && hashed.pdqVariants !== undefined
            ? Object.values(hashed.pdqVariants).map((hex) => pdqHexToWords(hex))
            : [pdqHexToWords(hashed.pdq)];
        prepared.push({
          type: 'pdq',
          value: hashed.pdq,
          quality: hashed.pdqQuality,
          query: { type: 'pdq', words },
        });
      }
      const outcome = checkHashes(service.matcher.matcher, prepared, {
        threshold: query.threshold,
        asker: asker(principal),
        via: 'image',
        now: deps.clock.now(),
      });
      service.recorder.record(outcome.records);
      metrics.hashes.inc({ via: 'image' }, prepared.length);
      if (outcome.matched > 0) metrics.matched.inc({ via: 'image' }, outcome.matched);
      const image = {
        bytes: bytes.length,
        ...(hashed.format === undefined ? {} : { format: hashed.format }),
        ...(hashed.error === undefined
          ? {}
          : { error: { code: hashed.error.code, message: hashed.error.message } }),
      };
      return c.json({ image, results: outcome.results }, 200);
    });
  },
};

type CheckJsonResponse = Response & TypedResponse<z.infer<typeof CheckResponseSchema>, 200, 'json'>;

const JSON_TYPE = { 'Content-Type': 'application/json' } as const;

/**
 * A body `CheckRequestSchema` would accept as it is, read without zod:
 * JSON by its Content-Type, parsed, and checked by `readCheckRequest`.
 * `undefined` means "not sure" (another content type, bad JSON, a field
 * out of line): the route's validators then read the body again (Hono
 * keeps it) and answer as they always do.
 */
async function fastBody(c: Context<AppEnv>): Promise<CheckRequest | undefined> {
  const type = c.req.header('content-type');
  if (type === undefined || !JSON_MEDIA_TYPE.test(type)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await c.req.text());
  } catch {
    return undefined;
  }
  return readCheckRequest(parsed);
}

/** Plain JSON, which both the media-type gate and the validator accept (others: their call). */
const JSON_MEDIA_TYPE = /^application\/json(;\s*charset=utf-8)?$/i;

/**
 * `JSON.stringify({ results })`, the same bytes, written directly: every
 * value is a checked hex string, a type name, a number or a boolean, except
 * bank names and categories, which are quoted by JSON.stringify. The
 * generic way cost about 6% of a 1,000-hash request (profile, SHA-256).
 */
export function checkResponseJson(results: readonly CheckResult[]): string {
  let text = '{"results":[';
  for (let i = 0; i < results.length; i++) {
    const result = results[i];
    text += `${i === 0 ? '' : ','}{"type":"${result.type}","value":${JSON.stringify(result.value)}`;
    if (result.quality !== undefined) text += `,"quality":${result.quality}`;
    if (result.reliable !== undefined) text += `,"reliable":${result.reliable}`;
    text += ',"matches":[';
    const matches = result.matches;
    for (let m = 0; m < matches.length; m++) {
      const match = matches[m];
      text += `${m === 0 ? '' : ','}{"bank":${JSON.stringify(match.bank)},"category":${JSON.stringify(match.category)},"distance":${match.distance}}`;
    }
    text += ']}';
  }
  return `${text}]}`;
}

function countPdq(prepared: readonly PreparedHash[]): number {
  let n = 0;
  for (const hash of prepared) if (hash.type === 'pdq') n++;
  return n;
}

function pdqEntries(indexes: ReadonlyMap<number, PdqIndex>): number {
  let n = 0;
  for (const index of indexes.values()) n += index.size;
  return n;
}

/** The service, loaded; else 503 (the server is starting, or this app was made without one). */
function running(c: Context<AppEnv>, deps: AppDeps): HashCheck {
  const service = hashCheckFor(deps.db);
  if (service !== undefined && service.matcher.loaded) return service;
  c.header('Retry-After', '5');
  throw new TakedownError(
    'matcher-loading',
    service === undefined
      ? 'The hash-check service is not running in this server process.'
      : 'The matcher is still loading the banks; try again in a few seconds.',
    { kind: 'unavailable' },
  );
}

function takeTokens(
  c: Context<AppEnv>,
  service: HashCheck,
  principal: Principal,
  what: 'hashes' | 'images',
  cost: number,
): void {
  const config = service.config;
  const key = principal.kind === 'api-key' ? service.keys.activeKey(principal.keyId) : undefined;
  const limit =
    what === 'hashes'
      ? {
          perSecond: key?.hashesPerSecond ?? config.checkHashesPerSecond,
          burst: config.checkBurstHashes,
        }
      : {
          perSecond: key?.imagesPerSecond ?? config.checkImagesPerSecond,
          burst: config.checkBurstImages,
        };
  const buckets = what === 'hashes' ? service.hashLimits : service.imageLimits;
  const taken = buckets.take(describePrincipal(principal), cost, limit);
  if (taken.ok) return;
  c.header('Retry-After', String(taken.retryAfterSeconds));
  throw new TakedownError(
    'rate-limited',
    `This key may check ${limit.perSecond.toLocaleString('en')} ${what} per second (bursts up to ${limit.burst.toLocaleString('en')}); try again in ${taken.retryAfterSeconds} s.`,
    {
      kind: 'rate-limited',
      details: {
        retryAfterSeconds: taken.retryAfterSeconds,
        perSecond: limit.perSecond,
        burst: limit.burst,
      },
    },
  );
}

function asker(principal: Principal): Asker {
  return {
    principal: describePrincipal(principal),
    keyId: principal.kind === 'api-key' ? principal.keyId : null,
    providerId:
      principal.kind === 'api-key' || principal.kind === 'user' ? principal.providerId : null,
  };
}

/** The upload's bytes, raw or from the form's `image` field. Never written anywhere. */
async function uploadBytes(c: Context<AppEnv>): Promise<Uint8Array> {
  const type = (c.req.header('content-type') ?? 'application/octet-stream').toLowerCase();
  let bytes: Uint8Array;
  if (type.startsWith('multipart/form-data')) {
    const form = await c.req.parseBody();
    const file = form.image;
    if (!(file instanceof File)) {
      throw new TakedownError(
        'no-image-field',
        'The form has no file in the field "image": send it as image=@photo.jpg.',
      );
    }
    bytes = new Uint8Array(await file.arrayBuffer());
  } else if (type.startsWith('image/') || type.startsWith('application/octet-stream')) {
    bytes = new Uint8Array(await c.req.arrayBuffer());
  } else {
    throw new TakedownError(
      'unsupported-media-type',
      'Send the image as the request body (Content-Type image/* or application/octet-stream), or as the field "image" of a multipart form.',
    );
  }
  if (bytes.length === 0) {
    throw new TakedownError(
      'empty-upload',
      "The upload is empty: send the image's bytes as the request body.",
    );
  }
  return bytes;
}

function checkMetrics(deps: AppDeps): { hashes: Counter<'via'>; matched: Counter<'via'> } {
  const registers = [deps.metrics.registry];
  const hashes = new Counter({
    name: 'takedown_check_hashes_total',
    help: 'Hashes checked through the hash-check API (an image upload counts its 4 hashes).',
    labelNames: ['via'],
    registers,
  });
  const matched = new Counter({
    name: 'takedown_check_matched_hashes_total',
    help: 'Checked hashes that matched at least one bank.',
    labelNames: ['via'],
    registers,
  });
  new Gauge({
    name: 'takedown_matcher_entries',
    help: "Bank entries in this process's matcher, by signal type.",
    labelNames: ['type'],
    registers,
    collect() {
      const service = hashCheckFor(deps.db);
      if (service === undefined || !service.matcher.loaded) return;
      for (const [type, n] of Object.entries(service.matcher.matcher.stats().entries))
        this.set({ type }, n);
    },
  });
  return { hashes, matched };
}
