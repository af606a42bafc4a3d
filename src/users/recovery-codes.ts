import { randomCode, sha256Hex } from './secrets.js';

/**
 * Recovery codes: shown once when two-factor sign-in is set up, each good for
 * one sign-in without the authenticator app. 16 characters, 80 random bits:
 * far beyond guessing online, and too many to search offline even from a
 * stolen copy of their SHA-256 hashes, so a slow hash is not needed.
 */

export const RECOVERY_CODE_COUNT = 10;

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => randomCode(4, 4));
}

/** Case, spaces and dashes do not matter when a person types a code back. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function hashRecoveryCode(code: string): string {
  return sha256Hex(`recovery-code:${normalizeRecoveryCode(code)}`);
}
