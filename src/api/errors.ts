import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { TakedownError, isTakedownError } from '../errors.js';
import type { ErrorKind } from '../errors.js';

/**
 * The one place errors become HTTP responses. Every error body has the same
 * shape, `{ "error": { "code", "message", "details"? } }`; a code is stable
 * for clients to branch on, a message is a sentence for people. Stacks and
 * internals never leave the process: unexpected errors are logged and the
 * client gets a generic message with the request id to quote.
 */

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details?: Readonly<Record<string, unknown>>;
  };
}

export const STATUS_BY_KIND: Readonly<Record<ErrorKind, ContentfulStatusCode>> = {
  'bad-input': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'rate-limited': 429,
  unavailable: 503,
  internal: 500,
};

export interface ErrorResponse {
  readonly status: ContentfulStatusCode;
  readonly body: ErrorBody;
  /** Unexpected: log it with its stack. */
  readonly unexpected: boolean;
}

const body = (
  code: string,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): ErrorBody => ({
  error: details === undefined ? { code, message } : { code, message, details },
});

/** Hono's own exceptions (from its validators and middleware), by status. */
const HTTP_EXCEPTIONS: Readonly<Record<number, [string, string]>> = {
  400: ['bad-request', 'The request is malformed.'],
  401: ['unauthorized', 'Authentication is required.'],
  413: ['too-large', 'The request body is too large.'],
  415: ['unsupported-media-type', 'Send the request body as application/json.'],
};

export function errorResponse(error: unknown, requestId: string | undefined): ErrorResponse {
  if (isTakedownError(error)) {
    const status = STATUS_BY_KIND[error.kind];
    return {
      status,
      body: body(error.code, error.message, error.details),
      unexpected: status >= 500,
    };
  }
  if (error instanceof HTTPException) {
    // Hono's JSON validator says this, and nothing else does.
    if (error.status === 400 && /malformed json/i.test(error.message)) {
      return {
        status: 400,
        body: body('invalid-json', 'The request body is not valid JSON.'),
        unexpected: false,
      };
    }
    const [code, message] = HTTP_EXCEPTIONS[error.status] ?? [
      `http-${error.status}`,
      error.message || 'The request failed.',
    ];
    return {
      status: error.status as ContentfulStatusCode,
      body: body(code, message),
      unexpected: error.status >= 500,
    };
  }
  const reference = requestId === undefined ? '' : ` (request id ${requestId})`;
  return {
    status: 500,
    body: body('internal', `Something went wrong on our side${reference}; it has been logged.`),
    unexpected: true,
  };
}

/** A request that failed its schema: which part, and every problem with its field path. */
export function validationError(error: ZodError, target: string): TakedownError {
  const where =
    {
      json: 'body',
      form: 'form',
      query: 'query',
      param: 'path',
      header: 'header',
      cookie: 'cookie',
    }[target] ?? target;
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  const field = first?.path ? ` field ${first.path}` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more; see details)` : '';
  return new TakedownError(
    'invalid-request',
    `Request ${where}${field}: ${first?.message ?? 'invalid'}${more}.`,
    {
      details: { location: where, issues },
    },
  );
}
