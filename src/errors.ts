/**
 * Errors that cross a boundary (CLI, HTTP, job runner) carry a stable machine
 * code and a sentence a person can act on. One place per boundary turns them
 * into exit codes or HTTP responses; nothing else formats errors.
 *
 * Browser-safe: imported by the hashing core.
 */

/** Which boundary-level outcome an error maps to. */
export type ErrorKind =
  | 'bad-input' // the caller sent something wrong: 400 / exit 2
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'conflict' // 409
  | 'too-large' // 413
  | 'rate-limited' // 429
  | 'unavailable' // 503: try again later
  | 'internal'; // 500: a bug, never a user's fault

export class TakedownError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  /** Extra, JSON-safe facts for the client (e.g. the offending field). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    message: string,
    options: { kind?: ErrorKind; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TakedownError';
    this.code = code;
    this.kind = options.kind ?? 'bad-input';
    this.details = options.details;
  }

  toJSON(): { code: string; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isTakedownError(value: unknown): value is TakedownError {
  return value instanceof TakedownError;
}
