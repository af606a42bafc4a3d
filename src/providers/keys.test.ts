import { describe, expect, it } from 'vitest';
import { bearerToken, generateKey, hashKey, keyPrefix, looksLikeKey, sameHash } from './keys.js';

describe('API keys', () => {
  it('are tdk_ and 40 base62 characters, stored as their SHA-256', () => {
    const key = generateKey();
    expect(key.key).toMatch(/^tdk_[0-9A-Za-z]{40}$/);
    expect(looksLikeKey(key.key)).toBe(true);
    expect(key.prefix).toBe(key.key.slice(0, 12));
    expect(keyPrefix(key.key)).toBe(key.prefix);
    expect(sameHash(key.secretHash, hashKey(key.key))).toBe(true);
    const forged = key.key.slice(0, -1) + (key.key.endsWith('x') ? 'y' : 'x');
    expect(sameHash(key.secretHash, hashKey(forged))).toBe(false);
    expect(generateKey().key).not.toBe(key.key);
  });

  it('draw every character evenly from the random bytes (no modulo bias)', () => {
    let n = 0;
    const counting = (size: number) => Uint8Array.from({ length: size }, () => n++ % 256);
    const key = generateKey(counting).key.slice(4);
    // Bytes 248-255 are skipped: 0..247 map to 62 characters, 4 times each.
    expect(key).toBe('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcd');
  });

  it('read the token of a Bearer header only', () => {
    expect(bearerToken('Bearer tdk_abc')).toBe('tdk_abc');
    expect(bearerToken('bearer   tdk_abc ')).toBe('tdk_abc');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(looksLikeKey('tdk_short')).toBe(false);
  });
});
