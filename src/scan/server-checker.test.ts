import { describe, expect, it } from 'vitest';
import { isTakedownError } from '../errors.js';
import type { RetryPolicy } from './server-checker.js';
import {
  checkUrl,
  nextStep,
  parseAnswer,
  parseRetryAfter,
  requestBody,
  serverChecker,
} from './server-checker.js';

const policy: RetryPolicy = {
  retries: 2,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  maxRateLimitWaits: 3,
  maxRetryAfterMs: 60_000,
};
const now = new Date('2025-01-01T00:00:00Z');
const noJitter = () => 0;

describe('retry decisions', () => {
  it('backs off on network errors and 5xx, then gives up', () => {
    const network = { kind: 'network', message: 'ECONNREFUSED' } as const;
    expect(nextStep(network, { failures: 1, rateLimited: 0 }, policy, now, noJitter)).toEqual({
      kind: 'wait',
      ms: 100,
      reason: 'failed',
    });
    expect(
      nextStep(
        { kind: 'status', status: 503 },
        { failures: 2, rateLimited: 0 },
        policy,
        now,
        noJitter,
      ),
    ).toEqual({
      kind: 'wait',
      ms: 200,
      reason: 'failed',
    });
    expect(nextStep(network, { failures: 3, rateLimited: 0 }, policy, now)).toEqual({
      kind: 'give-up',
    });
  });

  it('waits as long as a 429 says, in seconds or as a date, without using up retries', () => {
    expect(
      nextStep(
        { kind: 'status', status: 429, retryAfter: '7' },
        { failures: 2, rateLimited: 1 },
        policy,
        now,
      ),
    ).toEqual({ kind: 'wait', ms: 7000, reason: 'rate-limited' });
    expect(
      nextStep(
        { kind: 'status', status: 429, retryAfter: 'Wed, 01 Jan 2025 00:00:30 GMT' },
        { failures: 0, rateLimited: 1 },
        policy,
        now,
      ),
    ).toEqual({ kind: 'wait', ms: 30_000, reason: 'rate-limited' });
    // Capped, and not forever.
    expect(
      nextStep(
        { kind: 'status', status: 429, retryAfter: '86400' },
        { failures: 0, rateLimited: 1 },
        policy,
        now,
      ),
    ).toMatchObject({ ms: 60_000 });
    expect(
      nextStep({ kind: 'status', status: 429 }, { failures: 0, rateLimited: 4 }, policy, now),
    ).toEqual({
      kind: 'give-up',
    });
  });

  it('splits a batch the server finds too large, and never retries a 4xx', () => {
    expect(
      nextStep({ kind: 'status', status: 413 }, { failures: 1, rateLimited: 0 }, policy, now),
    ).toEqual({
      kind: 'split',
    });
    expect(
      nextStep({ kind: 'status', status: 400 }, { failures: 1, rateLimited: 0 }, policy, now),
    ).toEqual({
      kind: 'give-up',
    });
  });

  it('reads Retry-After defensively', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(' 3 ', now)).toBe(3000);
  });
});

describe('the request and the answer', () => {
  it('puts only types and values in the body', () => {
    const query = { type: 'pdq', value: 'ab'.repeat(32), path: '/secret/name.jpg' } as never;
    expect(requestBody([query])).toBe(`{"hashes":[{"type":"pdq","value":"${'ab'.repeat(32)}"}]}`);
    expect(JSON.parse(requestBody([query], 20))).toEqual({
      hashes: [{ type: 'pdq', value: 'ab'.repeat(32) }],
      threshold: 20,
    });
  });

  it('finds the check endpoint from a base URL', () => {
    expect(checkUrl('https://hotline.example').href).toBe('https://hotline.example/v1/check');
    expect(checkUrl('https://hotline.example/api/').href).toBe(
      'https://hotline.example/api/v1/check',
    );
    expect(checkUrl('http://127.0.0.1:9/v1/check').href).toBe('http://127.0.0.1:9/v1/check');
    expect(() => checkUrl('hotline.example')).toThrow(/not a URL/);
    expect(() => checkUrl('ftp://hotline.example')).toThrow(/http/);
  });

  it('refuses answers that do not fit the question', () => {
    expect(
      parseAnswer(
        { results: [{ matches: [{ bank: 'b', category: 'c', distance: 3, id: 9 }] }] },
        1,
      ),
    ).toEqual([[{ bank: 'b', category: 'c', distance: 3 }]]);
    expect(() => parseAnswer({ results: [] }, 1)).toThrow(/does not understand/);
    expect(() => parseAnswer({ results: [{}] }, 1)).toThrow(/does not understand/);
    expect(() => parseAnswer(null, 1)).toThrow(/does not understand/);
  });
});

