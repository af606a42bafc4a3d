import { TakedownError } from '../errors.js';
import type { BankHit, HashChecker, HashQuery } from './types.js';

/**
 * `--server URL`: the hash-check API (`POST /v1/check`, `Authorization:
 * Bearer <key>`, body `{"hashes":[{"type","value"},…]}`, answers `results`
 * in order with `matches: [{bank, category, distance, …}]`). The body is
 * built from the type and value of each hash and nothing else: no paths,
 * names, sizes or bytes ever go into a request.
 */

/** The server's limit on hashes per request. */
export const SERVER_MAX_BATCH = 10_000;

export interface RetryPolicy {
  /** Further attempts after a network error, a timeout or a 5xx (not after a 429). */
  readonly retries: number;
  /** First back-off; doubled each time, plus up to 25% jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** 429s in a row before giving up, and the longest `Retry-After` honoured as such. */
  readonly maxRateLimitWaits: number;
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRateLimitWaits: 50,
  maxRetryAfterMs: 15 * 60_000,
};

/** What one attempt gave, reduced to what the retry decision needs. */
export type Attempt =
  | { readonly kind: 'network'; readonly message: string }
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string | null };

export type NextStep =
  | { readonly kind: 'wait'; readonly ms: number; readonly reason: 'rate-limited' | 'failed' }
  | { readonly kind: 'split' }
  | { readonly kind: 'give-up' };

/**
 * After a failed attempt: wait and try again, split the batch (the body was
 * too large for the server), or give up. `failures` and `rateLimited` count
 * the attempts of each kind so far, this one included. Pure.
 */
export function nextStep(
  attempt: Attempt,
  counts: { readonly failures: number; readonly rateLimited: number },
  policy: RetryPolicy,
  now: Date,
  random: () => number = Math.random,
): NextStep {
  if (attempt.kind === 'status' && attempt.status === 429) {
    if (counts.rateLimited > policy.maxRateLimitWaits) return { kind: 'give-up' };
    const asked = parseRetryAfter(attempt.retryAfter ?? null, now);
    const ms = Math.min(
      asked ?? backoff(counts.rateLimited, policy, random),
      policy.maxRetryAfterMs,
    );
    return { kind: 'wait', ms, reason: 'rate-limited' };
  }
  if (attempt.kind === 'status' && attempt.status === 413) return { kind: 'split' };
  const transient =
    attempt.kind === 'network' ||
    attempt.status >= 500 ||
    attempt.status === 408 ||
    attempt.status === 425;
  if (!transient || counts.failures > policy.retries) return { kind: 'give-up' };
  return { kind: 'wait', ms: backoff(counts.failures, policy, random), reason: 'failed' };
}

function backoff(n: number, policy: RetryPolicy, random: () => number): number {
  const base = Math.min(policy.baseDelayMs * 2 ** Math.max(0, n - 1), policy.maxDelayMs);
  return Math.round(base * (1 + random() * 0.25));
}

