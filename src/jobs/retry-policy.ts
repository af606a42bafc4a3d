import type { RetryPolicy } from './types.js';

/** Pure decisions about retrying: how long to wait, and which errors are passing weather. */

export const DEFAULT_RETRY: Required<RetryPolicy> = Object.freeze({
  maxAttempts: 10,
  baseDelayMs: 1_000,
  maxDelayMs: 60 * 60 * 1_000,
});

/**
 * The wait after failed run number `attempt` (1-based): exponential
 * (base, 2×base, 4×base … capped), then "equal jitter": half of it fixed,
 * half random, so that jobs that failed together (a site or the database
 * went down) do not all come back in the same instant.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy = {},
  random: () => number = Math.random,
): number {
  const base = policy.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = policy.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const exponential = Math.min(cap, base * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/**
 * PostgreSQL and socket errors that say "try again in a moment", not "this
 * is wrong": the idea of Graphile Worker's RETRYABLE_ERROR_CODES. The
 * runner's own queries (claim, complete, fail, heartbeat) are retried on
 * these instead of crashing the worker or losing a finished job's result.
 */
const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57P01', // admin_shutdown (server restarting)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
]);

/** Class 08: connection exception (08000, 08003, 08006, 08001, 08004 …). */
const RETRYABLE_SQLSTATE_CLASSES: readonly string[] = ['08'];

const RETRYABLE_SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND', // a database host name that briefly fails to resolve
]);

/** node-postgres reports a dropped or unobtainable connection by message only. */
const RETRYABLE_MESSAGES: readonly RegExp[] = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /Connection ended unexpectedly/i,
];

export function isTransientDatabaseError(error: unknown): boolean {
  for (let cause = error, depth = 0; cause !== undefined && depth < 5; depth += 1) {
    if (typeof cause !== 'object' || cause === null) return false;
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (RETRYABLE_SQLSTATES.has(code) || RETRYABLE_SOCKET_CODES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && RETRYABLE_SQLSTATE_CLASSES.includes(code.slice(0, 2)))
        return true;
    }
    if (typeof message === 'string' && RETRYABLE_MESSAGES.some((pattern) => pattern.test(message)))
      return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** One line for `last_error`: the message and its causes, without stacks, bounded. */
export function describeError(error: unknown, limit = 2_000): string {
  const parts: string[] = [];
  for (let cause = error, depth = 0; cause !== undefined && depth < 4; depth += 1) {
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      parts.push(`${cause.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${cause.message}`);
      cause = cause.cause;
    } else {
      parts.push(String(cause));
      break;
    }
  }
  const text = parts.join(' <- caused by ');
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}