/** A fetch that answers from a script and records what it was asked. */
function scripted(answers: Array<Response | Error>) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetch = (async (url: URL, init: RequestInit) => {
    calls.push({ url: url.href, init });
    const next = answers.shift();
    if (next === undefined) throw new Error('no more answers');
    if (next instanceof Error) throw next;
    return next;
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

const ok = (n: number) =>
  Response.json({ results: Array.from({ length: n }, () => ({ matches: [] })) });
const q = (i: number) => ({ type: 'sha256', value: i.toString(16).padStart(64, '0') }) as const;

describe('the server checker', () => {
  it('retries a network error and a 503, sleeping in between, with the key as a bearer token', async () => {
    const sleeps: number[] = [];
    const { fetch, calls } = scripted([
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }),
      new Response('', { status: 503 }),
      ok(1),
    ]);
    const checker = serverChecker({
      server: 'http://127.0.0.1:1',
      apiKey: 'k-123',
      policy,
      fetch,
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(await checker.check([q(1)])).toEqual([[]]);
    expect(calls).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(new Headers(calls[0].init.headers).get('authorization')).toBe('Bearer k-123');
  });

  it('says clearly that the key was refused (401), without retrying', async () => {
    const { fetch, calls } = scripted([
      Response.json(
        { error: { code: 'invalid-api-key', message: 'That key is not valid.' } },
        { status: 401 },
      ),
    ]);
    const checker = serverChecker({ server: 'http://127.0.0.1:1', apiKey: 'bad', policy, fetch });
    const error = await checker.check([q(1)]).catch((e: unknown) => e);
    expect(isTakedownError(error) && error.code).toBe('api-key-refused');
    expect(String((error as Error).message)).toMatch(
      /refused the API key \(401: That key is not valid\.\).*TAKEDOWN_API_KEY/,
    );
    expect(calls).toHaveLength(1);
  });

  it('halves a batch the server calls too large and keeps the order', async () => {
    const { fetch, calls } = scripted([
      new Response('', { status: 413 }),
      Response.json({
        results: [{ matches: [] }, { matches: [{ bank: 'x', category: '', distance: 0 }] }],
      }),
      Response.json({ results: [{ matches: [{ bank: 'y', category: '', distance: 0 }] }] }),
    ]);
    const checker = serverChecker({ server: 'http://127.0.0.1:1', apiKey: 'k', policy, fetch });
    const answers = await checker.check([q(1), q(2), q(3)]);
    expect(answers.map((a) => a.map((m) => m.bank))).toEqual([[], ['x'], ['y']]);
    expect(calls.map((c) => JSON.parse(String(c.init.body)).hashes.length)).toEqual([3, 2, 1]);
  });

  it('gives up after its retries with a sentence that says what to do', async () => {
    const refused = () =>
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const { fetch } = scripted([refused(), refused(), refused()]);
    const checker = serverChecker({
      server: 'http://127.0.0.1:1',
      apiKey: 'k',
      policy,
      fetch,
      sleep: async () => undefined,
    });
    await expect(checker.check([q(1)])).rejects.toThrow(/ECONNREFUSED; 3 attempts.*--resume/);
  });
});
