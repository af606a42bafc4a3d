import { TakedownError } from '../errors.js';

/**
 * A signal type is a kind of hash we can match on. Exact types match by
 * equality; `pdq` matches by Hamming distance. Values are normalized to
 * lower-case hex so that the same hash always compares equal as a string.
 */
export const SIGNAL_TYPES = ['pdq', 'md5', 'sha1', 'sha256'] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];

/** Number of hex characters in a value of each signal type. */
export const SIGNAL_HEX_LENGTH: Readonly<Record<SignalType, number>> = {
  pdq: 64,
  md5: 32,
  sha1: 40,
  sha256: 64,
};

export function isSignalType(value: unknown): value is SignalType {
  return typeof value === 'string' && (SIGNAL_TYPES as readonly string[]).includes(value);
}

export function parseSignalType(value: unknown): SignalType {
  if (isSignalType(value)) return value;
  throw new TakedownError(
    'invalid-signal-type',
    `Unknown hash type ${JSON.stringify(value)}: expected one of ${SIGNAL_TYPES.join(', ')}.`,
  );
}

const HEX = /^[0-9a-f]*$/;

/**
 * Validates a hash value of the given type and returns it in canonical form
 * (trimmed, lower-case). Throws a `TakedownError` that says what is wrong.
 */
export function normalizeSignalValue(type: SignalType, value: unknown): string {
  if (typeof value !== 'string') {
    throw new TakedownError('invalid-hash', `A ${type} hash must be a string of hex digits.`);
  }
  const text = value.trim().toLowerCase();
  const want = SIGNAL_HEX_LENGTH[type];
  if (!HEX.test(text)) {
    throw new TakedownError(
      'invalid-hash',
      `${JSON.stringify(shorten(value))} is not a ${type} hash: it contains characters other than 0-9 and a-f.`,
    );
  }
  if (text.length !== want) {
    throw new TakedownError(
      'invalid-hash',
      `${JSON.stringify(shorten(value))} is not a ${type} hash: it has ${text.length} hex digits, a ${type} hash has ${want}.`,
    );
  }
  return text;
}

function shorten(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}
