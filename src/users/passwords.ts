import { hash, verify } from '@node-rs/argon2';
import type { Algorithm } from '@node-rs/argon2';
import { randomCode } from './secrets.js';

/**
 * Password hashing with argon2id (RFC 9106) through @node-rs/argon2.
 *
 * Parameters: OWASP's first recommendation for argon2id, 19 MiB of memory,
 * 2 passes, 1 lane: about 30 ms per hash on one core of the reference
 * machine, so sign-in stays fast while each guess against a stolen hash
 * costs an attacker the same memory. The parameters are stored in each hash
 * (PHC string), so raising them later rehashes at the next sign-in.
 */

export interface Argon2Params {
  readonly memoryCost: number; // KiB
  readonly timeCost: number;
  readonly parallelism: number;
}

export const ARGON2_PARAMS: Argon2Params = Object.freeze({
  memoryCost: 19 * 1024,
  timeCost: 2,
  parallelism: 1,
});

// The library's `Algorithm` is a const enum, which isolated modules cannot read: Argon2id is 2.
const ARGON2ID = 2 as Algorithm;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<boolean>;
  /** Whether a stored hash uses weaker parameters than today's. */
  needsRehash(stored: string): boolean;
  /**
   * Spends the time of one verification without a stored hash, so that
   * signing in as an account that does not exist takes as long as a wrong
   * password for one that does.
   */
  verifyNothing(password: string): Promise<void>;
}

export function argon2Hasher(params: Argon2Params = ARGON2_PARAMS): PasswordHasher {
  const options = { algorithm: ARGON2ID, ...params };
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      try {
        return await verify(stored, password);
      } catch {
        return false; // not a hash we can read: never a match
      }
    },
    needsRehash(stored) {
      const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
      if (match === null) return true;
      return (
        Number(match[1]) < params.memoryCost ||
        Number(match[2]) < params.timeCost ||
        Number(match[3]) < params.parallelism
      );
    },
    async verifyNothing(password) {
      dummy ??= hash(randomCode(4, 5), options);
      await verify(await dummy, password).catch(() => false);
    },
  };
}

export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase; bounded so a huge body cannot make hashing expensive. */
export const MAX_PASSWORD_LENGTH = 256;

/** Why a new password is refused, or undefined when it is acceptable (pure). */
export function passwordProblem(password: string, email: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) {
    return `A password needs at least ${MIN_PASSWORD_LENGTH} characters; a few unrelated words make a good one.`;
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return `A password may have at most ${MAX_PASSWORD_LENGTH} characters.`;
  }
  const lower = password.toLowerCase();
  if (lower === email.toLowerCase() || lower === email.split('@')[0]?.toLowerCase()) {
    return 'A password may not be the e-mail address or its name part.';
  }
  if (new Set(password).size < 4) return 'A password needs more different characters than that.';
  return undefined;
}

/** A one-time password an administrator hands over: 20 characters, 100 random bits. */
export function newOneTimePassword(): string {
  return randomCode(4, 5);
}

/** How long a one-time password works before an administrator must issue a new one. */
export const ONE_TIME_PASSWORD_DAYS = 7;