/** `Retry-After` as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** The API's address from what the user typed: a base URL, or the check URL itself. */
export function checkUrl(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new TakedownError(
      'invalid-server',
      `--server ${JSON.stringify(server)} is not a URL; give the hash-check service's address, e.g. https://hotline.example.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TakedownError('invalid-server', `--server must be an http(s) URL, got ${server}.`);
  }
  if (!/\/v1\/check\/?$/.test(url.pathname)) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/check`;
  }
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * Exactly the request body: the type and value of each hash, nothing else
 * (and the PDQ threshold, when the user chose one).
 */
export function requestBody(queries: readonly HashQuery[], threshold?: number): string {
  const hashes = queries.map((q) => ({ type: q.type, value: q.value }));
  return JSON.stringify(threshold === undefined ? { hashes } : { hashes, threshold });
}

/** Reads `results` from an answer; throws `bad-server-answer` when it is not what was asked. */
export function parseAnswer(body: unknown, expected: number): BankHit[][] {
  const results = (body as { results?: unknown } | null)?.results;
  if (!Array.isArray(results) || results.length !== expected) {
    throw badAnswer(`expected "results" with ${expected} entries`);
  }
  return results.map((result: unknown) => {
    const matches = (result as { matches?: unknown } | null)?.matches;
    if (!Array.isArray(matches)) throw badAnswer('a result has no "matches" list');
    return matches.map((m: unknown): BankHit => {
      const match = m as { bank?: unknown; category?: unknown; distance?: unknown } | null;
      const bank =
        typeof match?.bank === 'string'
          ? match.bank
          : (match?.bank as { name?: unknown } | undefined)?.name;
      if (typeof bank !== 'string' || typeof match?.distance !== 'number') {
        throw badAnswer('a match has no "bank" or "distance"');
      }
      const category = typeof match.category === 'string' ? match.category : '';
      return { bank, category, distance: match.distance };
    });
  });
}

function badAnswer(what: string): TakedownError {
  return new TakedownError(
    'bad-server-answer',
    `The hash-check server gave an answer this version does not understand (${what}). Is --server the right address, and is the server up to date?`,
    { kind: 'unavailable' },
  );
}

export interface ServerCheckerOptions {
  readonly server: string;
  readonly apiKey: string;
  /** Sent with every request when set: the server then uses it instead of each bank's threshold. */
  readonly threshold?: number;
  readonly policy?: RetryPolicy;
  readonly maxBatch?: number;
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  readonly fetch?: typeof globalThis.fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  /** Told about every wait, so the user sees why the scan paused. */
  readonly onWait?: (ms: number, reason: 'rate-limited' | 'failed', detail: string) => void;
}

export function serverChecker(options: ServerCheckerOptions): HashChecker {
  const url = checkUrl(options.server);
  const policy = options.policy ?? DEFAULT_RETRY;
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? 120_000;

  async function post(queries: readonly HashQuery[]): Promise<BankHit[][]> {
    const counts = { failures: 0, rateLimited: 0 };
    for (;;) {
      let attempt: Attempt;
      let detail: string;
      try {
        const res = await doFetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${options.apiKey}`,
            'content-type': 'application/json',
            accept: 'application/json',
            ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
          },
          body: requestBody(queries, options.threshold),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.ok) return parseAnswer(await res.json().catch(() => null), queries.length);
        const text = await res.text().catch(() => '');
        refuseFinal(res.status, text, url);
        attempt = {
          kind: 'status',
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
        };
        detail = `HTTP ${res.status}`;
      } catch (error) {
        if (error instanceof TakedownError) throw error;
        detail = networkDetail(error);
        attempt = { kind: 'network', message: detail };
      }
      if (attempt.kind === 'status' && attempt.status === 429) counts.rateLimited++;
      else counts.failures++;
      const step = nextStep(attempt, counts, policy, now());
      if (step.kind === 'split' && queries.length > 1) {
        const half = Math.ceil(queries.length / 2);
        return [...(await post(queries.slice(0, half))), ...(await post(queries.slice(half)))];
      }
      if (step.kind !== 'wait') throw unreachable(url, detail, counts);
      options.onWait?.(step.ms, step.reason, detail);
      await sleep(step.ms);
    }
  }

  return {
    maxBatch: Math.min(options.maxBatch ?? SERVER_MAX_BATCH, SERVER_MAX_BATCH),
    target: { kind: 'server', url: url.origin + url.pathname },
    check: (queries) => post(queries),
  };
}

/** Answers that no retry will change: a refused key, a wrong address, a request the server rejects. */
function refuseFinal(status: number, body: string, url: URL): void {
  const said = serverMessage(body);
  if (status === 401) {
    throw new TakedownError(
      'api-key-refused',
      `The hash-check server refused the API key (401${said}). Check --key or TAKEDOWN_API_KEY: it is the key the hotline issued to your organisation, copied whole.`,
      { kind: 'unauthorized' },
    );
  }
  if (status === 403) {
    throw new TakedownError(
      'api-key-forbidden',
      `The API key may not check hashes (403${said}). Ask the hotline for a key with the hash-check permission.`,
      { kind: 'forbidden' },
    );
  }
  if (status === 404 || status === 405) {
    throw new TakedownError(
      'no-check-api',
      `There is no hash-check API at ${url.href} (${status}). Check --server: it is the service's base address, e.g. https://hotline.example.`,
      { kind: 'unavailable' },
    );
  }
  if (
    status >= 400 &&
    status < 500 &&
    status !== 408 &&
    status !== 413 &&
    status !== 425 &&
    status !== 429
  ) {
    throw new TakedownError(
      'check-refused',
      `The hash-check server refused the request (${status}${said}).`,
      { kind: 'unavailable' },
    );
  }
}

function serverMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? `: ${message}` : '';
  } catch {
    return '';
  }
}

function networkDetail(error: unknown): string {
  const e = error as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

function unreachable(
  url: URL,
  detail: string,
  counts: { failures: number; rateLimited: number },
): TakedownError {
  const tries = counts.failures + counts.rateLimited;
  return new TakedownError(
    'server-unreachable',
    `The hash-check server at ${url.origin} could not be used (${detail}; ${tries} ${tries === 1 ? 'attempt' : 'attempts'}). The hashes done so far are saved: run the same command with --resume once the server is reachable.`,
    { kind: 'unavailable' },
  );
}
