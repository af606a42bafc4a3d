import { TakedownError } from '../errors.js';
import { DEFAULT_PDQ_RADIUS } from '../match/types.js';

/**
 * What a bank is, and the checks on what people type about one. Pure: the
 * CLI and the API validate with these before anything touches the database.
 */

/** A bank as every interface shows it. */
export interface Bank {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  readonly source: string;
  readonly category: string;
  readonly enabled: boolean;
  readonly pdqThreshold: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export const DEFAULT_PDQ_THRESHOLD = DEFAULT_PDQ_RADIUS;
/**
 * The loosest PDQ threshold a bank or a request may use. 52 is the largest
 * any PDQ user applies (HMA's flat index); two unrelated images are ~128
 * bits apart (standard deviation 8), so even 52 stays ~9 deviations clear of
 * chance. Searching gets much slower as the threshold grows.
 */
export const MAX_PDQ_THRESHOLD = 52;

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function parseBankName(value: string): string {
  const name = value.trim();
  if (!NAME.test(name)) {
    throw new TakedownError(
      'invalid-bank-name',
      `${JSON.stringify(value)} is not a usable bank name: use lower-case letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters (e.g. "police-nl" or "hotline.victims-2025").`,
      { details: { name: value } },
    );
  }
  return name;
}

export function parsePdqThreshold(value: unknown, what = 'The PDQ threshold'): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_PDQ_THRESHOLD) {
    throw new TakedownError(
      'invalid-threshold',
      `${what} must be a whole number of bits from 0 to ${MAX_PDQ_THRESHOLD}, got ${JSON.stringify(value)} (the default, ${DEFAULT_PDQ_THRESHOLD}, is Meta's).`,
      { details: { threshold: value, max: MAX_PDQ_THRESHOLD } },
    );
  }
  return n;
}

/** Free text of a bank (description, source, category): trimmed, bounded, printable. */
export function parseBankText(field: string, value: string, max: number): string {
  const text = value.trim();
  if (text.length > max) {
    throw new TakedownError(
      'invalid-bank-field',
      `The ${field} is ${text.length} characters long; at most ${max} are kept.`,
      { details: { field } },
    );
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) {
    throw new TakedownError('invalid-bank-field', `The ${field} contains control characters.`, {
      details: { field },
    });
  }
  return text;
}

export const BANK_TEXT_LIMITS = { description: 2000, source: 200, category: 100 } as const;

/** Limits of an entry's own fields. */
export const ENTRY_TEXT_LIMITS = { note: 1000, sourceRef: 500 } as const;
