import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Random tokens and codes. Everything here comes from the operating
 * system's CSPRNG; nothing is derived from time or ids.
 */

/** 32 letters and digits without look-alikes (no l, o, 0, 1): 5 random bits per character. */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** `groups` groups of `length` characters joined by "-", e.g. "k7m2q-x9p4r". */
export function randomCode(groups: number, length: number): string {
  const bytes = randomBytes(groups * length);
  const chars = Array.from(bytes, (byte) => ALPHABET[byte & 31]);
  const parts: string[] = [];
  for (let i = 0; i < groups; i++) parts.push(chars.slice(i * length, (i + 1) * length).join(''));
  return parts.join('-');
}

/** A bearer token for a cookie: 256 random bits, URL-safe. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Compares two strings in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}
