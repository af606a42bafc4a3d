import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys: `tdk_` and 40 random base62 characters (about 238 bits). Only
 * the SHA-256 of a key is stored; a key that leaks from a database copy
 * would need that much work to be turned back into a key. The first 12
 * characters (`tdk_` and 8 random ones) are kept in the clear as the key's
 * prefix, to recognise it in lists and to look it up.
 */
export const KEY_PREFIX = 'tdk_';
const RANDOM_CHARS = 40;
export const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 8;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS}}$`);

export interface NewKey {
  /** The key itself: shown once, never stored. */
  readonly key: string;
  readonly prefix: string;
  readonly secretHash: Buffer;
}

/** A fresh key from `random` (crypto by default; tests pass their own). */
export function generateKey(random: (bytes: number) => Uint8Array = randomBytes): NewKey {
  let chars = '';
  while (chars.length < RANDOM_CHARS) {
    for (const byte of random(64)) {
      // 248 = 4 * 62: bytes above it would make the first characters likelier.
      if (byte < 248 && chars.length < RANDOM_CHARS) chars += BASE62[byte % 62];
    }
  }
  const key = KEY_PREFIX + chars;
  return { key, prefix: keyPrefix(key), secretHash: hashKey(key) };
}

export function looksLikeKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

export function keyPrefix(key: string): string {
  return key.slice(0, SHOWN_PREFIX_LENGTH);
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Constant-time: how long the comparison takes says nothing about how much matched. */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
