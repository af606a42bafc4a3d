import { z } from '@hono/zod-openapi';
import type { ApiApp } from './types.js';

/**
 * Pieces every route definition reuses, and the document itself. Later
 * routes describe themselves with `createRoute({ ..., responses: {
 * 200: jsonContent(Schema, '...'), ...errorResponses(400, 401) } })`.
 */

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z
        .string()
        .openapi({ description: 'Stable machine-readable code, e.g. `invalid-request`.' }),
      message: z.string().openapi({ description: 'What went wrong, in a sentence for people.' }),
      details: z.record(z.string(), z.unknown()).optional().openapi({
        description: 'Facts about the problem, e.g. the fields that failed validation.',
      }),
    }),
  })
  .openapi('Error');

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'The request is malformed or fails validation (`invalid-json`, `invalid-request`, ...).',
  401: 'Missing or invalid credentials.',
  403: 'The credentials do not allow this.',
  404: 'No such resource.',
  409: 'Conflicts with the current state.',
  413: 'The request body is too large.',
  429: 'Too many requests; retry after the time in `Retry-After`.',
  503: 'Temporarily unavailable; try again.',
};

export function errorResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      jsonContent(ErrorSchema, ERROR_DESCRIPTIONS[status] ?? 'Error.'),
    ]),
  ) as Record<S, ReturnType<typeof jsonContent<typeof ErrorSchema>>>;
}

/** The OpenAPI 3.1 document of everything registered on `app` with `app.openapi()`. */
export function apiDocument(
  app: ApiApp,
  version: string,
): ReturnType<ApiApp['getOpenAPI31Document']> {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Takedown API',
      version,
      description:
        'Takedown gets known child sexual abuse material off the internet: hash matching, notice and takedown. ' +
        'Every error response has the body `{ "error": { "code", "message", "details"? } }`; ' +
        'every response carries an `X-Request-Id` to quote when reporting a problem.',
      license: { name: 'BSD-3-Clause' },
    },
  });
}
