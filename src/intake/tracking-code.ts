import { randomBytes } from 'node:crypto';

/**
 * The code a reporter gets back: 12 characters of Crockford's base32
 * (digits and capitals without I, L, O, U), shown in three groups of four,
 * e.g. "K7QM-3XH9-TD2F". 60 random bits: with the per-address limit on
 * look-ups, guessing someone else's code is hopeless, and it is short
 * enough to read over the phone. Reading one back forgives what people get
 * wrong when they type it: case, spaces and dashes, O for 0, I and L for 1.
 */

export type TrackingCode = string & { readonly __brand: 'TrackingCode' };

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 12;

export function newTrackingCode(random: (bytes: number) => Uint8Array = randomBytes): TrackingCode {
  // 8 random bytes, 5 bits per character: the top 60 of 64 bits are used.
  const bytes = random(8);
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let code = '';
  for (let i = 0; i < LENGTH; i++) {
    code += ALPHABET[Number((value >> BigInt(59 - i * 5)) & 31n)];
  }
  return code as TrackingCode;
}

/** "k7qm 3xh9-td2f" -> "K7QM3XH9TD2F"; undefined when it cannot be a code. */
export function parseTrackingCode(input: string): TrackingCode | undefined {
  const text = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (text.length !== LENGTH) return undefined;
  for (const char of text) if (!ALPHABET.includes(char)) return undefined;
  return text as TrackingCode;
}

/** How people see it: three groups of four. */
export function formatTrackingCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8, 12)}`;
}
