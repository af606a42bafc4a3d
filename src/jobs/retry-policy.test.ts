import { describe, expect, it } from 'vitest';
import { describeError, isTransientDatabaseError, retryDelayMs } from './retry-policy.js';

describe('retryDelayMs', () => {
  it('doubles from the base up to the cap, half fixed and half jitter', () => {
    const policy = { baseDelayMs: 1_000, maxDelayMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, policy, () => 1))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
    expect([1, 2, 3].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([500, 1_000, 2_000]);
    expect(retryDelayMs(3, policy, () => 0.5)).toBe(3_000);
  });

  it('defaults to 1 s doubling up to an hour, and survives absurd attempt numbers', () => {
    expect(retryDelayMs(1, {}, () => 1)).toBe(1_000);
    expect(retryDelayMs(1_000_000, {}, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(0, {}, () => 1)).toBe(1_000);
  });
});

describe('isTransientDatabaseError', () => {
  const err = (message: string, code?: string, cause?: unknown) =>
    Object.assign(new Error(message, { cause }), code === undefined ? {} : { code });

  it('knows connection loss, restarts, deadlocks and serialization failures', () => {
    for (const code of ['08006', '08003', '08001', '40001', '40P01', '53300', '57P01', '57P03'])
      expect(isTransientDatabaseError(err('x', code)), code).toBe(true);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'])
      expect(isTransientDatabaseError(err('x', code)), code).toBe(true);
    expect(isTransientDatabaseError(err('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDatabaseError(err('timeout exceeded when trying to connect'))).toBe(true);
  });

  it('looks through causes', () => {
    expect(isTransientDatabaseError(err('wrapped', undefined, err('inner', '40001')))).toBe(true);
  });

  it('does not retry mistakes: constraint violations, syntax errors, plain errors', () => {
    for (const code of ['23505', '23503', '42601', '42P01', '22P02'])
      expect(isTransientDatabaseError(err('x', code)), code).toBe(false);
    expect(isTransientDatabaseError(new Error('boom'))).toBe(false);
    expect(isTransientDatabaseError('a string')).toBe(false);
    expect(isTransientDatabaseError(undefined)).toBe(false);
  });
});

describe('describeError', () => {
  it('gives name, code, message and causes on one line, bounded', () => {
    const error = new TypeError('outer', {
      cause: Object.assign(new Error('inner'), { code: 'E1' }),
    });
    expect(describeError(error)).toBe('TypeError: outer <- caused by Error [E1]: inner');
    expect(describeError('plain')).toBe('plain');
    expect(describeError(new Error('x'.repeat(5_000)), 100)).toHaveLength(100);
  });
});
